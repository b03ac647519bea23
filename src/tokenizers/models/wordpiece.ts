import type { Token } from '../model.js';
import { field, type JsonObject } from '../registry.js';
import { nonNegativeInteger, settingError } from './fields.js';
import { CodeUnitTrie } from './trie.js';
import { readVocabObject, VocabModel, type Vocab } from './vocab.js';

export interface WordPieceOptions {
  /** Token emitted for a word that cannot be split into vocabulary pieces. Default `[UNK]`. */
  unkToken?: string;
  /** Prefix marking a piece that continues a word. Default `##`. */
  continuingSubwordPrefix?: string;
  /** Words longer than this many characters (code points) become one unk token. Default 100. */
  maxInputCharsPerWord?: number;
}

/**
 * WordPiece, as the Rust `tokenizers` crate runs it: greedy longest-match-first from the start of the word; pieces
 * after the first carry the continuing-subword prefix. If any position has no matching piece, or the word is
 * too long, the whole word becomes a single unk token spanning the word.
 */
export class WordPiece extends VocabModel {
  readonly type = 'WordPiece';
  readonly unkToken: string;
  readonly continuingSubwordPrefix: string;
  readonly maxInputCharsPerWord: number;
  private readonly unkId: number;
  private readonly trie = new CodeUnitTrie();
  /** Trie node after the continuing prefix: continuation pieces are matched from here (-1: none exist). */
  private readonly continuationRoot: number;

  /**
   * `path` names where this model sits in tokenizer.json and `file` the legacy file it was read from (if any),
   * for error messages.
   */
  constructor(vocab: Vocab, options: WordPieceOptions = {}, path = 'model', file?: string) {
    super(vocab);
    this.unkToken = options.unkToken ?? '[UNK]';
    this.continuingSubwordPrefix = options.continuingSubwordPrefix ?? '##';
    this.maxInputCharsPerWord = options.maxInputCharsPerWord ?? 100;
    const unkId = vocab.get(this.unkToken);
    if (unkId === undefined) {
      throw settingError(
        path,
        file,
        'unk_token',
        `the unknown token ${JSON.stringify(this.unkToken)} is not in the vocabulary`,
      );
    }
    this.unkId = unkId;
    for (const [token, id] of vocab) this.trie.insert(token, id);
    this.continuationRoot = this.trie.walk(CodeUnitTrie.ROOT, this.continuingSubwordPrefix);
  }

  static fromJSON(json: JsonObject, path = 'model'): WordPiece {
    return new WordPiece(
      readVocabObject(json, 'vocab', path),
      {
        unkToken: field.string(json, 'unk_token', path, '[UNK]'),
        continuingSubwordPrefix: field.string(json, 'continuing_subword_prefix', path, '##'),
        maxInputCharsPerWord: nonNegativeInteger(json, 'max_input_chars_per_word', path, 100),
      },
      path,
    );
  }

  /**
   * Builds a WordPiece from a legacy `vocab.txt`: one token per line, the line number is the id. Like the Rust
   * reader, trailing whitespace is trimmed from each line and a repeated token keeps its last line number.
   */
  static fromVocabText(text: string, options: WordPieceOptions = {}, file = 'vocab.txt'): WordPiece {
    const vocab: Vocab = new Map();
    const lines = text.split('\n');
    if (lines.length > 0 && lines[lines.length - 1] === '') lines.pop();
    lines.forEach((line, index) => vocab.set(trimEndRust(line), index));
    return new WordPiece(vocab, options, 'model', file);
  }

  tokenize(sequence: string): Token[] {
    const length = sequence.length;
    if (length === 0) return [];
    if (length > this.maxInputCharsPerWord && countCodePoints(sequence) > this.maxInputCharsPerWord) {
      return [this.unkSpanning(length)];
    }
    // Greedy longest-match-first starts by trying the whole word, so a word in the vocabulary is one token.
    const whole = this.vocab.get(sequence);
    if (whole !== undefined) return [{ id: whole, value: sequence, offsets: [0, length] }];

    const tokens: Token[] = [];
    const trie = this.trie;
    let start = 0;
    while (start < length) {
      let node = start === 0 ? CodeUnitTrie.ROOT : this.continuationRoot;
      let matchEnd = -1;
      let matchId = -1;
      for (let i = start; i < length && node >= 0; i++) {
        node = trie.child(node, sequence.charCodeAt(i));
        if (node >= 0) {
          const id = trie.value(node);
          if (id >= 0) {
            matchEnd = i + 1;
            matchId = id;
          }
        }
      }
      if (matchEnd < 0) return [this.unkSpanning(length)];
      const piece = sequence.slice(start, matchEnd);
      tokens.push({
        id: matchId,
        value: start === 0 ? piece : this.continuingSubwordPrefix + piece,
        offsets: [start, matchEnd],
      });
      start = matchEnd;
    }
    return tokens;
  }

  private unkSpanning(length: number): Token {
    return { id: this.unkId, value: this.unkToken, offsets: [0, length] };
  }
}

function countCodePoints(text: string): number {
  let count = 0;
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    // A high surrogate followed by a low one is one code point.
    if (code >= 0xd800 && code <= 0xdbff && i + 1 < text.length) {
      const next = text.charCodeAt(i + 1);
      if (next >= 0xdc00 && next <= 0xdfff) i++;
    }
    count++;
  }
  return count;
}

/** Rust's `str::trim_end`: strips Unicode White_Space (which, unlike JS `trimEnd`, excludes U+FEFF). */
function trimEndRust(line: string): string {
  return line.replace(/[\t\n\v\f\r \u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]+$/u, '');
}
