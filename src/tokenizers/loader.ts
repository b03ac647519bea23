/**
 * Loading a tokenizer from a Hugging Face folder: tokenizer.json (the fast-tokenizer file) with
 * tokenizer_config.json, special_tokens_map.json and config.json beside it, or a legacy folder holding only
 * `vocab.txt` (BERT family) or `vocab.json` + `merges.txt` (RoBERTa / GPT-2 byte-level BPE), which are converted
 * the way transformers' `convert_slow_tokenizer` does. Every problem is a ConfigError naming the file and field.
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { ResolvedPadding, ResolvedTruncation } from '../encoding/call-options.js';
import type { TensorField } from '../encoding/batch-encoding.js';
import type { Side } from '../encoding/truncation.js';
import { ConfigError } from '../errors.js';
import { AddedVocabulary, type AddedToken } from './added-vocabulary.js';
import { ByteLevelDecoder, decoderFromJSON, WordPieceDecoder, type Decoder } from './decoders/index.js';
import type { Model } from './model.js';
import { BPE, WordPiece } from './models/index.js';
import { BertNormalizer } from './normalizers/index.js';
import type { Normalizer } from './normalizers/normalizer.js';
import { TokenizerPipeline } from './pipeline.js';
import {
  ByteLevelProcessing,
  postProcessorFromJSON,
  RobertaProcessing,
  TemplateProcessing,
  type PostProcessor,
} from './post-processors/index.js';
import { BertPreTokenizer, ByteLevelPreTokenizer } from './pre-tokenizers/index.js';
import type { PreTokenizer } from './pre-tokenizers/pre-tokenizer.js';
import { describeJson, type JsonObject } from './registry.js';

/** transformers treats a model_max_length above this (its default is 1e30) as "no maximum". */
const LARGE_INTEGER = 1e20;

export const SPECIAL_TOKEN_KEYS = ['bos', 'eos', 'unk', 'sep', 'pad', 'cls', 'mask'] as const;
export type SpecialTokenKey = (typeof SPECIAL_TOKEN_KEYS)[number];

export interface SpecialTokens {
  bos: string | null;
  eos: string | null;
  unk: string | null;
  sep: string | null;
  pad: string | null;
  cls: string | null;
  mask: string | null;
  additional: string[];
}

/** What tokenizer_config.json (and friends) say about using the tokenizer. */
export interface TokenizerSettings {
  /** Infinity when the folder gives none (or transformers' "huge" placeholder). */
  modelMaxLength: number;
  paddingSide: Side;
  truncationSide: Side;
  specialTokens: SpecialTokens;
  cleanUpTokenizationSpaces: boolean;
  modelInputNames: TensorField[];
}

/** The truncation and padding blocks stored in tokenizer.json (ignored unless asked for). */
export interface TokenizerJsonBlocks {
  truncation: ResolvedTruncation | null;
  padding: ResolvedPadding | null;
}

/** Everything a Tokenizer is made of. */
export interface TokenizerParts {
  pipeline: TokenizerPipeline;
  postProcessor: PostProcessor;
  decoder: Decoder | null;
  settings: TokenizerSettings;
  blocks: TokenizerJsonBlocks;
}

interface TextFile {
  file: string;
  text: string;
}

/** The files of a tokenizer folder, read but not interpreted. */
export interface TokenizerFolder {
  dir: string;
  tokenizerJson: TextFile | null;
  tokenizerConfig: TextFile | null;
  specialTokensMap: TextFile | null;
  modelConfig: TextFile | null;
  vocabTxt: TextFile | null;
  vocabJson: TextFile | null;
  mergesTxt: TextFile | null;
}

const FOLDER_FILES = {
  tokenizerJson: 'tokenizer.json',
  tokenizerConfig: 'tokenizer_config.json',
  specialTokensMap: 'special_tokens_map.json',
  modelConfig: 'config.json',
  vocabTxt: 'vocab.txt',
  vocabJson: 'vocab.json',
  mergesTxt: 'merges.txt',
} as const;

type FolderKey = keyof typeof FOLDER_FILES;

function checkFolder(dir: string, isDirectory: boolean | null): void {
  if (isDirectory === null) throw new ConfigError(`${dir}: tokenizer folder not found`, { file: dir });
  if (!isDirectory) throw new ConfigError(`${dir}: expected a tokenizer folder, found a file`, { file: dir });
}

/** Reads the known files of a tokenizer folder (those present). */
export async function readTokenizerFolder(dir: string): Promise<TokenizerFolder> {
  const info = await stat(dir).catch(() => null);
  checkFolder(dir, info ? info.isDirectory() : null);
  const folder = { dir } as TokenizerFolder;
  await Promise.all(
    (Object.keys(FOLDER_FILES) as FolderKey[]).map(async (key) => {
      const file = join(dir, FOLDER_FILES[key]);
      const text = await readFile(file, 'utf8').catch((error: NodeJS.ErrnoException) => {
        if (error.code === 'ENOENT') return null;
        throw new ConfigError(`${file}: cannot be read (${error.message})`, { file, cause: error });
      });
      folder[key] = text === null ? null : { file, text };
    }),
  );
  return folder;
}

