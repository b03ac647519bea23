/**
 * Text → Encoding of one sequence (no special tokens, no truncation): added tokens are cut out, the rest is
 * normalized, pre-tokenized and run through the model, exactly as the Rust `encode_single_sequence` does.
 * Model output is cached per pre-token string, since the same words come back again and again.
 */
import type { Encoding } from '../encoding/encoding.js';
import { sequenceEncoding, type SequenceTokens } from '../encoding/sequence-tokens.js';
import { ConfigError } from '../errors.js';
import { AddedVocabulary } from './added-vocabulary.js';
import type { Model, Token } from './model.js';
import { modelFromJSON } from './models/index.js';
import { normalizerFromJSON } from './normalizers/index.js';
import type { NormalizedString } from './normalized-string.js';
import type { Normalizer } from './normalizers/normalizer.js';
import { type PreTokenizedString } from './pre-tokenized-string.js';
import { preTokenizerFromJSON } from './pre-tokenizers/index.js';
import type { PreTokenizer } from './pre-tokenizers/pre-tokenizer.js';
import { describeJson, type JsonObject } from './registry.js';

export interface TokenizerPipelineOptions {
  normalizer: Normalizer | null;
  preTokenizer: PreTokenizer | null;
  model: Model;
  addedVocabulary?: AddedVocabulary;
  /** Maximum number of cached pre-token → tokens entries (0 disables the cache). */
  cacheCapacity?: number;
}

/** Pre-tokens longer than this are not cached: they are rare and would only churn the cache. */
const MAX_CACHED_WORD_LENGTH = 64;

/** UTF-16 units `encodeTextIds` encodes at once when the text can be cut (see `separableAtSpaces`). */
export const ID_SEGMENT_LENGTH = 1 << 16;

export class TokenizerPipeline {
  readonly normalizer: Normalizer | null;
  readonly preTokenizer: PreTokenizer | null;
  readonly model: Model;
  readonly addedVocabulary: AddedVocabulary;
  private readonly cache = new Map<string, Token[]>();
  private readonly singleUnitCache: (Token[] | undefined)[] = [];
  private readonly asciiPairCache = new Array<Token[] | undefined>(128 * 128).fill(undefined);
  private readonly cacheCapacity: number;

  constructor(options: TokenizerPipelineOptions) {
    this.normalizer = options.normalizer;
    this.preTokenizer = options.preTokenizer;
    this.model = options.model;
    this.addedVocabulary = options.addedVocabulary ?? new AddedVocabulary([], options.normalizer);
    this.cacheCapacity = options.cacheCapacity ?? 50_000;
  }

  /**
   * Builds the pipeline of a parsed tokenizer.json (normalizer, pre_tokenizer, model, added_tokens). Errors are
   * ConfigErrors naming the field and, when given, the file.
   */
  static fromTokenizerJSON(json: unknown, file?: string): TokenizerPipeline {
    try {
      if (json === null || typeof json !== 'object' || Array.isArray(json)) {
        throw new ConfigError(`expected a tokenizer.json object, got ${describeJson(json)}`);
      }
      const obj = json as JsonObject;
      const normalizer = normalizerFromJSON(obj.normalizer, 'normalizer');
      const model = modelFromJSON(obj.model, 'model');
      return new TokenizerPipeline({
        normalizer,
        preTokenizer: preTokenizerFromJSON(obj.pre_tokenizer, 'pre_tokenizer'),
        model,
        addedVocabulary: AddedVocabulary.fromJSON(obj.added_tokens, normalizer, 'added_tokens', model),
      });
    } catch (error) {
      if (file !== undefined && error instanceof ConfigError && error.file === undefined) {
        throw new ConfigError(`${file}: ${error.message}`, { file, field: error.field, cause: error });
      }
      throw error;
    }
  }

  /** Normalized, pre-tokenized and tokenized splits of `text` (offsets not yet mapped back). */
  preTokenize(text: string): PreTokenizedString {
    const pretokenized = this.addedVocabulary.extractAndNormalize(this.normalizer, toWellFormed(text));
    this.preTokenizer?.preTokenize(pretokenized);
    return pretokenized;
  }

