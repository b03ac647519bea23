import { ConfigError } from '../../errors.js';
import type { Token } from '../model.js';
import { describeJson, field, type JsonObject } from '../registry.js';
import { settingError } from './fields.js';
import { PairMap } from './pair-map.js';
import { readVocabObject, vocabFromRecord, VocabModel, type Vocab } from './vocab.js';
import { WordCache } from './word-cache.js';

export interface BPEOptions {
  /** Token for characters missing from the vocabulary; null drops such characters (as Rust does). */
  unkToken?: string | null;
  /** Prefix added to every character but the first of a word before lookup. */
  continuingSubwordPrefix?: string | null;
  /** Suffix added to the last character of a word before lookup. */
  endOfWordSuffix?: string | null;
  /** Fuse consecutive unknown characters into one unk token. */
  fuseUnk?: boolean;
  /** Spell a character missing from the vocabulary as `<0xAB>` byte tokens when they all exist. */
  byteFallback?: boolean;
  /** A word that is itself in the vocabulary becomes one token without running the merges. */
  ignoreMerges?: boolean;
  /**
   * BPE-dropout probability (0..1). Only validated: dropout randomly skips merges, a training-time
   * regularisation that makes encoding non-deterministic, so seqbatch always encodes as with dropout off
   * (which is what inference with a released checkpoint expects).
   */
  dropout?: number | null;
  /** Words cached (default 10,000, as Rust); 0 disables the cache. */
  cacheCapacity?: number;
}

/** One merge rule: the two tokens joined, in rank order (earlier = applied first). */
export type Merge = [string, string];

/** A merged word as cached: ids with [start, end) UTF-16 offsets into the word. */
interface MergedWord {
  ids: number[];
  starts: number[];
  ends: number[];
}

const BYTE_TOKENS: readonly string[] = Array.from(
  { length: 256 },
  (_, b) => `<0x${b.toString(16).toUpperCase().padStart(2, '0')}>`,
);

const utf8 = new TextEncoder();

/**
 * Byte-pair encoding as the Rust `tokenizers` crate runs it: split the word into characters (with the
 * continuing prefix / end-of-word suffix), map unknown ones to unk (optionally fused) or byte-fallback tokens,
 * then repeatedly apply the lowest-ranked merge present, leftmost first. Offsets follow Rust's bookkeeping:
 * each symbol has a UTF-8 length and tokens cover consecutive byte ranges, which are mapped back to UTF-16
 * units of the word at the end (a byte token inside a character covers that whole character).
 */
export class BPE extends VocabModel {
  readonly type = 'BPE';
  readonly unkToken: string | null;
  readonly continuingSubwordPrefix: string | null;
  readonly endOfWordSuffix: string | null;
  readonly fuseUnk: boolean;
  readonly byteFallback: boolean;
  readonly ignoreMerges: boolean;
  readonly dropout: number | null;
  /** (left id, right id) → rank. */
  private readonly mergeRanks: PairMap;
  /** rank → id of the merged token. */
  private readonly mergeResults: Int32Array;
  private readonly cache: WordCache<MergedWord>;
  private readonly path: string;
  private readonly file: string | undefined;
  /** Scratch linked-list buffer for applyMerges, reused across words (models run on one thread). */
  private links = new Int32Array(64);
  /**
   * Id of each single-UTF-16-unit symbol (-1: not in the vocabulary), filled on first use, so the common case
   * (no prefix or suffix, BMP characters) needs no substring per character. -2 marks an unfilled slot.
   */
  private readonly unitIds: Int32Array | null;

  /**
   * `path` names where this model sits in tokenizer.json and `file` the legacy merges file it was read from (if
   * any), for error messages.
   */
  constructor(
    vocab: Vocab,
    merges: readonly Merge[],
    options: BPEOptions = {},
    path = 'model',
    file?: string,
  ) {
    super(vocab);
    this.path = path;
    this.file = file;
    this.unkToken = options.unkToken ?? null;
    this.continuingSubwordPrefix = options.continuingSubwordPrefix ?? null;
    this.endOfWordSuffix = options.endOfWordSuffix ?? null;
    this.fuseUnk = options.fuseUnk ?? false;
    this.byteFallback = options.byteFallback ?? false;
    this.ignoreMerges = options.ignoreMerges ?? false;
    const dropout = options.dropout ?? null;
    if (dropout !== null && !(dropout >= 0 && dropout <= 1)) {
      throw settingError(path, file, 'dropout', `expected a probability between 0 and 1, got ${dropout}`);
    }
    this.dropout = dropout;
    this.cache = new WordCache<MergedWord>(options.cacheCapacity ?? 10_000);
    // An empty prefix or suffix (as in roberta-base's file) changes no symbol, so the table applies too.
    const plainSymbols = !this.continuingSubwordPrefix && !this.endOfWordSuffix;
    this.unitIds = plainSymbols ? new Int32Array(0x10000).fill(-2) : null;

    const prefixLength = this.continuingSubwordPrefix?.length ?? 0;
    this.mergeRanks = new PairMap(merges.length);
    this.mergeResults = new Int32Array(merges.length);
    merges.forEach(([left, right], rank) => {
      const leftId = this.requireMergeToken(left, rank);
      const rightId = this.requireMergeToken(right, rank);
      // The merged token drops the right side's continuing prefix, as in Rust.
      const mergedId = this.requireMergeToken(left + right.slice(prefixLength), rank);
      // A repeated pair keeps its last rank, like Rust collecting the merges into a HashMap.
      this.mergeRanks.set(leftId, rightId, rank);
      this.mergeResults[rank] = mergedId;
    });
  }

