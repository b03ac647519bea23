/** Added tokens the loader creates beyond tokenizer.json's list, as transformers does at load time. */
import { ConfigError } from '../../errors.js';
import type { AddedToken, AddedVocabulary } from '../added-vocabulary.js';
import type { Model } from '../model.js';
import { describeJson, type JsonObject } from '../registry.js';
import { tokenContent } from './config-values.js';
import { SPECIAL_TOKEN_KEYS, type ConfigContext, type SpecialTokens } from './types.js';

/**
 * Tokens transformers adds to the backend at load time: `added_tokens_decoder` entries missing from
 * tokenizer.json, then configured special tokens the vocabulary lacks (given the next free ids).
 */
export function extraAddedTokens(
  context: ConfigContext,
  special: SpecialTokens,
  added: AddedVocabulary,
  model: Model,
): AddedToken[] {
  const { config, configFile: file } = context;
  const extra: AddedToken[] = [];
  // Like transformers, a configured special token that is only in the model vocabulary becomes an added token
  // too (keeping its id), so that it is matched whole in the text.
  const known = (content: string) =>
    added.get(content) !== undefined || extra.some((t) => t.content === content);
  const decoderMap = config.added_tokens_decoder;
  if (decoderMap !== undefined && decoderMap !== null) {
    if (typeof decoderMap !== 'object' || Array.isArray(decoderMap)) {
      throw new ConfigError(
        `${file}: added_tokens_decoder: expected an object, got ${describeJson(decoderMap)}`,
        {
          file,
          field: 'added_tokens_decoder',
        },
      );
    }
    for (const [idText, entry] of Object.entries(decoderMap as JsonObject)) {
      const where = `added_tokens_decoder.${idText}`;
      const id = Number(idText);
      if (
        !Number.isInteger(id) ||
        id < 0 ||
        entry === null ||
        typeof entry !== 'object' ||
        Array.isArray(entry)
      ) {
        throw new ConfigError(`${file}: ${where}: expected an integer id mapping to an added token object`, {
          file,
          field: where,
        });
      }
      const e = entry as JsonObject;
      const content = tokenContent(e, where, file) as string;
      if (known(content)) continue;
      const isSpecial = e.special === true;
      extra.push({
        // The Rust core keeps the model's id for a token already in its vocabulary.
        id: model.tokenToId(content) ?? id,
        content,
        singleWord: e.single_word === true,
        lstrip: e.lstrip === true,
        rstrip: e.rstrip === true,
        normalized: typeof e.normalized === 'boolean' ? e.normalized : !isSpecial,
        special: isSpecial,
      });
    }
  }
  const configured = [...SPECIAL_TOKEN_KEYS.map((k) => special[k]), ...special.additional];
  let nextId = Math.max(
    model.getVocabSize(),
    ...added.tokens.map((t) => t.id + 1),
    ...extra.map((t) => t.id + 1),
  );
  for (const content of configured) {
    if (content === null || known(content)) continue;
    extra.push({
      id: model.tokenToId(content) ?? nextId++,
      content,
      singleWord: false,
      lstrip: false,
      rstrip: false,
      normalized: false,
      special: true,
    });
  }
  return extra;
}

/** Special tokens of a legacy folder as added tokens (not normalized, like transformers' converted tokenizers). */
export function specialAddedTokens(
  special: SpecialTokens,
  model: Model,
  lstrip: ReadonlySet<string> = new Set(),
): AddedToken[] {
  const seen = new Set<string>();
  const result: AddedToken[] = [];
  for (const content of [...SPECIAL_TOKEN_KEYS.map((k) => special[k]), ...special.additional]) {
    if (content === null || seen.has(content)) continue;
    seen.add(content);
    const id = model.tokenToId(content);
    if (id === undefined) continue;
    result.push({
      id,
      content,
      singleWord: false,
      lstrip: lstrip.has(content),
      rstrip: false,
      normalized: false,
      special: true,
    });
  }
  return result;
}
