/**
 * A folder with a SentencePiece model and no tokenizer.json, loaded as transformers' AutoTokenizer loads it: the
 * slow class named by tokenizer_config.json (or config.json's model_type) is converted to its fast tokenizer by
 * that class's converter, then the fast class adds the config's added tokens and special tokens.
 */
import { ConfigError } from '../../errors.js';
import type { JsonObject } from '../registry.js';
import { withDefaults } from './legacy.js';
import { readSentencePieceModel } from './sentencepiece-model.js';
import { SPM_CLASS_OF_MODEL_TYPE, spmConverters } from './spm-classes.js';
import {
  classConfig,
  precompiledJson,
  prependScheme,
  slowTokenIds,
  SPM_SPACE,
  spmModelJson,
  templateJson,
  type SpmClassConverter,
} from './spm-convert.js';
import { partsFromTokenizerJSON } from './tokenizer-json.js';
import type { BinaryFile, ConfigContext, TokenizerParts } from './types.js';

/** transformers' warning when a model's byte fallback is dropped by the conversion. */
export const BYTE_FALLBACK_WARNING =
  'The sentencepiece tokenizer that you are converting to a fast tokenizer uses the byte fallback option which is ' +
  'not implemented in the fast tokenizers. In practice this means that the fast version of the tokenizer can ' +
  'produce unknown tokens whereas the sentencepiece version would have converted these unknown tokens into a ' +
  'sequence of byte tokens matching the original piece of text.';

function converterFor(context: ConfigContext, modelFile: string): [string, SpmClassConverter] {
  const named = context.config.tokenizer_class;
  const className =
    typeof named === 'string'
      ? named.replace(/Fast$/, '')
      : context.modelType !== null
        ? SPM_CLASS_OF_MODEL_TYPE.get(context.modelType)
        : undefined;
  const converter = className === undefined ? undefined : spmConverters.get(className);
  if (className === undefined || converter === undefined) {
    const got =
      typeof named === 'string'
        ? `got ${JSON.stringify(named)}`
        : `got none${context.modelType !== null ? ` (config.json model_type ${JSON.stringify(context.modelType)})` : ''}`;
    throw new ConfigError(
      `${context.configFile}: tokenizer_class: converting ${modelFile} needs one of ${[...spmConverters.keys()].join(', ')}; ${got}`,
      { file: context.configFile, field: 'tokenizer_class' },
    );
  }
  return [className, converter];
}

/**
 * The tokenizer.json that `convert_slow_tokenizer` builds for the folder's class from the `.model` file, and
 * the context with the class's default special tokens.
 */
export function tokenizerJsonFromSentencePiece(
  source: BinaryFile,
  base: ConfigContext,
): { json: JsonObject; context: ConfigContext; warnings: string[] } {
  const [className, converter] = converterFor(base, source.file);
  const withSpecials = withDefaults(base, converter.defaults);
  // The class decides the settings (model input names, …) also when it came from config.json's model_type.
  const context = { ...withSpecials, config: { ...withSpecials.config, tokenizer_class: className } };
  const model = readSentencePieceModel(source.bytes, source.file);
  const config = classConfig(context);
  const vocab = converter.vocab(model, config);
  const [addPrefixSpace, legacy] = converter.readsPrependFlags
    ? [config.boolean('add_prefix_space', true), config.boolean('legacy', true)]
    : [true, true];
  const metaspace = {
    type: 'Metaspace',
    replacement: SPM_SPACE,
    prepend_scheme: prependScheme(addPrefixSpace, legacy),
    split: true,
  };
  const json: JsonObject = {
    version: '1.0',
    added_tokens: [],
    normalizer: { type: 'Sequence', normalizers: converter.normalizers(precompiledJson(model), config) },
    pre_tokenizer: converter.preTokenizer(metaspace, config),
    model: spmModelJson(model, vocab, converter.unkId(model), source.file),
    post_processor: converter.template
      ? templateJson(converter.template, slowTokenIds(context, vocab))
      : null,
    decoder: metaspace,
  };
  return { json, context, warnings: model.byteFallback ? [BYTE_FALLBACK_WARNING] : [] };
}

export function partsFromSentencePiece(source: BinaryFile, base: ConfigContext): TokenizerParts {
  const { json, context, warnings } = tokenizerJsonFromSentencePiece(source, base);
  return { ...partsFromTokenizerJSON(json, context, source.file), warnings };
}