  static fromJSON(json: JsonObject, path = 'model'): BPE {
    const dropout =
      json.dropout === undefined || json.dropout === null ? null : field.number(json, 'dropout', path);
    return new BPE(
      readVocabObject(json, 'vocab', path),
      parseMergesJSON(field.array(json, 'merges', path), `${path}.merges`),
      {
        unkToken: field.optionalString(json, 'unk_token', path),
        continuingSubwordPrefix: field.optionalString(json, 'continuing_subword_prefix', path),
        endOfWordSuffix: field.optionalString(json, 'end_of_word_suffix', path),
        fuseUnk: field.boolean(json, 'fuse_unk', path, false),
        byteFallback: field.boolean(json, 'byte_fallback', path, false),
        ignoreMerges: field.boolean(json, 'ignore_merges', path, false),
        dropout,
      },
      path,
    );
  }

  /**
   * Builds a BPE from legacy `vocab.json` + `merges.txt` texts. merges.txt has one `left right` pair per line
   * and may start with a `#version` line.
   */
  static fromVocabAndMerges(
    vocabJsonText: string,
    mergesText: string,
    options: BPEOptions = {},
    files: { vocab?: string; merges?: string } = {},
  ): BPE {
    const vocabFile = files.vocab ?? 'vocab.json';
    const mergesFile = files.merges ?? 'merges.txt';
    let parsed: unknown;
    try {
      parsed = JSON.parse(vocabJsonText);
    } catch (error) {
      throw new ConfigError(`${vocabFile}: not valid JSON (${(error as Error).message})`, {
        file: vocabFile,
        cause: error,
      });
    }
    if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
      throw new ConfigError(
        `${vocabFile}: expected an object mapping tokens to ids, got ${describeJson(parsed)}`,
        {
          file: vocabFile,
        },
      );
    }
    const vocab = vocabFromRecord(parsed as Record<string, unknown>, vocabFile);
    return new BPE(vocab, parseMergesText(mergesText, mergesFile), options, 'model', mergesFile);
  }

  tokenize(sequence: string): Token[] {
    if (sequence.length === 0) return [];
    if (this.ignoreMerges) {
      const id = this.vocab.get(sequence);
      if (id !== undefined) return [{ id, value: sequence, offsets: [0, sequence.length] }];
    }
    let word = this.cache.get(sequence);
    if (word === undefined) {
      word = this.mergeWord(sequence);
      this.cache.set(sequence, word);
    }
    const { ids, starts, ends } = word;
    const tokens: Token[] = new Array(ids.length);
    for (let i = 0; i < ids.length; i++) {
      tokens[i] = { id: ids[i]!, value: this.vocabReverse[ids[i]!]!, offsets: [starts[i]!, ends[i]!] };
    }
    return tokens;
  }

  /** Drops cached words (e.g. after a benchmark warm-up). */
  clearCache(): void {
    this.cache.clear();
  }

  private mergeWord(word: string): MergedWord {
    const ids: number[] = [];
    /** UTF-8 byte length of each symbol, as Rust's Word tracks it. */
    const lengths: number[] = [];
    let pendingUnkId = -1;
    let pendingUnkLength = 0;

    const unitIds = this.unitIds;
    for (let i = 0; i < word.length;) {
      const codePoint = word.codePointAt(i)!;
      const start = i;
      const end = i + (codePoint > 0xffff ? 2 : 1);
      const byteLength = utf8Length(codePoint);
      i = end;

      let id: number | undefined;
      if (unitIds !== null && end === start + 1) {
        let cached = unitIds[codePoint]!;
        if (cached === -2) cached = unitIds[codePoint] = this.vocab.get(word[start]!) ?? -1;
        id = cached >= 0 ? cached : undefined;
      } else {
        id = this.vocab.get(this.affixed(word, start, end));
      }
      if (id !== undefined) {
        if (pendingUnkId >= 0) {
          ids.push(pendingUnkId);
          lengths.push(pendingUnkLength);
          pendingUnkId = -1;
        }
        ids.push(id);
        lengths.push(byteLength);
        continue;
      }
      if (this.byteFallback && this.pushByteTokens(this.affixed(word, start, end), ids, lengths)) continue;
      if (this.unkToken !== null) {
        if (pendingUnkId >= 0 && this.fuseUnk) {
          pendingUnkLength += byteLength;
        } else {
          if (pendingUnkId >= 0) {
            ids.push(pendingUnkId);
            lengths.push(pendingUnkLength);
          }
          pendingUnkId = this.requireUnkId();
          pendingUnkLength = byteLength;
        }
      }
    }
    if (pendingUnkId >= 0) {
      ids.push(pendingUnkId);
      lengths.push(pendingUnkLength);
    }

    const count = this.applyMerges(ids, lengths);
    return byteSpansToUtf16(word, ids, lengths, count);
  }

  /** The symbol Rust looks up for the character at [start, end): with the prefix unless first, suffix if last. */
  private affixed(word: string, start: number, end: number): string {
    let symbol = word.slice(start, end);
    if (start > 0 && this.continuingSubwordPrefix !== null) symbol = this.continuingSubwordPrefix + symbol;
    if (end === word.length && this.endOfWordSuffix !== null) symbol += this.endOfWordSuffix;
    return symbol;
  }

  /**
   * Rust looks up a byte token for every UTF-8 byte of the symbol (prefix and suffix included) and uses them
   * only if all exist; each counts as one byte long.
   */
  private pushByteTokens(symbol: string, ids: number[], lengths: number[]): boolean {
    const bytes = utf8.encode(symbol);
    const byteIds: number[] = [];
    for (const byte of bytes) {
      const id = this.vocab.get(BYTE_TOKENS[byte]!);
      if (id === undefined) return false;
      byteIds.push(id);
    }
    for (const id of byteIds) {
      ids.push(id);
      lengths.push(1);
    }
    return true;
  }

  /**
   * Applies merges in place, lowest rank first and leftmost among equal ranks, with the same priority queue and
   * stale-entry checks as Rust's `Word::merge_all`. Merged-away symbols get length 0 and are compacted out.
   * Returns the number of symbols left.
   */
  private applyMerges(ids: number[], lengths: number[]): number {
    const n = ids.length;
    if (n < 2) return n;
    const ranks = this.mergeRanks;
    const results = this.mergeResults;
    if (this.links.length < 2 * n) this.links = new Int32Array(4 * n);
    const links = this.links;
    // links[2k] / links[2k + 1]: previous / next live symbol of symbol k (-1 at the ends).
    const heap: number[] = [];
    for (let k = 0; k < n; k++) {
      links[2 * k] = k - 1;
      links[2 * k + 1] = k + 1 < n ? k + 1 : -1;
      if (k + 1 < n) {
        const rank = ranks.get(ids[k]!, ids[k + 1]!);
        if (rank >= 0) heapPush(heap, rank * n + k);
      }
    }
    while (heap.length > 0) {
      const top = heapPop(heap);
      const pos = top % n;
      const rank = (top - pos) / n;
      if (lengths[pos] === 0) continue;
      const right = links[2 * pos + 1]!;
      if (right === -1) continue;
      const currentRank = ranks.get(ids[pos]!, ids[right]!);
      // The pair changed since this entry was queued and no longer produces the same token.
      if (currentRank < 0 || results[currentRank] !== results[rank]) continue;

      ids[pos] = results[rank]!;
      lengths[pos] = lengths[pos]! + lengths[right]!;
      const after = links[2 * right + 1]!;
      links[2 * pos + 1] = after;
      lengths[right] = 0;
      if (after !== -1) links[2 * after] = pos;

      const before = links[2 * pos]!;
      if (before >= 0) {
        const r = ranks.get(ids[before]!, ids[pos]!);
        if (r >= 0) heapPush(heap, r * n + before);
      }
      if (after !== -1) {
        const r = ranks.get(ids[pos]!, ids[after]!);
        if (r >= 0) heapPush(heap, r * n + pos);
      }
    }
    let kept = 0;
    for (let k = 0; k < n; k++) {
      if (lengths[k] === 0) continue;
      ids[kept] = ids[k]!;
      lengths[kept] = lengths[k]!;
      kept++;
    }
    return kept;
  }

  private requireUnkId(): number {
    const id = this.unkToken === null ? undefined : this.vocab.get(this.unkToken);
    if (id === undefined) {
      const problem = `the unknown token ${JSON.stringify(this.unkToken)} is not in the vocabulary`;
      throw settingError(this.path, this.file, 'unk_token', problem);
    }
    return id;
  }

  private requireMergeToken(token: string, rank: number): number {
    const id = this.vocab.get(token);
    if (id === undefined) {
      throw settingError(
        this.path,
        this.file,
        `merges[${rank}]`,
        `token ${JSON.stringify(token)} is not in the vocabulary`,
      );
    }
    return id;
  }
}

