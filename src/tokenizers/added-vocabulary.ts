/**
 * Added tokens (tokenizer.json `added_tokens`) and how they cut the input, like the Rust AddedVocabulary:
 * tokens with `normalized: false` are matched on the raw text first; the remaining pieces are normalized and
 * matched against the normalized form of the `normalized: true` tokens. Matching is leftmost-longest
 * (aho-corasick's `LeftmostLongest`), with the `single_word`, `lstrip` and `rstrip` rules. Each match becomes a
 * split holding its token.
 */
import { ConfigError } from '../errors.js';
import type { Model, Token } from './model.js';
import { NormalizedString, isWhitespaceCodePoint } from './normalized-string.js';
import { isAlphanumeric } from './normalizers/char-classes.js';
import type { Normalizer } from './normalizers/normalizer.js';
import { PreTokenizedString, type Split } from './pre-tokenized-string.js';
import { describeJson, field, type JsonObject } from './registry.js';

export interface AddedToken {
  id: number;
  content: string;
  singleWord: boolean;
  lstrip: boolean;
  rstrip: boolean;
  normalized: boolean;
  special: boolean;
}

interface TrieNode {
  next: Map<number, TrieNode>;
  /** Index into the token list of the pattern ending here, or -1. */
  token: number;
}

/** Leftmost-longest multi-pattern matcher over UTF-16 units. */
class PatternTrie {
  private readonly root: TrieNode = { next: new Map(), token: -1 };
  private readonly firstUnits = new Uint8Array(0x10000);
  size = 0;

  add(pattern: string, token: number): void {
    if (pattern.length === 0) return;
    let node = this.root;
    for (let i = 0; i < pattern.length; i++) {
      const unit = pattern.charCodeAt(i);
      let child = node.next.get(unit);
      if (!child) {
        child = { next: new Map(), token: -1 };
        node.next.set(unit, child);
      }
      node = child;
    }
    // The first pattern added wins on duplicates, as in aho-corasick.
    if (node.token === -1) node.token = token;
    this.firstUnits[pattern.charCodeAt(0)] = 1;
    this.size++;
  }

  /** Non-overlapping [start, end, token] triples, leftmost first, longest at each start. */
  findAll(text: string): number[] {
    const out: number[] = [];
    if (this.size === 0) return out;
    const first = this.firstUnits;
    for (let pos = 0; pos < text.length;) {
      if (first[text.charCodeAt(pos)] === 0) {
        pos++;
        continue;
      }
      let node: TrieNode | undefined = this.root;
      let bestEnd = -1;
      let bestToken = -1;
      for (let i = pos; i < text.length; i++) {
        node = node.next.get(text.charCodeAt(i));
        if (!node) break;
        if (node.token !== -1) {
          bestEnd = i + 1;
          bestToken = node.token;
        }
      }
      if (bestEnd === -1) {
        pos++;
        continue;
      }
      out.push(pos, bestEnd, bestToken);
      pos = bestEnd;
    }
    return out;
  }
}

export class AddedVocabulary {
  readonly tokens: readonly AddedToken[];
  private readonly byContent = new Map<string, AddedToken>();
  private readonly byId = new Map<number, AddedToken>();
  private readonly rawTrie = new PatternTrie();
  private readonly normalizedTrie = new PatternTrie();
  /** When true, special tokens in the text are not recognised (Rust `encode_special_tokens`). */
  encodeSpecialTokens = false;

  /** True when some token's content holds whitespace (a match could then span a cut at a space). */
  get hasTokenWithWhitespace(): boolean {
    return this.tokens.some((token) => /\s/u.test(token.content));
  }

  /**
   * `normalizer` normalizes the content of `normalized: true` tokens before matching (the tokenizer's own
   * normalizer, or null).
   */
  constructor(tokens: readonly AddedToken[], normalizer: Normalizer | null = null) {
    this.tokens = tokens;
    for (const token of tokens) {
      this.byContent.set(token.content, token);
      this.byId.set(token.id, token);
    }
    tokens.forEach((token, index) => {
      if (token.normalized) {
        const content = new NormalizedString(token.content);
        normalizer?.normalize(content);
        this.normalizedTrie.add(content.get(), index);
      } else {
        this.rawTrie.add(token.content, index);
      }
    });
  }

  /**
   * Reads tokenizer.json's `added_tokens` array (`path` names it in errors). With the `model`, ids are assigned
   * as the Rust core does when it loads the file (its `add_tokens`): a content the model vocabulary holds takes
   * the model's id, any other gets the next id past the vocabulary, whatever `id` the file records. Without a
   * model the recorded ids are used.
   */
  static fromJSON(
    json: unknown,
    normalizer: Normalizer | null = null,
    path = 'added_tokens',
    model?: Model,
  ): AddedVocabulary {
    if (json === undefined || json === null) return new AddedVocabulary([], normalizer);
    if (!Array.isArray(json)) {
      throw new ConfigError(`${path}: expected an array of added tokens, got ${describeJson(json)}`, {
        field: path,
      });
    }
    const tokens = json.map((item, i): AddedToken => {
      const where = `${path}[${i}]`;
      if (item === null || typeof item !== 'object' || Array.isArray(item)) {
        throw new ConfigError(`${where}: expected an added token object, got ${describeJson(item)}`, {
          field: where,
        });
      }
      const obj = item as JsonObject;
      const id = field.number(obj, 'id', where);
      if (!Number.isInteger(id) || id < 0) {
        throw new ConfigError(`${where}.id: expected a non-negative integer, got ${id}`, {
          field: `${where}.id`,
        });
      }
      const special = field.boolean(obj, 'special', where, false);
      return {
        id,
        content: field.string(obj, 'content', where),
        singleWord: field.boolean(obj, 'single_word', where, false),
        lstrip: field.boolean(obj, 'lstrip', where, false),
        rstrip: field.boolean(obj, 'rstrip', where, false),
        // Rust's default: special tokens are not normalized, other added tokens are.
        normalized: field.boolean(obj, 'normalized', where, !special),
        special,
      };
    });
    return new AddedVocabulary(model ? assignIds(tokens, model) : tokens, normalizer);
  }