/** Synchronous `readTokenizerFolder`. */
export function readTokenizerFolderSync(dir: string): TokenizerFolder {
  checkFolder(dir, existsSync(dir) ? statSync(dir).isDirectory() : null);
  const folder = { dir } as TokenizerFolder;
  for (const key of Object.keys(FOLDER_FILES) as FolderKey[]) {
    const file = join(dir, FOLDER_FILES[key]);
    if (!existsSync(file)) {
      folder[key] = null;
      continue;
    }
    try {
      folder[key] = { file, text: readFileSync(file, 'utf8') };
    } catch (error) {
      throw new ConfigError(`${file}: cannot be read (${(error as Error).message})`, { file, cause: error });
    }
  }
  return folder;
}

/** Parses a JSON file that must hold an object; the error names the file (truncated files included). */
export function parseJsonFile(source: TextFile): JsonObject {
  let value: unknown;
  try {
    value = JSON.parse(source.text);
  } catch (error) {
    const detail = source.text.trim() === '' ? 'the file is empty' : (error as Error).message;
    throw new ConfigError(`${source.file}: not valid JSON (${detail})`, { file: source.file, cause: error });
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new ConfigError(`${source.file}: expected a JSON object, got ${describeJson(value)}`, {
      file: source.file,
    });
  }
  return value as JsonObject;
}

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

/** Builds the parts from a folder's files. */
export function partsFromFolder(folder: TokenizerFolder): TokenizerParts {
  const config: JsonObject = {
    ...(folder.tokenizerConfig ? parseJsonFile(folder.tokenizerConfig) : {}),
    // transformers lets special_tokens_map.json override tokenizer_config.json's special tokens.
    ...(folder.specialTokensMap ? parseJsonFile(folder.specialTokensMap) : {}),
  };
  const modelConfig = folder.modelConfig ? parseJsonFile(folder.modelConfig) : {};
  const context: ConfigContext = {
    config,
    configFile: folder.tokenizerConfig?.file ?? folder.specialTokensMap?.file ?? 'tokenizer_config.json',
    modelType: typeof modelConfig.model_type === 'string' ? modelConfig.model_type : null,
    guessSpecialTokens: true,
  };
  if (folder.tokenizerJson) {
    const json = parseJsonFile(folder.tokenizerJson);
    return partsFromTokenizerJSON(json, context, folder.tokenizerJson.file);
  }
  if (folder.vocabTxt) return wordPieceFromVocab(folder.vocabTxt, context);
  if (folder.vocabJson && folder.mergesTxt)
    return byteLevelBpeFromFiles(folder.vocabJson, folder.mergesTxt, context);
  if (folder.vocabJson) {
    throw new ConfigError(
      `${join(folder.dir, 'merges.txt')}: missing (vocab.json needs merges.txt beside it)`,
      {
        file: join(folder.dir, 'merges.txt'),
      },
    );
  }
  throw new ConfigError(
    `${folder.dir}: no tokenizer files found (expected tokenizer.json, or vocab.txt, or vocab.json + merges.txt)`,
    { file: folder.dir },
  );
}

export interface ConfigContext {
  /** tokenizer_config.json merged with special_tokens_map.json. */
  config: JsonObject;
  /** Named in errors about the config. */
  configFile: string;
  /** config.json `model_type`, used to pick the model input names. */
  modelType: string | null;
  /**
   * Guess special tokens the config does not mention from the vocabulary ('[PAD]' or '<pad>', …), standing in for
   * the defaults of transformers' tokenizer classes (a key set to null in the config stays null).
   */
  guessSpecialTokens: boolean;
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

function optionalBoolean(config: JsonObject, key: string, file: string): boolean | undefined {
  const value = config[key];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'boolean') {
    throw new ConfigError(`${file}: ${key}: expected true, false or null, got ${describeJson(value)}`, {
      file,
      field: key,
    });
  }
  return value;
}

/** The string of a special token entry: `"[PAD]"` or `{"content": "[PAD]", ...}` (AddedToken form). */
function tokenContent(value: unknown, key: string, file: string): string | null {
  if (value === undefined || value === null) return null;
  if (typeof value === 'string') return value;
  if (
    typeof value === 'object' &&
    !Array.isArray(value) &&
    typeof (value as JsonObject).content === 'string'
  ) {
    return (value as JsonObject).content as string;
  }
  throw new ConfigError(
    `${file}: ${key}: expected a token string or {"content": ...}, got ${describeJson(value)}`,
    {
      file,
      field: key,
    },
  );
}

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

function family(name: string): string {
  return name
    .replace(/TokenizerFast$|Tokenizer$/, '')
    .toLowerCase()
    .replace(/[-_]/g, '');
}