  /**
   * Encodes one text: word ids are split indices, offsets are UTF-16 [start, end) in `text`, every token has
   * type id `typeId`, attention 1 and special mask 0.
   */
  encodeSequence(text: string, typeId = 0): Encoding {
    return sequenceEncoding(this.encodeTextTokens(text), typeId);
  }

  /** The `SequenceEncoder` name for `encodeSequence`. */
  encodeText(text: string, typeId = 0): Encoding {
    return this.encodeSequence(text, typeId);
  }

  /**
   * Encodes pre-split words (`is_split_into_words`): each word is encoded on its own, every token of word i has
   * word id i, and offsets are relative to the word they come from, like Rust's PreTokenized input.
   */
  encodeWords(words: readonly string[], typeId = 0): Encoding {
    return sequenceEncoding(this.encodeWordsTokens(words), typeId);
  }

  /** The tokens of `text` without building an Encoding (see `encodeSequence`). */
  encodeTextTokens(text: string): SequenceTokens {
    const out = new TokenCollector();
    this.encodeInto(text, null, out);
    return out;
  }

  /**
   * True when a text may be encoded piece by piece, cut at plain spaces between ASCII letters or digits: the
   * normalizer and pre-tokenizer say so (`separableAtSpaces`), the model sees one pre-token at a time anyway,
   * and no added token holds whitespace (a match could span the cut).
   */
  get separableAtSpaces(): boolean {
    return (
      (this.normalizer === null || this.normalizer.separableAtSpaces === true) &&
      this.preTokenizer?.separableAtSpaces === true &&
      !this.addedVocabulary.hasTokenWithWhitespace
    );
  }

  /**
   * Only the token ids of `text`, as `encodeTextTokens(text).ids` gives them, in one Int32Array: no token strings,
   * word ids or offsets are kept. A long text (a whole book run in sliding windows) then costs its ids, 4 bytes a
   * token, plus one piece of `segmentLength` units at a time in the normalizer and pre-tokenizer when the
   * pipeline is `separableAtSpaces` (the whole text at once otherwise).
   */
  encodeTextIds(text: string, segmentLength = ID_SEGMENT_LENGTH): Int32Array {
    const out = new IdCollector();
    if (text.length <= segmentLength || !this.separableAtSpaces) {
      this.encodeInto(text, null, out);
      return out.ids();
    }
    for (let start = 0; start < text.length;) {
      const end = segmentEnd(text, start, segmentLength);
      this.encodeInto(text.slice(start, end), null, out);
      start = end;
    }
    return out.ids();
  }

  /** The tokens of pre-split words without building an Encoding (see `encodeWords`). */
  encodeWordsTokens(words: readonly string[]): SequenceTokens {
    const out = new TokenCollector();
    for (let i = 0; i < words.length; i++) this.encodeInto(words[i]!, i, out);
    return out;
  }

  /** Token strings of `text` (no special tokens added). */
  tokenize(text: string): string[] {
    return this.encodeSequence(text).tokens;
  }

  /**
   * Model tokens of a one- or two-unit word (punctuation, "a", "is", "of": a large share of the pieces), from
   * tables indexed by the units, which skips slicing the word out and hashing it. Two-unit words are looked up
   * this way only when both units are ASCII (undefined otherwise).
   */
  private shortWordTokens(text: string, start: number, end: number): Token[] | undefined {
    const first = text.charCodeAt(start);
    let table = this.singleUnitCache;
    let index = first;
    if (end - start === 2) {
      const second = text.charCodeAt(start + 1);
      if ((first | second) >= 0x80) return undefined;
      table = this.asciiPairCache;
      index = (first << 7) | second;
    }
    const cached = table[index];
    if (cached !== undefined) return cached;
    const result = this.model.tokenize(text.slice(start, end));
    table[index] = result;
    return result;
  }