  get size(): number {
    return this.tokens.length;
  }

  get(content: string): AddedToken | undefined {
    return this.byContent.get(content);
  }

  isSpecial(content: string): boolean {
    return this.byContent.get(content)?.special ?? false;
  }

  /** Id of a token string: added tokens first, then the model vocabulary. */
  tokenToId(token: string, model?: Model): number | undefined {
    return this.byContent.get(token)?.id ?? model?.tokenToId(token);
  }

  /** Token string of an id: added tokens first (their ids may lie past the model vocab), then the model. */
  idToToken(id: number, model?: Model): string | undefined {
    return this.byId.get(id)?.content ?? model?.idToToken(id);
  }

  /** Model vocabulary plus added tokens. */
  getVocab(model?: Model): Map<string, number> {
    const vocab = new Map(model?.getVocab() ?? []);
    for (const token of this.tokens) vocab.set(token.content, token.id);
    return vocab;
  }

  /** Ids of the special added tokens. */
  specialIds(): Set<number> {
    return new Set(this.tokens.filter((t) => t.special).map((t) => t.id));
  }

  /**
   * Cuts `text` around added tokens and normalizes the rest (Rust `extract_and_normalize`): the result has one
   * tokenized split per added token found and untokenized normalized splits in between.
   */
  extractAndNormalize(normalizer: Normalizer | null, text: string): PreTokenizedString {
    const pretokenized = new PreTokenizedString(text);
    if (this.rawTrie.size > 0) {
      pretokenized.split((_, normalized) => this.splitWithMatches(normalized, this.rawTrie));
    }
    pretokenized.split((_, normalized) => {
      normalizer?.normalize(normalized);
      return this.normalizedTrie.size > 0
        ? this.splitWithMatches(normalized, this.normalizedTrie)
        : [normalized];
    });
    return pretokenized;
  }

  private splitWithMatches(normalized: NormalizedString, trie: PatternTrie): (NormalizedString | Split)[] {
    const text = normalized.get();
    const found = trie.findAll(text);
    if (found.length === 0) return [normalized];
    const pieces: (NormalizedString | Split)[] = [];
    let startOffset = 0;
    for (let m = 0; m < found.length; m += 3) {
      let start = found[m]!;
      let stop = found[m + 1]!;
      const token = this.tokens[found[m + 2]!]!;
      if (this.encodeSpecialTokens && token.special) continue;
      if (token.singleWord) {
        const startSpace = start === 0 || !endsWithWordChar(text, start);
        const stopSpace = stop === text.length || !startsWithWordChar(text, stop);
        if (!startSpace || !stopSpace) continue;
      }
      if (token.lstrip) {
        let newStart = start;
        while (newStart > 0) {
          const prevStart =
            newStart >= 2 && isLowSurrogateAt(text, newStart - 1) ? newStart - 2 : newStart - 1;
          if (!isWhitespaceCodePoint(text.codePointAt(prevStart)!)) break;
          newStart = prevStart;
        }
        start = Math.max(newStart, startOffset);
      }
      if (token.rstrip) {
        while (stop < text.length && isWhitespaceCodePoint(text.codePointAt(stop)!)) stop++;
      }
      if (startOffset < start) {
        const before = normalized.slice(startOffset, start);
        if (before) pieces.push(before);
      }
      const slice = normalized.slice(start, stop);
      if (slice) {
        const value = slice.get();
        const tokens: Token[] = [{ id: token.id, value, offsets: [0, value.length] }];
        pieces.push({ normalized: slice, tokens });
      }
      startOffset = stop;
    }
    if (startOffset !== text.length) {
      const rest = normalized.slice(startOffset, text.length);
      if (rest) pieces.push(rest);
    }
    return pieces;
  }
}

/** Rust `AddedVocabulary::add_tokens` id assignment, token by token in file order. */
function assignIds(tokens: AddedToken[], model: Model): AddedToken[] {
  const vocabSize = model.getVocabSize();
  const assigned = new Map<string, number>();
  let maxAdded = -1;
  const out: AddedToken[] = [];
  for (const token of tokens) {
    if (token.content.length === 0) continue;
    let id = assigned.get(token.content) ?? model.tokenToId(token.content);
    if (id === undefined) {
      if (maxAdded === -1) id = vocabSize;
      else id = maxAdded >= vocabSize || vocabSize === 0 ? maxAdded + 1 : vocabSize;
    }
    assigned.set(token.content, id);
    maxAdded = Math.max(maxAdded, id);
    out.push({ ...token, id });
  }
  return out;
}

function isLowSurrogateAt(text: string, i: number): boolean {
  const c = text.charCodeAt(i);
  return c >= 0xdc00 && c <= 0xdfff;
}

function isWordChar(cp: number): boolean {
  return cp === 0x5f || isAlphanumeric(cp);
}

/** Whether the character just before `end` is a word character. */
function endsWithWordChar(text: string, end: number): boolean {
  const i = end >= 2 && isLowSurrogateAt(text, end - 1) ? end - 2 : end - 1;
  return isWordChar(text.codePointAt(i)!);
}

function startsWithWordChar(text: string, start: number): boolean {
  return isWordChar(text.codePointAt(start)!);
}