function readSettings(
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
  return {
    modelMaxLength: typeof maxLength === 'number' && maxLength <= LARGE_INTEGER ? maxLength : Infinity,
    paddingSide: side('padding_side'),
    truncationSide: side('truncation_side'),
    specialTokens,
    // transformers 4.40 defaults clean_up_tokenization_spaces to true.
    cleanUpTokenizationSpaces: cleanUp ?? true,
    modelInputNames,
  };
}

/**
 * Tokens transformers adds to the backend at load time: `added_tokens_decoder` entries missing from
 * tokenizer.json, then configured special tokens the vocabulary lacks (given the next free ids).
 */
function extraAddedTokens(
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

const STRATEGIES: Record<string, ResolvedTruncation['strategy']> = {
  LongestFirst: 'longest_first',
  OnlyFirst: 'only_first',
  OnlySecond: 'only_second',
};

function direction(value: unknown, path: string): Side {
  if (value === undefined || value === null || value === 'Right') return 'right';
  if (value === 'Left') return 'left';
  throw new ConfigError(`${path}: expected "Left" or "Right", got ${describeJson(value)}`, { field: path });
}

function nonNegative(value: unknown, path: string, fallback?: number): number {
  if ((value === undefined || value === null) && fallback !== undefined) return fallback;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 0) {
    throw new ConfigError(`${path}: expected a non-negative integer, got ${describeJson(value)}`, {
      field: path,
    });
  }
  return value;
}

/** Reads tokenizer.json's `truncation` and `padding` blocks (null when absent). */
function readBlocks(json: JsonObject): TokenizerJsonBlocks {
  let truncation: ResolvedTruncation | null = null;
  let padding: ResolvedPadding | null = null;
  const t = json.truncation;
  if (t !== undefined && t !== null) {
    if (typeof t !== 'object' || Array.isArray(t)) {
      throw new ConfigError(`truncation: expected an object or null, got ${describeJson(t)}`, {
        field: 'truncation',
      });
    }
    const block = t as JsonObject;
    const strategy = STRATEGIES[block.strategy as string];
    if (!strategy) {
      throw new ConfigError(
        `truncation.strategy: expected LongestFirst, OnlyFirst or OnlySecond, got ${describeJson(block.strategy)}`,
        { field: 'truncation.strategy' },
      );
    }
    truncation = {
      strategy,
      maxLength: nonNegative(block.max_length, 'truncation.max_length'),
      stride: nonNegative(block.stride, 'truncation.stride', 0),
      side: direction(block.direction, 'truncation.direction'),
    };
  }
  const p = json.padding;
  if (p !== undefined && p !== null) {
    if (typeof p !== 'object' || Array.isArray(p)) {
      throw new ConfigError(`padding: expected an object or null, got ${describeJson(p)}`, {
        field: 'padding',
      });
    }
    const block = p as JsonObject;
    const strategy = block.strategy;
    let target: ResolvedPadding['target'];
    if (strategy === 'BatchLongest') target = 'longest';
    else if (strategy && typeof strategy === 'object' && 'Fixed' in strategy) {
      target = nonNegative((strategy as JsonObject).Fixed, 'padding.strategy.Fixed');
    } else {
      throw new ConfigError(
        `padding.strategy: expected "BatchLongest" or {"Fixed": n}, got ${describeJson(strategy)}`,
        {
          field: 'padding.strategy',
        },
      );
    }
    const multiple = block.pad_to_multiple_of;
    padding = {
      target,
      multipleOf:
        multiple === null || multiple === undefined
          ? null
          : nonNegative(multiple, 'padding.pad_to_multiple_of'),
      side: direction(block.direction, 'padding.direction'),
      pad: {
        id: nonNegative(block.pad_id, 'padding.pad_id', 0),
        typeId: nonNegative(block.pad_type_id, 'padding.pad_type_id', 0),
        token: typeof block.pad_token === 'string' ? block.pad_token : '[PAD]',
      },
    };
  }
  return { truncation, padding };
}

/** Special tokens of a legacy folder as added tokens (not normalized, like transformers' converted tokenizers). */
function specialAddedTokens(
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
function withDefaults(
  context: ConfigContext,
  defaults: Partial<Record<SpecialTokenKey, string>>,
): ConfigContext {
  const config = { ...context.config };
  for (const [key, value] of Object.entries(defaults)) {
    if (!(`${key}_token` in config)) config[`${key}_token`] = value;
  }
  return { ...context, config, guessSpecialTokens: false };
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
function wordPieceFromVocab(vocab: TextFile, base: ConfigContext): TokenizerParts {
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
function byteLevelBpeFromFiles(vocab: TextFile, merges: TextFile, base: ConfigContext): TokenizerParts {
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
    const context = withDefaults(base, { bos: eos, eos, unk: eos });
    return legacyParts(
      context,
      model,
      null,
      preTokenizer,
      () => new ByteLevelProcessing(false, addPrefixSpace),
      new ByteLevelDecoder(),
    );
  }
  const context = withDefaults(base, {
    bos: '<s>',
    eos: '</s>',
    sep: '</s>',
    cls: '<s>',
    unk: '<unk>',
    pad: '<pad>',
    mask: '<mask>',
  });
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