  private modelTokens(word: string): Token[] {
    const cached = this.cache.get(word);
    if (cached !== undefined) return cached;
    const result = this.model.tokenize(word);
    if (this.cacheCapacity > 0 && word.length <= MAX_CACHED_WORD_LENGTH) {
      if (this.cache.size >= this.cacheCapacity) this.cache.clear();
      this.cache.set(word, result);
    }
    return result;
  }

  /** Appends the tokens of `text` to `out`; `wordIndex` overrides the word ids (pre-split input). */
  private encodeInto(text: string, wordIndex: number | null, out: TokenSink): void {
    const pretokenized = this.addedVocabulary.extractAndNormalize(this.normalizer, toWellFormed(text));
    const pre = this.preTokenizer;
    if (pre !== null && pre.splitRanges !== undefined) {
      const ranges = pretokenized.splits.map((s) =>
        s.tokens === null ? pre.splitRanges!(s.normalized.normalized) : [],
      );
      this.collectRanges(pretokenized, ranges, null, wordIndex, out);
      return;
    }
    if (pre !== null && pre.sameShapeRanges !== undefined && pre.mapPiece !== undefined) {
      const ranges: number[][] = [];
      let applicable = true;
      for (const split of pretokenized.splits) {
        const r = split.tokens === null ? pre.sameShapeRanges(split.normalized.normalized) : [];
        if (r === null) {
          applicable = false;
          break;
        }
        ranges.push(r);
      }
      if (applicable) {
        this.collectRanges(pretokenized, ranges, (piece) => pre.mapPiece!(piece), wordIndex, out);
        return;
      }
    }
    pre?.preTokenize(pretokenized);
    this.collectSplits(pretokenized, wordIndex, out);
  }

  /** Generic path: one word per split of the pre-tokenized string. */
  private collectSplits(pretokenized: PreTokenizedString, wordIndex: number | null, out: TokenSink): void {
    const splits = pretokenized.splits;
    for (let idx = 0; idx < splits.length; idx++) {
      const split = splits[idx]!;
      const normalized = split.normalized;
      const splitTokens = split.tokens ?? this.modelTokens(normalized.get());
      out.addWord(normalized, 0, splitTokens, wordIndex ?? idx);
    }
  }

  /**
   * Fast path for pre-tokenizers that cut the text and at most rewrite each piece without changing its shape
   * (`ranges[i]` are the pieces of split i): no NormalizedString is built per word. Word ids count pieces exactly
   * as the split-based path does.
   */
  private collectRanges(
    pretokenized: PreTokenizedString,
    ranges: number[][],
    mapPiece: ((piece: string) => string) | null,
    wordIndex: number | null,
    out: TokenSink,
  ): void {
    let word = 0;
    const splits = pretokenized.splits;
    for (let s = 0; s < splits.length; s++) {
      const split = splits[s]!;
      const normalized = split.normalized;
      if (split.tokens !== null) {
        out.addWord(normalized, 0, split.tokens, wordIndex ?? word++);
        continue;
      }
      const text = normalized.normalized;
      const pieces = ranges[s]!;
      for (let r = 0; r < pieces.length; r += 2) {
        const start = pieces[r]!;
        const end = pieces[r + 1]!;
        let tokens: Token[] | undefined;
        if (mapPiece === null && end - start <= 2 && this.cacheCapacity > 0)
          tokens = this.shortWordTokens(text, start, end);
        tokens ??= this.modelTokens(mapPiece ? mapPiece(text.slice(start, end)) : text.slice(start, end));
        out.addWord(normalized, start, tokens, wordIndex ?? word++);
      }
    }
  }
}

/**
 * Where the piece of `text` starting at `start` ends: at the last plain space between two ASCII letters or digits
 * within `segmentLength` units (the space begins the next piece), else at the first one after, else at the end.
 */
function segmentEnd(text: string, start: number, segmentLength: number): number {
  const limit = start + segmentLength;
  if (limit >= text.length) return text.length;
  for (let i = limit; i > start + 1; i--) if (isCut(text, i)) return i;
  for (let i = limit + 1; i < text.length - 1; i++) if (isCut(text, i)) return i;
  return text.length;
}

