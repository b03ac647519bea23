/**
 * Legacy folders without tokenizer.json, converted the way transformers' `convert_slow_tokenizer` does: `vocab.txt`
 * (BertConverter) or `vocab.json` + `merges.txt` (RobertaConverter, or GPT2Converter without `<s>`).
 */
import { ConfigError } from '../../errors.js';
import { AddedVocabulary } from '../added-vocabulary.js';
import { ByteLevelDecoder, WordPieceDecoder, type Decoder } from '../decoders/index.js';
import type { Model } from '../model.js';
import { BPE, WordPiece } from '../models/index.js';
import { BertNormalizer } from '../normalizers/index.js';
import type { Normalizer } from '../normalizers/normalizer.js';
import { TokenizerPipeline } from '../pipeline.js';
import {
  ByteLevelProcessing,
  RobertaProcessing,
  TemplateProcessing,
  type PostProcessor,
} from '../post-processors/index.js';
import { BertPreTokenizer, ByteLevelPreTokenizer } from '../pre-tokenizers/index.js';
import type { PreTokenizer } from '../pre-tokenizers/pre-tokenizer.js';
import { specialAddedTokens } from './added-tokens.js';
import { optionalBoolean, tokenContent } from './config-values.js';
import { readSettings } from './settings.js';
import type { ConfigContext, SpecialTokenKey, TextFile, TokenizerParts, TokenizerSettings } from './types.js';

function requireId(model: Model, token: string | null, role: string, file: string): [string, number] {
  const id = token === null ? undefined : model.tokenToId(token);
  if (token === null || id === undefined) {
    throw new ConfigError(`${file}: the ${role} token ${JSON.stringify(token)} is not in the vocabulary`, {
      file,
      field: `${role}_token`,
    });
  }
  return [token, id];
}

/** Fills in a legacy family's special tokens when the config does not name them. */
export function withDefaults(
  context: ConfigContext,
  defaults: Partial<Record<SpecialTokenKey, string>>,
): ConfigContext {
  const config = { ...context.config };
  for (const [key, value] of Object.entries(defaults)) {
    if (!(`${key}_token` in config)) config[`${key}_token`] = value;
  }
  return { ...context, config, guessSpecialTokens: false };
}

/** fairseq's special tokens, the defaults of the RoBERTa, XLM-R and CamemBERT tokenizer classes. */
export const FAIRSEQ_SPECIAL_TOKENS: Partial<Record<SpecialTokenKey, string>> = {
  bos: '<s>',
  eos: '</s>',
  sep: '</s>',
  cls: '<s>',
  unk: '<unk>',
  pad: '<pad>',
  mask: '<mask>',
};

/**
 * The class a legacy folder stands for when neither tokenizer_config.json nor config.json names one, so that the
 * settings follow that class (its model input names, its refusal of pre-tokenized input).
 */
function withClass(context: ConfigContext, tokenizerClass: string): ConfigContext {
  if (context.config.tokenizer_class !== undefined || context.modelType !== null) return context;
  return { ...context, config: { ...context.config, tokenizer_class: tokenizerClass } };
}

function legacyParts(
  context: ConfigContext,
  model: Model,
  normalizer: Normalizer | null,
  preTokenizer: PreTokenizer,
  buildPost: (settings: TokenizerSettings) => PostProcessor,
  decoder: Decoder,
  lstrip?: ReadonlySet<string>,
): TokenizerParts {
  const lookup = (token: string) => model.tokenToId(token);
  const provisional = readSettings(context, lookup, new ByteLevelProcessing(false, false));
  const postProcessor = buildPost(provisional);
  const settings = readSettings(context, lookup, postProcessor);
  const pipeline = new TokenizerPipeline({
    normalizer,
    preTokenizer,
    model,
    addedVocabulary: new AddedVocabulary(
      specialAddedTokens(settings.specialTokens, model, lstrip),
      normalizer,
    ),
  });
  return { pipeline, postProcessor, decoder, settings, blocks: { truncation: null, padding: null } };
}