/** Parses tokenizer.json merges: `"left right"` strings (split on the single space) or `["left", "right"]`. */
export function parseMergesJSON(entries: readonly unknown[], path: string): Merge[] {
  return entries.map((entry, index) => {
    const where = `${path}[${index}]`;
    if (typeof entry === 'string') return splitMergeLine(entry, where, { field: where });
    if (
      Array.isArray(entry) &&
      entry.length === 2 &&
      typeof entry[0] === 'string' &&
      typeof entry[1] === 'string'
    ) {
      return [entry[0], entry[1]];
    }
    throw new ConfigError(
      `${where}: expected "left right" or ["left", "right"], got ${describeJson(entry)}`,
      {
        field: where,
      },
    );
  });
}

/** Parses merges.txt: one pair per line, `#version` lines skipped, like the Rust reader. */
export function parseMergesText(text: string, file = 'merges.txt'): Merge[] {
  const lines = text.split('\n');
  if (lines.length > 0 && lines[lines.length - 1] === '') lines.pop();
  const merges: Merge[] = [];
  lines.forEach((raw, index) => {
    const line = raw.endsWith('\r') ? raw.slice(0, -1) : raw;
    if (line.startsWith('#version')) return;
    merges.push(splitMergeLine(line, `${file} line ${index + 1}`, { file, field: `line ${index + 1}` }));
  });
  return merges;
}