function isCut(text: string, i: number): boolean {
  return (
    text.charCodeAt(i) === 0x20 &&
    isAsciiAlnum(text.charCodeAt(i - 1)) &&
    isAsciiAlnum(text.charCodeAt(i + 1))
  );
}

function isAsciiAlnum(c: number): boolean {
  return (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a);
}

/** Where `encodeInto` puts the tokens of each word it finds. */
interface TokenSink {
  /** The tokens of one word found at `start` in `normalized` (token offsets are relative to the word). */
  addWord(normalized: NormalizedString, start: number, tokens: Token[], word: number): void;
}

/** Keeps only the ids, in a typed array that grows by doubling. */
class IdCollector implements TokenSink {
  private buffer = new Int32Array(64);
  private length = 0;

  addWord(_normalized: NormalizedString, _start: number, tokens: Token[]): void {
    if (this.length + tokens.length > this.buffer.length) {
      const grown = new Int32Array(Math.max(this.buffer.length * 2, this.length + tokens.length));
      grown.set(this.buffer.subarray(0, this.length));
      this.buffer = grown;
    }
    for (let t = 0; t < tokens.length; t++) this.buffer[this.length++] = tokens[t]!.id;
  }

  /** The ids so far (a view: copying them out would briefly hold them twice). */
  ids(): Int32Array {
    return this.buffer.subarray(0, this.length);
  }
}

/** Accumulates the per-token arrays of an Encoding (offsets flat: start, end, start, end, …). */
class TokenCollector implements SequenceTokens, TokenSink {
  readonly ids: number[] = [];
  readonly tokens: string[] = [];
  readonly words: (number | null)[] = [];
  readonly offsets: number[] = [];

  /**
   * Adds the tokens of one word found at `start` in `normalized` (token offsets are relative to the word),
   * mapping their offsets back to the original text.
   */
  addWord(normalized: NormalizedString, start: number, tokens: Token[], word: number): void {
    const identity = normalized.hasIdentityAlignment();
    const base = normalized.originalStart;
    for (let t = 0; t < tokens.length; t++) {
      const token = tokens[t]!;
      this.ids.push(token.id);
      this.tokens.push(token.value);
      this.words.push(word);
      const s = start + token.offsets[0];
      const e = start + token.offsets[1];
      if (s < e) {
        if (identity) pushIdentityOffsets(this.offsets, normalized.normalized, base, s, e);
        else {
          const [originalStart, originalEnd] = normalized.normalizedToOriginal(s, e)!;
          this.offsets.push(originalStart, originalEnd);
        }
      } else {
        // Rust maps an empty range through the word's own original start (a quirk kept for exactness).
        const wordStart =
          start === 0 ? base : (normalized.normalizedToOriginal(start, start + 1)?.[0] ?? base);
        this.offsets.push(wordStart + token.offsets[0], wordStart + token.offsets[0]);
      }
    }
  }
}

/** Identity alignment: units map to themselves, widened to whole surrogate pairs. Appends start and end to `out`. */
function pushIdentityOffsets(out: number[], text: string, base: number, s: number, e: number): void {
  let start = s;
  let end = e;
  const first = text.charCodeAt(start);
  if (first >= 0xdc00 && first <= 0xdfff && start > 0) {
    const prev = text.charCodeAt(start - 1);
    if (prev >= 0xd800 && prev <= 0xdbff) start--;
  }
  const last = text.charCodeAt(end - 1);
  if (last >= 0xd800 && last <= 0xdbff && end < text.length) {
    const next = text.charCodeAt(end);
    if (next >= 0xdc00 && next <= 0xdfff) end++;
  }
  out.push(base + start, base + end);
}

/**
 * Lone surrogates cannot reach the Rust core (its strings are UTF-8; the bindings substitute U+FFFD), so they are
 * replaced the same way. Same length, so offsets are unaffected.
 */
function toWellFormed(text: string): string {
  const s = text as string & { toWellFormed?: () => string };
  return typeof s.toWellFormed === 'function' ? s.toWellFormed() : text;
}
