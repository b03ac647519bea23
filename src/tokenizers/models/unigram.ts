import { ConfigError } from '../../errors.js';
import type { Model, Token } from '../model.js';
import { describeJson, field, type JsonObject } from '../registry.js';
import { CodeUnitTrie } from './trie.js';
import { WordCache } from './word-cache.js';

/** One vocabulary entry: the piece and its log-probability score. */
export type UnigramPiece = [string, number];

export interface UnigramOptions {
  /** Id of the unknown piece; null means an unknown character is an error. */
  unkId?: number | null;
  /** Spell an unknown piece as `<0xAB>` byte tokens when they all exist. */
  byteFallback?: boolean;
  /** Words cached (default 10,000, as Rust); 0 disables the cache. */
  cacheCapacity?: number;
}

/** Rust's `K_UNK_PENALTY`: an unknown character scores this much below the worst piece. */
const UNK_PENALTY = 10;

const BYTE_TOKENS: readonly string[] = Array.from(
  { length: 256 },
  (_, b) => `<0x${b.toString(16).toUpperCase().padStart(2, '0')}>`,
);

const utf8 = new TextEncoder();

/**
 * SentencePiece Unigram as the Rust `tokenizers` crate runs it (its optimized Viterbi): best-scoring
 * segmentation over vocabulary pieces, where a character that starts no single-character piece may be taken
 * as unk at `min score - 10`; consecutive unk pieces are fused. An unk piece keeps its original text as token
 * value (only its id is the unk id).
 */
export class Unigram implements Model {
  readonly type = 'Unigram';
  readonly unkId: number | null;
  readonly byteFallback: boolean;
  private readonly pieces: readonly UnigramPiece[];
  private readonly tokenIds = new Map<string, number>();
  private readonly trie = new CodeUnitTrie();
  private readonly minScore: number;
  private readonly cache: WordCache<Token[]>;
  private readonly path: string;
  /** Viterbi lattice scratch, reused across words (models run on one thread). */
  private bestScore = new Float64Array(64);
  private bestStart = new Int32Array(64);
  private bestId = new Int32Array(64);

  /** `path` names where this model sits in tokenizer.json, for error messages. */
  constructor(pieces: readonly UnigramPiece[], options: UnigramOptions = {}, path = 'model') {
    this.path = path;
    this.pieces = pieces;
    this.unkId = options.unkId ?? null;
    this.byteFallback = options.byteFallback ?? false;
    this.cache = new WordCache<Token[]>(options.cacheCapacity ?? 10_000);
    if (this.unkId !== null) {
      if (pieces.length === 0) {
        throw new ConfigError(`${path}.vocab: empty, but unk_id is set`, { field: `${path}.vocab` });
      }
      if (!Number.isInteger(this.unkId) || this.unkId < 0 || this.unkId >= pieces.length) {
        throw new ConfigError(
          `${path}.unk_id: ${this.unkId} is not the index of a vocabulary piece (0..${pieces.length - 1})`,
          { field: `${path}.unk_id` },
        );
      }
    }
    let minScore = Infinity;
    pieces.forEach(([piece, score], id) => {
      // A repeated piece keeps its last id, like Rust's token → id HashMap.
      this.tokenIds.set(piece, id);
      if (piece.length > 0) this.trie.insert(piece, id);
      if (score < minScore) minScore = score;
    });
    this.minScore = minScore;
  }

  static fromJSON(json: JsonObject, path = 'model'): Unigram {
    const raw = field.array(json, 'vocab', path);
    const pieces = raw.map((entry, index): UnigramPiece => {
      if (
        Array.isArray(entry) &&
        entry.length === 2 &&
        typeof entry[0] === 'string' &&
        typeof entry[1] === 'number' &&
        Number.isFinite(entry[1])
      ) {
        return [entry[0], entry[1]];
      }
      throw new ConfigError(`${path}.vocab[${index}]: expected [piece, score], got ${describeJson(entry)}`, {
        field: `${path}.vocab[${index}]`,
      });
    });
    let unkId: number | null = null;
    if (json.unk_id !== undefined && json.unk_id !== null) unkId = field.number(json, 'unk_id', path);
    return new Unigram(
      pieces,
      { unkId, byteFallback: field.boolean(json, 'byte_fallback', path, false) },
      path,
    );
  }

  tokenize(sequence: string): Token[] {
    if (sequence.length === 0) return [];
    let tokens = this.cache.get(sequence);
    if (tokens === undefined) {
      tokens = this.toTokens(this.encode(sequence));
      this.cache.set(sequence, tokens);
    }
    // Callers may adjust offsets in place, so hand out copies of the cached tokens.
    return tokens.map((token) => ({
      id: token.id,
      value: token.value,
      offsets: [token.offsets[0], token.offsets[1]],
    }));
  }