function splitMergeLine(line: string, where: string, context: { file?: string; field?: string }): Merge {
  const parts = line.split(' ');
  if (parts.length !== 2) {
    throw new ConfigError(
      `${where}: a merge must be two tokens separated by one space, got ${JSON.stringify(line)}`,
      context,
    );
  }
  return [parts[0]!, parts[1]!];
}

function utf8Length(codePoint: number): number {
  if (codePoint < 0x80) return 1;
  if (codePoint < 0x800) return 2;
  // Lone surrogates count as the 3-byte U+FFFD they are encoded as.
  if (codePoint < 0x10000) return 3;
  return 4;
}

/**
 * Turns consecutive UTF-8 byte lengths into [start, end) UTF-16 offsets of `word`. As in Rust's offset
 * conversion, a span starting inside a character starts at that character and a span ending inside one ends
 * after it.
 */
function byteSpansToUtf16(word: string, ids: number[], lengths: number[], count: number): MergedWord {
  const starts: number[] = new Array(count);
  const ends: number[] = new Array(count);
  let ascii = true;
  for (let i = 0; i < word.length; i++) {
    if (word.charCodeAt(i) >= 0x80) {
      ascii = false;
      break;
    }
  }
  if (ascii) {
    let position = 0;
    for (let k = 0; k < count; k++) {
      starts[k] = Math.min(position, word.length);
      position += lengths[k]!;
      ends[k] = Math.min(position, word.length);
    }
    return { ids: ids.slice(0, count), starts, ends };
  }
  // charStart[b] / charEnd[b]: UTF-16 range of the character holding UTF-8 byte b.
  const charStart: number[] = [];
  const charEnd: number[] = [];
  for (let i = 0; i < word.length;) {
    const codePoint = word.codePointAt(i)!;
    const units = codePoint > 0xffff ? 2 : 1;
    for (let b = utf8Length(codePoint); b > 0; b--) {
      charStart.push(i);
      charEnd.push(i + units);
    }
    i += units;
  }
  const totalBytes = charStart.length;
  let position = 0;
  for (let k = 0; k < count; k++) {
    const byteStart = position;
    position += lengths[k]!;
    starts[k] = byteStart < totalBytes ? charStart[byteStart]! : word.length;
    ends[k] = position > byteStart && position - 1 < totalBytes ? charEnd[position - 1]! : starts[k]!;
  }
  return { ids: ids.slice(0, count), starts, ends };
}

/** Min-heap of numbers (rank * symbolCount + position), so the lowest rank, then leftmost position, pops first. */
function heapPush(heap: number[], value: number): void {
  let i = heap.length;
  heap.push(value);
  while (i > 0) {
    const parent = (i - 1) >> 1;
    if (heap[parent]! <= value) break;
    heap[i] = heap[parent]!;
    i = parent;
  }
  heap[i] = value;
}

function heapPop(heap: number[]): number {
  const top = heap[0]!;
  const last = heap.pop()!;
  const size = heap.length;
  if (size > 0) {
    let i = 0;
    while (true) {
      const left = 2 * i + 1;
      if (left >= size) break;
      const right = left + 1;
      const child = right < size && heap[right]! < heap[left]! ? right : left;
      if (heap[child]! >= last) break;
      heap[i] = heap[child]!;
      i = child;
    }
    heap[i] = last;
  }
  return top;
}