/** vocab.txt: transformers' BertConverter (BertNormalizer, BertPreTokenizer, WordPiece, [CLS]/[SEP] template). */
export function wordPieceFromVocab(vocab: TextFile, base: ConfigContext): TokenizerParts {
  const context = withDefaults(base, {
    unk: '[UNK]',
    sep: '[SEP]',
    pad: '[PAD]',
    cls: '[CLS]',
    mask: '[MASK]',
  });
  const { config, configFile } = context;
  const unk = tokenContent(config.unk_token, 'unk_token', configFile) ?? '[UNK]';
  const model = WordPiece.fromVocabText(vocab.text, { unkToken: unk }, vocab.file);
  const accents = optionalBoolean(config, 'strip_accents', configFile);
  const normalizer = new BertNormalizer({
    cleanText: true,
    handleChineseChars: optionalBoolean(config, 'tokenize_chinese_chars', configFile) ?? true,
    stripAccents: accents ?? null,
    lowercase: optionalBoolean(config, 'do_lower_case', configFile) ?? true,
  });
  const buildPost = (settings: TokenizerSettings) => {
    const [cls, clsId] = requireId(model, settings.specialTokens.cls, 'cls', vocab.file);
    const [sep, sepId] = requireId(model, settings.specialTokens.sep, 'sep', vocab.file);
    return new TemplateProcessing(
      [
        { kind: 'special', name: cls, typeId: 0 },
        { kind: 'sequence', sequence: 0, typeId: 0 },
        { kind: 'special', name: sep, typeId: 0 },
      ],
      [
        { kind: 'special', name: cls, typeId: 0 },
        { kind: 'sequence', sequence: 0, typeId: 0 },
        { kind: 'special', name: sep, typeId: 0 },
        { kind: 'sequence', sequence: 1, typeId: 1 },
        { kind: 'special', name: sep, typeId: 1 },
      ],
      new Map([
        [cls, { ids: [clsId], tokens: [cls] }],
        [sep, { ids: [sepId], tokens: [sep] }],
      ]),
    );
  };
  return legacyParts(
    context,
    model,
    normalizer,
    new BertPreTokenizer(),
    buildPost,
    new WordPieceDecoder('##', true),
  );
}

/**
 * vocab.json + merges.txt: transformers' RobertaConverter (ByteLevel pre-tokenizer and decoder, RobertaProcessing),
 * or GPT2Converter when the vocabulary has no `<s>` (ByteLevel post-processing without special tokens).
 */
export function byteLevelBpeFromFiles(
  vocab: TextFile,
  merges: TextFile,
  base: ConfigContext,
): TokenizerParts {
  const model = BPE.fromVocabAndMerges(
    vocab.text,
    merges.text,
    { unkToken: null, continuingSubwordPrefix: null, endOfWordSuffix: null, fuseUnk: false },
    { vocab: vocab.file, merges: merges.file },
  );
  const addPrefixSpace = optionalBoolean(base.config, 'add_prefix_space', base.configFile) ?? false;
  const preTokenizer = new ByteLevelPreTokenizer(addPrefixSpace, true);
  const isRoberta = model.tokenToId('<s>') !== undefined && model.tokenToId('</s>') !== undefined;
  if (!isRoberta) {
    const eos = '<|endoftext|>';
    const context = withClass(withDefaults(base, { bos: eos, eos, unk: eos }), 'GPT2Tokenizer');
    return legacyParts(
      context,
      model,
      null,
      preTokenizer,
      () => new ByteLevelProcessing(false, addPrefixSpace),
      new ByteLevelDecoder(),
    );
  }
  const context = withClass(withDefaults(base, FAIRSEQ_SPECIAL_TOKENS), 'RobertaTokenizer');
  const trimOffsets = optionalBoolean(context.config, 'trim_offsets', context.configFile) ?? true;
  const buildPost = (settings: TokenizerSettings) => {
    const [sep, sepId] = requireId(model, settings.specialTokens.sep, 'sep', vocab.file);
    const [cls, clsId] = requireId(model, settings.specialTokens.cls, 'cls', vocab.file);
    return new RobertaProcessing(
      { token: sep, id: sepId },
      { token: cls, id: clsId },
      trimOffsets,
      addPrefixSpace,
    );
  };
  const mask = tokenContent(context.config.mask_token, 'mask_token', context.configFile);
  return legacyParts(
    context,
    model,
    null,
    preTokenizer,
    buildPost,
    new ByteLevelDecoder(),
    new Set(mask ? [mask] : []),
  );
}
