import { ConfigError } from '../../errors.js';
import type { Token } from '../model.js';
import { field, type JsonObject } from '../registry.js';
import { readVocabObject, VocabModel, type Vocab } from './vocab.js';

export interface WordLevelOptions {
  /** Token for words missing from the vocabulary. Default `<unk>`. */
  unkToken?: string;
}

/** WordLevel: each word is looked up whole; a missing word becomes the unk token. */
export class WordLevel extends VocabModel {
  readonly type = 'WordLevel';
  readonly unkToken: string;
  private readonly path: string;

  /** `path` names where this model sits in tokenizer.json, for error messages. */
  constructor(vocab: Vocab, options: WordLevelOptions = {}, path = 'model') {
    super(vocab);
    this.unkToken = options.unkToken ?? '<unk>';
    this.path = path;
  }

  static fromJSON(json: JsonObject, path = 'model'): WordLevel {
    return new WordLevel(
      readVocabObject(json, 'vocab', path),
      { unkToken: field.string(json, 'unk_token', path, '<unk>') },
      path,
    );
  }

  tokenize(sequence: string): Token[] {
    const offsets: [number, number] = [0, sequence.length];
    const id = this.vocab.get(sequence);
    if (id !== undefined) return [{ id, value: sequence, offsets }];
    const unkId = this.vocab.get(this.unkToken);
    // Like Rust, a vocabulary without its unk token only fails once a word actually needs it.
    if (unkId === undefined) {
      throw new ConfigError(
        `${this.path}.unk_token: ${JSON.stringify(sequence)} is not in the vocabulary and neither is the unknown token ${JSON.stringify(this.unkToken)}`,
        { field: `${this.path}.unk_token` },
      );
    }
    return [{ id: unkId, value: this.unkToken, offsets }];
  }
}
