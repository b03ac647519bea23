/** A parsed tokenizer.json plus the folder's config → TokenizerParts. */
import { ConfigError } from '../../errors.js';
import { AddedVocabulary } from '../added-vocabulary.js';
import { decoderFromJSON } from '../decoders/index.js';
import { BertNormalizer } from '../normalizers/index.js';
import type { Normalizer } from '../normalizers/normalizer.js';
import { TokenizerPipeline } from '../pipeline.js';
import { postProcessorFromJSON } from '../post-processors/index.js';
import { describeJson, type JsonObject } from '../registry.js';
import { extraAddedTokens } from './added-tokens.js';
import { optionalBoolean } from './config-values.js';
import { readBlocks } from './json-blocks.js';
import { readSettings } from './settings.js';
import type { ConfigContext, TokenizerParts } from './types.js';

/** Re-throws a ConfigError from inside a file with the file named. */
function inFile<T>(file: string | undefined, build: () => T): T {
  try {
    return build();
  } catch (error) {
    if (file !== undefined && error instanceof ConfigError && error.file === undefined) {
      throw new ConfigError(`${file}: ${error.message}`, { file, field: error.field, cause: error });
    }
    throw error;
  }
}

/** Builds the parts of a parsed tokenizer.json, with the settings of `context`. */
export function partsFromTokenizerJSON(json: unknown, context: ConfigContext, file?: string): TokenizerParts {
  if (json === null || typeof json !== 'object' || Array.isArray(json)) {
    throw new ConfigError(`${file ?? 'tokenizer.json'}: expected a JSON object, got ${describeJson(json)}`, {
      file,
    });
  }
  const obj = json as JsonObject;
  let pipeline = TokenizerPipeline.fromTokenizerJSON(obj, file);
  const postProcessor = inFile(file, () => postProcessorFromJSON(obj.post_processor, 'post_processor'));
  const decoder = inFile(file, () =>
    obj.decoder === null || obj.decoder === undefined ? null : decoderFromJSON(obj.decoder, 'decoder'),
  );
  const blocks = inFile(file, () => readBlocks(obj));

  const normalizer = bertNormalizerOverride(pipeline.normalizer, context);
  const lookup = (token: string) => pipeline.addedVocabulary.tokenToId(token, pipeline.model);
  const settings = readSettings(context, lookup, postProcessor);
  const extra = extraAddedTokens(context, settings.specialTokens, pipeline.addedVocabulary, pipeline.model);
  if (normalizer !== pipeline.normalizer || extra.length > 0) {
    pipeline = new TokenizerPipeline({
      normalizer,
      preTokenizer: pipeline.preTokenizer,
      model: pipeline.model,
      addedVocabulary: new AddedVocabulary([...pipeline.addedVocabulary.tokens, ...extra], normalizer),
    });
  }
  return { pipeline, postProcessor, decoder, settings, blocks };
}

/**
 * transformers' BertTokenizerFast re-creates the BertNormalizer when tokenizer_config.json's `do_lower_case`,
 * `strip_accents` or `tokenize_chinese_chars` disagree with tokenizer.json; we do the same for the keys present.
 */
function bertNormalizerOverride(normalizer: Normalizer | null, context: ConfigContext): Normalizer | null {
  if (!(normalizer instanceof BertNormalizer)) return normalizer;
  const { config } = context;
  const options = { ...normalizer.options };
  const lower = optionalBoolean(config, 'do_lower_case', context.configFile);
  const chinese = optionalBoolean(config, 'tokenize_chinese_chars', context.configFile);
  const accents = optionalBoolean(config, 'strip_accents', context.configFile);
  let changed = false;
  if (lower !== undefined && lower !== options.lowercase) [options.lowercase, changed] = [lower, true];
  if (chinese !== undefined && chinese !== options.handleChineseChars)
    [options.handleChineseChars, changed] = [chinese, true];
  if ('strip_accents' in config && accents !== options.stripAccents)
    [options.stripAccents, changed] = [accents ?? null, true];
  return changed ? new BertNormalizer(options) : normalizer;
}