  /** The best segmentation of `sentence` as pieces (unknown runs fused), without ids. */
  encode(sentence: string): string[] {
    const size = sentence.length;
    if (size === 0) return [];
    const unkScore = this.minScore - UNK_PENALTY;
    // best*[end]: the best path ending at UTF-16 position `end` (only code point boundaries are reached).
    if (this.bestScore.length < size + 1) {
      this.bestScore = new Float64Array(2 * size + 2);
      this.bestStart = new Int32Array(2 * size + 2);
      this.bestId = new Int32Array(2 * size + 2);
    }
    const { bestScore, bestStart, bestId } = this;
    bestScore[0] = 0;
    bestStart.fill(-1, 0, size + 1);
    const trie = this.trie;
    const pieces = this.pieces;

    for (let startsAt = 0; startsAt < size;) {
      const scoreTillHere = bestScore[startsAt]!;
      const first = sentence.charCodeAt(startsAt);
      const charLength = first >= 0xd800 && first <= 0xdbff && isLowSurrogate(sentence, startsAt + 1) ? 2 : 1;
      let hasSingleCharPiece = false;
      let node = CodeUnitTrie.ROOT;
      for (let i = startsAt; i < size; i++) {
        node = trie.child(node, sentence.charCodeAt(i));
        if (node < 0) break;
        const id = trie.value(node);
        if (id < 0) continue;
        const keyEnd = i + 1;
        const candidate = pieces[id]![1] + scoreTillHere;
        if (bestStart[keyEnd]! < 0 || candidate > bestScore[keyEnd]!) {
          bestScore[keyEnd] = candidate;
          bestStart[keyEnd] = startsAt;
          bestId[keyEnd] = id;
        }
        if (keyEnd - startsAt === charLength) hasSingleCharPiece = true;
      }
      if (!hasSingleCharPiece) {
        const keyEnd = startsAt + charLength;
        const candidate = unkScore + scoreTillHere;
        if (bestStart[keyEnd]! < 0 || candidate > bestScore[keyEnd]!) {
          bestScore[keyEnd] = candidate;
          bestStart[keyEnd] = startsAt;
          bestId[keyEnd] = this.requireUnkId();
        }
      }
      startsAt += charLength;
    }

    const results: string[] = [];
    let unkRunStart = -1;
    let unkRunEnd = -1;
    for (let endsAt = size; endsAt > 0;) {
      const startsAt = bestStart[endsAt]!;
      if (this.unkId !== null && bestId[endsAt] === this.unkId) {
        if (unkRunStart < 0) unkRunEnd = endsAt;
        unkRunStart = startsAt;
      } else {
        if (unkRunStart >= 0) {
          results.push(sentence.slice(unkRunStart, unkRunEnd));
          unkRunStart = -1;
        }
        results.push(sentence.slice(startsAt, endsAt));
      }
      endsAt = startsAt;
    }
    if (unkRunStart >= 0) results.push(sentence.slice(unkRunStart, unkRunEnd));
    return results.reverse();
  }

  tokenToId(token: string): number | undefined {
    return this.tokenIds.get(token);
  }

  idToToken(id: number): string | undefined {
    return this.pieces[id]?.[0];
  }

  getVocab(): Map<string, number> {
    return new Map(this.tokenIds);
  }

  getVocabSize(): number {
    return this.pieces.length;
  }

  /** The score of a piece id (its log probability). */
  score(id: number): number | undefined {
    return this.pieces[id]?.[1];
  }

  private toTokens(pieces: string[]): Token[] {
    const tokens: Token[] = [];
    let offset = 0;
    for (const piece of pieces) {
      const end = offset + piece.length;
      const id = this.tokenIds.get(piece);
      if (id !== undefined) {
        tokens.push({ id, value: piece, offsets: [offset, end] });
      } else if (!(this.byteFallback && this.pushByteTokens(piece, offset, end, tokens))) {
        tokens.push({ id: this.requireUnkId(), value: piece, offsets: [offset, end] });
      }
      offset = end;
    }
    return tokens;
  }

  /** Byte tokens for every UTF-8 byte of an unknown piece, each spanning the whole piece (as in Rust). */
  private pushByteTokens(piece: string, start: number, end: number, tokens: Token[]): boolean {
    const byteTokens: Token[] = [];
    for (const byte of utf8.encode(piece)) {
      const value = BYTE_TOKENS[byte]!;
      const id = this.tokenIds.get(value);
      if (id === undefined) return false;
      byteTokens.push({ id, value, offsets: [start, end] });
    }
    tokens.push(...byteTokens);
    return true;
  }

  private requireUnkId(): number {
    if (this.unkId === null) {
      throw new ConfigError(
        `${this.path}.unk_id: the text has a character no piece covers, and the Unigram model has no unk_id`,
        { field: `${this.path}.unk_id` },
      );
    }
    return this.unkId;
  }
}

function isLowSurrogate(text: string, index: number): boolean {
  const code = text.charCodeAt(index);
  return code >= 0xdc00 && code <= 0xdfff;
}
