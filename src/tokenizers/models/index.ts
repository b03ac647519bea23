import { ConfigError } from '../../errors.js';
import type { Model } from '../model.js';
import { describeJson, Registry, type JsonObject } from '../registry.js';
import { BPE } from './bpe.js';
import { Unigram } from './unigram.js';
import { WordLevel } from './wordlevel.js';
import { WordPiece } from './wordpiece.js';

export { BPE, parseMergesJSON, parseMergesText, type BPEOptions, type Merge } from './bpe.js';
export { Unigram, type UnigramOptions, type UnigramPiece } from './unigram.js';
export { WordLevel, type WordLevelOptions } from './wordlevel.js';
export { WordPiece, type WordPieceOptions } from './wordpiece.js';
export type { Vocab } from './vocab.js';

/** Tokenizer models by their tokenizer.json `type`. */
export const models = new Registry<Model>('model');
models.register('WordPiece', (json, path) => WordPiece.fromJSON(json, path));
models.register('BPE', (json, path) => BPE.fromJSON(json, path));
models.register('Unigram', (json, path) => Unigram.fromJSON(json, path));
models.register('WordLevel', (json, path) => WordLevel.fromJSON(json, path));

/**
 * Builds the model of a tokenizer.json. Old files omit the model's `type` key; then the type is inferred from
 * the fields present, like serde's untagged fallback in the Rust crate.
 */
export function modelFromJSON(json: unknown, path = 'model'): Model {
  if (
    json !== null &&
    typeof json === 'object' &&
    !Array.isArray(json) &&
    (json as JsonObject).type === undefined
  ) {
    return models.fromJSON({ ...(json as JsonObject), type: inferModelType(json as JsonObject, path) }, path);
  }
  return models.fromJSON(json, path);
}

function inferModelType(json: JsonObject, path: string): string {
  const vocab = json.vocab;
  const vocabIsObject = vocab !== null && typeof vocab === 'object' && !Array.isArray(vocab);
  if (vocabIsObject && 'continuing_subword_prefix' in json && 'max_input_chars_per_word' in json)
    return 'WordPiece';
  if (vocabIsObject && 'merges' in json) return 'BPE';
  if (Array.isArray(vocab) && vocab.every((entry) => Array.isArray(entry) && entry.length === 2))
    return 'Unigram';
  if (vocabIsObject) return 'WordLevel';
  throw new ConfigError(
    `${path}: no "type" and the fields do not match any model (WordPiece, BPE, Unigram, WordLevel); vocab is ${describeJson(vocab)}`,
    { field: path },
  );
}
