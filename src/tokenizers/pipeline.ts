/**
 * Text → Encoding of one sequence (no special tokens, no truncation): added tokens are cut out, the rest is
 * normalized, pre-tokenized and run through the model, exactly as the Rust `encode_single_sequence` does.
 * Model output is cached per pre-token string, since the same words come back again and again.
 */
import type { Encoding } from '../encoding/encoding.js';
import { ConfigError } from '../errors.js';
import { AddedVocabulary } from './added-vocabulary.js';
import type { Model, Token } from './model.js';
import { modelFromJSON } from './models/index.js';
import { normalizerFromJSON } from './normalizers/index.js';
import type { Normalizer } from './normalizers/normalizer.js';
import { buildEncoding, type PreTokenizedString } from './pre-tokenized-string.js';
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

export class TokenizerPipeline {
  readonly normalizer: Normalizer | null;
  readonly preTokenizer: PreTokenizer | null;
  readonly model: Model;
  readonly addedVocabulary: AddedVocabulary;
  private readonly cache = new Map<string, Token[]>();
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
      return new TokenizerPipeline({
        normalizer,
        preTokenizer: preTokenizerFromJSON(obj.pre_tokenizer, 'pre_tokenizer'),
        model: modelFromJSON(obj.model, 'model'),
        addedVocabulary: AddedVocabulary.fromJSON(obj.added_tokens, normalizer, 'added_tokens'),
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
    const pretokenized = this.preTokenize(text);
    const ids: number[] = [];
    const tokens: string[] = [];
    const words: (number | null)[] = [];
    const offsets: [number, number][] = [];
    this.collect(pretokenized, null, ids, tokens, words, offsets);
    return buildEncoding(ids, tokens, words, offsets, typeId);
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
    const ids: number[] = [];
    const tokens: string[] = [];
    const wordIds: (number | null)[] = [];
    const offsets: [number, number][] = [];
    for (let i = 0; i < words.length; i++) {
      this.collect(this.preTokenize(words[i]!), i, ids, tokens, wordIds, offsets);
    }
    return buildEncoding(ids, tokens, wordIds, offsets, typeId);
  }

  /** Token strings of `text` (no special tokens added). */
  tokenize(text: string): string[] {
    return this.encodeSequence(text).tokens;
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

  private collect(
    pretokenized: PreTokenizedString,
    wordIndex: number | null,
    ids: number[],
    tokens: string[],
    words: (number | null)[],
    offsets: [number, number][],
  ): void {
    const splits = pretokenized.splits;
    for (let idx = 0; idx < splits.length; idx++) {
      const split = splits[idx]!;
      const normalized = split.normalized;
      const splitTokens = split.tokens ?? this.modelTokens(normalized.get());
      const word = wordIndex ?? idx;
      const identity = normalized.hasIdentityAlignment();
      const base = normalized.originalStart;
      for (let t = 0; t < splitTokens.length; t++) {
        const token = splitTokens[t]!;
        ids.push(token.id);
        tokens.push(token.value);
        words.push(word);
        const [s, e] = token.offsets;
        if (identity && s < e) {
          offsets.push(identityOffsets(normalized.normalized, base, s, e));
        } else {
          offsets.push(normalized.normalizedToOriginal(s, e) ?? [s, e]);
        }
      }
    }
  }
}

/** Identity alignment: units map to themselves, widened to whole surrogate pairs. */
function identityOffsets(text: string, base: number, s: number, e: number): [number, number] {
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
  return [base + start, base + end];
}

/**
 * Lone surrogates cannot reach the Rust core (its strings are UTF-8; the bindings substitute U+FFFD), so they are
 * replaced the same way. Same length, so offsets are unaffected.
 */
function toWellFormed(text: string): string {
  const s = text as string & { toWellFormed?: () => string };
  return typeof s.toWellFormed === 'function' ? s.toWellFormed() : text;
}
