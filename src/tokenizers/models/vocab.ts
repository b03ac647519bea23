import { ConfigError } from '../../errors.js';
import type { Model, Token } from '../model.js';
import { describeJson, type JsonObject } from '../registry.js';

/** A token → id vocabulary, as in the `vocab` object of WordPiece, BPE and WordLevel models. */
export type Vocab = Map<string, number>;

/** Reads `json[key]` as a `{token: id}` object; ids must be non-negative integers. */
export function readVocabObject(json: JsonObject, key: string, path: string): Vocab {
  const raw = json[key];
  const where = `${path}.${key}`;
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) {
    throw new ConfigError(`${where}: expected an object mapping tokens to ids, got ${describeJson(raw)}`, {
      field: where,
    });
  }
  return vocabFromRecord(raw as Record<string, unknown>, where);
}

/** Converts a parsed `{token: id}` record to a Vocab, naming `where` when an id is not a valid integer. */
export function vocabFromRecord(record: Record<string, unknown>, where: string): Vocab {
  const vocab: Vocab = new Map();
  for (const token of Object.keys(record)) {
    const id = record[token];
    if (typeof id !== 'number' || !Number.isInteger(id) || id < 0 || id > 0x7fffffff) {
      throw new ConfigError(
        `${where}[${JSON.stringify(token)}]: expected a non-negative integer id, got ${describeJson(id)}`,
        { field: where },
      );
    }
    vocab.set(token, id);
  }
  return vocab;
}

/** id → token. When several tokens share an id the last one read wins, as when Rust inverts its HashMap. */
export function invertVocab(vocab: Vocab): string[] {
  const reverse: string[] = [];
  for (const [token, id] of vocab) reverse[id] = token;
  return reverse;
}

/** What WordPiece, BPE and WordLevel share: token ↔ id lookups over one `{token: id}` vocabulary. */
export abstract class VocabModel implements Model {
  abstract readonly type: string;
  protected readonly vocabReverse: string[];

  constructor(protected readonly vocab: Vocab) {
    this.vocabReverse = invertVocab(vocab);
  }

  abstract tokenize(sequence: string): Token[];

  tokenToId(token: string): number | undefined {
    return this.vocab.get(token);
  }

  idToToken(id: number): string | undefined {
    return this.vocabReverse[id];
  }

  getVocab(): Map<string, number> {
    return new Map(this.vocab);
  }

  getVocabSize(): number {
    return this.vocab.size;
  }
}
