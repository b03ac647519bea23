/**
 * tokenizer_config.json → TokenizerSettings: model maximum, sides, special tokens (guessed from the vocabulary
 * when unset), model input names, clean-up flag.
 */
import type { TensorField } from '../../encoding/batch-encoding.js';
import type { Side } from '../../encoding/truncation.js';
import { ConfigError } from '../../errors.js';
import { RobertaProcessing, type PostProcessor } from '../post-processors/index.js';
import { describeJson } from '../registry.js';
import { optionalBoolean, tokenContent } from './config-values.js';
import {
  SPECIAL_TOKEN_KEYS,
  type ConfigContext,
  type SpecialTokenKey,
  type SpecialTokens,
  type TokenizerSettings,
} from './types.js';

/** transformers treats a model_max_length above this (its default is 1e30) as "no maximum". */
const LARGE_INTEGER = 1e20;

/** Vocabulary names tried for each special token the config does not mention. */
const GUESSES: Record<SpecialTokenKey, string[]> = {
  bos: ['<s>'],
  eos: ['</s>'],
  unk: ['[UNK]', '<unk>'],
  sep: ['[SEP]', '</s>'],
  pad: ['[PAD]', '<pad>'],
  cls: ['[CLS]', '<s>'],
  mask: ['[MASK]', '<mask>'],
};

/** Model families whose tokenizers do not return token_type_ids (transformers' `model_input_names`). */
const NO_TOKEN_TYPE_FAMILIES = new Set([
  'distilbert',
  'roberta',
  'xlmroberta',
  'camembert',
  'longformer',
  'gpt2',
  'bart',
  't5',
  'mpnet',
  'bigbird',
  'marian',
  'pegasus',
]);

/**
 * Fast tokenizer classes whose `_batch_encode_plus` asserts `add_prefix_space` for pre-tokenized input (their
 * ByteLevel pre-tokenizer would otherwise glue each word to the previous one), by model family.
 */
const PREFIX_SPACE_FOR_WORDS = new Map([
  ['roberta', 'RobertaTokenizerFast'],
  ['gpt2', 'GPT2TokenizerFast'],
  ['longformer', 'LongformerTokenizerFast'],
  ['bart', 'BartTokenizerFast'],
  ['led', 'LEDTokenizerFast'],
  ['mvp', 'MvpTokenizerFast'],
  ['blenderbot', 'BlenderbotTokenizerFast'],
  ['codegen', 'CodeGenTokenizerFast'],
  ['deberta', 'DebertaTokenizerFast'],
]);

function family(name: string): string {
  return name
    .replace(/TokenizerFast$|Tokenizer$/, '')
    .toLowerCase()
    .replace(/[-_]/g, '');
}

export function readSettings(
  context: ConfigContext,
  lookup: (token: string) => number | undefined,
  postProcessor: PostProcessor,
): TokenizerSettings {
  const { config, configFile: file } = context;
  const maxLength = config.model_max_length;
  if (maxLength !== undefined && maxLength !== null && (typeof maxLength !== 'number' || maxLength < 0)) {
    throw new ConfigError(
      `${file}: model_max_length: expected a non-negative number, got ${describeJson(maxLength)}`,
      {
        file,
        field: 'model_max_length',
      },
    );
  }
  const side = (key: string): Side => {
    const value = config[key];
    if (value === undefined || value === null) return 'right';
    if (value !== 'left' && value !== 'right') {
      throw new ConfigError(`${file}: ${key}: expected "left" or "right", got ${describeJson(value)}`, {
        file,
        field: key,
      });
    }
    return value;
  };

  const specialTokens = { additional: [] as string[] } as unknown as SpecialTokens;
  for (const key of SPECIAL_TOKEN_KEYS) {
    const configKey = `${key}_token`;
    let token = tokenContent(config[configKey], configKey, file);
    if (token === null && context.guessSpecialTokens && !(configKey in config)) {
      token = GUESSES[key].find((candidate) => lookup(candidate) !== undefined) ?? null;
    }
    specialTokens[key] = token;
  }
  const additional = config.additional_special_tokens;
  if (additional !== undefined && additional !== null) {
    if (!Array.isArray(additional)) {
      throw new ConfigError(
        `${file}: additional_special_tokens: expected an array, got ${describeJson(additional)}`,
        {
          file,
          field: 'additional_special_tokens',
        },
      );
    }
    specialTokens.additional = additional
      .map((value, i) => tokenContent(value, `additional_special_tokens[${i}]`, file))
      .filter((t): t is string => t !== null);
  }

  let modelInputNames: TensorField[] = ['input_ids', 'token_type_ids', 'attention_mask'];
  const names = config.model_input_names;
  const className = typeof config.tokenizer_class === 'string' ? config.tokenizer_class : null;
  if (Array.isArray(names) && names.every((n) => typeof n === 'string')) {
    modelInputNames = names.filter((n): n is TensorField =>
      ['input_ids', 'token_type_ids', 'attention_mask', 'special_tokens_mask'].includes(n),
    );
  } else if (
    (className && NO_TOKEN_TYPE_FAMILIES.has(family(className))) ||
    (!className && context.modelType && NO_TOKEN_TYPE_FAMILIES.has(family(context.modelType))) ||
    (!className && !context.modelType && postProcessor instanceof RobertaProcessing)
  ) {
    modelInputNames = ['input_ids', 'attention_mask'];
  }

  const cleanUp = optionalBoolean(config, 'clean_up_tokenization_spaces', file);
  const addPrefixSpace = optionalBoolean(config, 'add_prefix_space', file) ?? false;
  // transformers names the class it instantiated: tokenizer_config.json's, else the one of config.json's model_type.
  const fastClass = PREFIX_SPACE_FOR_WORDS.get(family(className ?? context.modelType ?? ''));
  const wordsInputError =
    fastClass === undefined || addPrefixSpace
      ? null
      : `You need to instantiate ${fastClass} with add_prefix_space=True to use it with pretokenized inputs.`;
  return {
    modelMaxLength: typeof maxLength === 'number' && maxLength <= LARGE_INTEGER ? maxLength : Infinity,
    paddingSide: side('padding_side'),
    truncationSide: side('truncation_side'),
    specialTokens,
    // transformers 4.40 defaults clean_up_tokenization_spaces to true.
    cleanUpTokenizationSpaces: cleanUp ?? true,
    modelInputNames,
    wordsInputError,
  };
}
