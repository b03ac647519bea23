/**
 * The Tokenizer: a Hugging Face fast tokenizer (tokenizer.json + tokenizer_config.json) with transformers'
 * `PreTrainedTokenizerFast` call semantics: one text, a batch, pairs, pre-tokenized words; padding, truncation,
 * overflow windows; decoding; `pad` on already-encoded features.
 */
import type { BatchEncoding, TensorField } from '../encoding/batch-encoding.js';
import type { EncodeOptions } from '../encoding/call-options.js';
import {
  encodeBatch,
  TOO_LONG_WARNING_KEY,
  type EncodeContext,
  type TextInput,
} from '../encoding/encode-batch.js';
import type { Encoding } from '../encoding/encoding.js';
import { padFeatures, type PadOptions, type PaddedFeatures } from '../encoding/pad-features.js';
import type { PadToken } from '../encoding/padding.js';
import type { Side } from '../encoding/truncation.js';
import { InputError } from '../errors.js';
import type { Decoder } from './decoders/index.js';
import {
  partsFromFolder,
  partsFromTokenizerJSON,
  readTokenizerFolder,
  readTokenizerFolderSync,
  SPECIAL_TOKEN_KEYS,
  type SpecialTokens,
  type TokenizerJsonBlocks,
  type TokenizerParts,
} from './loader/index.js';
import type { TokenizerPipeline } from './pipeline.js';
import type { PostProcessor } from './post-processors/index.js';
import type { JsonObject } from './registry.js';

export interface TokenizerOptions {
  /**
   * What to do with the `truncation` and `padding` blocks of tokenizer.json. transformers ignores them at call
   * time ('ignore', the default); 'apply' uses them whenever a call leaves `truncation` / `padding` unset, as the
   * Rust `tokenizers` library (and its bindings) does with a freshly loaded file.
   */
  tokenizerJsonBlocks?: 'ignore' | 'apply';
  /** Receives transformers' warnings. Default: printed to stderr. */
  onWarning?: (message: string) => void;
}

export interface DecodeOptions {
  /** Drop special added tokens ([CLS], <pad>, …). Default false. */
  skipSpecialTokens?: boolean;
  /**
   * Apply transformers' `clean_up_tokenization` (remove spaces before punctuation and contractions). Default:
   * tokenizer_config.json `clean_up_tokenization_spaces` (true when absent, as in transformers 4.40).
   */
  cleanUpTokenizationSpaces?: boolean;
}

/** transformers' `PreTrainedTokenizerBase.clean_up_tokenization`. */
export function cleanUpTokenization(text: string): string {
  return text
    .split(' .')
    .join('.')
    .split(' ?')
    .join('?')
    .split(' !')
    .join('!')
    .split(' ,')
    .join(',')
    .split(" ' ")
    .join("'")
    .split(" n't")
    .join("n't")
    .split(" 'm")
    .join("'m")
    .split(" 's")
    .join("'s")
    .split(" 've")
    .join("'ve")
    .split(" 're")
    .join("'re");
}

function defaultWarning(message: string): void {
  process.stderr.write(`seqbatch: warning: ${message}\n`);
}

function isOptionsObject(value: unknown): value is EncodeOptions {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

export class Tokenizer {
  readonly pipeline: TokenizerPipeline;
  readonly postProcessor: PostProcessor;
  readonly decoder: Decoder | null;
  /** Longest sequence the model takes (Infinity when unknown). */
  modelMaxLength: number;
  paddingSide: Side;
  truncationSide: Side;
  cleanUpTokenizationSpaces: boolean;
  /** The fields a model takes (`toTensors()` builds these). */
  modelInputNames: TensorField[];
  /** Type id given to pad tokens. */
  padTokenTypeId = 0;
  readonly specialTokens: SpecialTokens;
  /** tokenizer.json's truncation/padding blocks (used only with `tokenizerJsonBlocks: 'apply'`). */
  readonly tokenizerJsonBlocks: TokenizerJsonBlocks;
  private readonly applyBlocks: boolean;
  private readonly wordsInputError: string | null;
  private readonly onWarning: (message: string) => void;
  private readonly warned = new Set<string>();

  constructor(parts: TokenizerParts, options: TokenizerOptions = {}) {
    this.pipeline = parts.pipeline;
    this.postProcessor = parts.postProcessor;
    this.decoder = parts.decoder;
    this.modelMaxLength = parts.settings.modelMaxLength;
    this.paddingSide = parts.settings.paddingSide;
    this.truncationSide = parts.settings.truncationSide;
    this.cleanUpTokenizationSpaces = parts.settings.cleanUpTokenizationSpaces;
    this.modelInputNames = parts.settings.modelInputNames;
    this.specialTokens = {
      ...parts.settings.specialTokens,
      additional: [...parts.settings.specialTokens.additional],
    };
    this.tokenizerJsonBlocks = parts.blocks;
    this.wordsInputError = parts.settings.wordsInputError;
    const blocks = options.tokenizerJsonBlocks ?? 'ignore';
    if (blocks !== 'ignore' && blocks !== 'apply') {
      throw new InputError(
        `tokenizerJsonBlocks: expected 'ignore' or 'apply', got ${JSON.stringify(blocks)}`,
        {
          argument: 'tokenizerJsonBlocks',
        },
      );
    }
    this.applyBlocks = blocks === 'apply';
    this.onWarning = options.onWarning ?? defaultWarning;
    for (const message of parts.warnings ?? []) this.onWarning(message);
  }

  /** Loads a tokenizer folder (tokenizer.json, or legacy vocab.txt / vocab.json + merges.txt). */
  static async fromPretrained(dir: string, options: TokenizerOptions = {}): Promise<Tokenizer> {
    return new Tokenizer(partsFromFolder(await readTokenizerFolder(dir)), options);
  }

  /** Synchronous `fromPretrained`. */
  static fromPretrainedSync(dir: string, options: TokenizerOptions = {}): Tokenizer {
    return new Tokenizer(partsFromFolder(readTokenizerFolderSync(dir)), options);
  }

  /**
   * Builds a tokenizer from a parsed tokenizer.json and, optionally, the content of tokenizer_config.json
   * (special_tokens_map.json entries may be merged in) and config.json's `model_type`.
   */
  static fromJSON(
    tokenizerJson: unknown,
    config: JsonObject | null = null,
    options: TokenizerOptions & { modelType?: string } = {},
  ): Tokenizer {
    const parts = partsFromTokenizerJSON(tokenizerJson, {
      config: config ?? {},
      configFile: 'tokenizer_config.json',
      modelType: options.modelType ?? null,
      guessSpecialTokens: true,
    });
    return new Tokenizer(parts, options);
  }

  // ---- vocabulary and special tokens ----

  /** Size of the model vocabulary, without added tokens (transformers' `vocab_size`). */
  get vocabSize(): number {
    return this.pipeline.model.getVocabSize();
  }

  /** Vocabulary size with added tokens (transformers' `len(tokenizer)`). */
  get length(): number {
    return this.getVocab().size;
  }

  getVocab(): Map<string, number> {
    return this.pipeline.addedVocabulary.getVocab(this.pipeline.model);
  }

  get padToken(): string | null {
    return this.specialTokens.pad;
  }
  get padTokenId(): number | null {
    return this.idOf(this.specialTokens.pad);
  }
  get unkToken(): string | null {
    return this.specialTokens.unk;
  }
  get unkTokenId(): number | null {
    return this.idOf(this.specialTokens.unk);
  }
  get clsToken(): string | null {
    return this.specialTokens.cls;
  }
  get clsTokenId(): number | null {
    return this.idOf(this.specialTokens.cls);
  }
  get sepToken(): string | null {
    return this.specialTokens.sep;
  }
  get sepTokenId(): number | null {
    return this.idOf(this.specialTokens.sep);
  }
  get maskToken(): string | null {
    return this.specialTokens.mask;
  }
  get maskTokenId(): number | null {
    return this.idOf(this.specialTokens.mask);
  }
  get bosToken(): string | null {
    return this.specialTokens.bos;
  }
  get bosTokenId(): number | null {
    return this.idOf(this.specialTokens.bos);
  }
  get eosToken(): string | null {
    return this.specialTokens.eos;
  }
  get eosTokenId(): number | null {
    return this.idOf(this.specialTokens.eos);
  }
  get additionalSpecialTokens(): string[] {
    return [...this.specialTokens.additional];
  }

  /** Every special token the config names (transformers' `all_special_tokens`), without repeats. */
  get allSpecialTokens(): string[] {
    const all = [...SPECIAL_TOKEN_KEYS.map((k) => this.specialTokens[k]), ...this.specialTokens.additional];
    return [...new Set(all.filter((t): t is string => t !== null))];
  }

  get allSpecialIds(): number[] {
    return this.allSpecialTokens.map((t) => this.idOf(t)).filter((id): id is number => id !== null);
  }

  /** Uses `token` (which must be in the vocabulary) for padding, e.g. the eos token for GPT-2 style models. */
  setPadToken(token: string): void {
    if (this.tokenToId(token) === undefined) {
      throw new InputError(`padToken: ${JSON.stringify(token)} is not in the vocabulary`, {
        argument: 'padToken',
      });
    }
    this.specialTokens.pad = token;
  }

  private tokenToId(token: string): number | undefined {
    return this.pipeline.addedVocabulary.tokenToId(token, this.pipeline.model);
  }

  private idOf(token: string | null): number | null {
    return token === null ? null : (this.tokenToId(token) ?? null);
  }

  /** Ids of tokens; unknown tokens give the unk id (null without one), as in transformers. */
  convertTokensToIds(tokens: string): number | null;
  convertTokensToIds(tokens: readonly string[]): (number | null)[];
  convertTokensToIds(tokens: string | readonly string[]): number | null | (number | null)[] {
    const one = (token: unknown, argument: string) => {
      if (typeof token !== 'string') {
        throw new InputError(
          `${argument}: expected a token string, got ${JSON.stringify(token) ?? 'undefined'}`,
          {
            argument,
          },
        );
      }
      return this.tokenToId(token) ?? this.unkTokenId;
    };
    if (typeof tokens === 'string') return one(tokens, 'tokens');
    if (!Array.isArray(tokens)) {
      throw new InputError('tokens: expected a token string or an array of them', { argument: 'tokens' });
    }
    return tokens.map((t, i) => one(t, `tokens[${i}]`));
  }

  /** Token strings of ids (null for an id outside the vocabulary); optionally without the special tokens. */
  convertIdsToTokens(ids: number, skipSpecialTokens?: boolean): string | null;
  convertIdsToTokens(ids: readonly number[], skipSpecialTokens?: boolean): (string | null)[];
  convertIdsToTokens(
    ids: number | readonly number[],
    skipSpecialTokens = false,
  ): string | null | (string | null)[] {
    const { addedVocabulary, model } = this.pipeline;
    const one = (id: unknown, argument: string) => {
      if (typeof id !== 'number' || !Number.isInteger(id)) {
        throw new InputError(
          `${argument}: expected an integer id, got ${JSON.stringify(id) ?? 'undefined'}`,
          {
            argument,
          },
        );
      }
      return addedVocabulary.idToToken(id, model) ?? null;
    };
    if (typeof ids === 'number') return one(ids, 'ids');
    if (!Array.isArray(ids))
      throw new InputError('ids: expected an id or an array of ids', { argument: 'ids' });
    const special = skipSpecialTokens ? new Set(this.allSpecialIds) : null;
    const result: (string | null)[] = [];
    ids.forEach((id, i) => {
      if (special?.has(id)) return;
      result.push(one(id, `ids[${i}]`));
    });
    return result;
  }

  /** True when calls fall back on tokenizer.json's truncation / padding blocks (`tokenizerJsonBlocks: 'apply'`). */
  get appliesTokenizerJsonBlocks(): boolean {
    return this.applyBlocks;
  }

  /** Special tokens added to one text (`isPair` false) or a pair. */
  numSpecialTokensToAdd(isPair = false): number {
    return this.postProcessor.addedTokens(isPair);
  }

  // ---- encoding ----

  private context(): EncodeContext {
    const padId = this.padTokenId;
    const pad: PadToken | null =
      padId === null
        ? null
        : { id: padId, token: this.specialTokens.pad as string, typeId: this.padTokenTypeId };
    return {
      encoder: this.pipeline,
      postProcessor: this.postProcessor,
      pad,
      defaults: {
        modelMaxLength: this.modelMaxLength,
        paddingSide: this.paddingSide,
        truncationSide: this.truncationSide,
        fileTruncation: this.applyBlocks ? this.tokenizerJsonBlocks.truncation : null,
        filePadding: this.applyBlocks ? this.tokenizerJsonBlocks.padding : null,
      },
      modelInputNames: this.modelInputNames,
      wordsInputError: this.wordsInputError,
      warn: (message, key) => this.warn(message, key),
    };
  }

  private warn(message: string, key?: string): void {
    if (key !== undefined) {
      if (this.warned.has(key)) return;
      this.warned.add(key);
    }
    this.onWarning(message);
  }

  /**
   * Encodes a batch of texts (or of words arrays with `isSplitIntoWords`), optionally with one pair per text (a
   * null entry leaves that row unpaired). Rows come back in input order; with `returnOverflowingTokens`, each
   * input's windows follow each other.
   */
  encodeBatch(
    texts: readonly TextInput[],
    pairs: readonly (TextInput | null)[] | null = null,
    options: EncodeOptions = {},
  ): BatchEncoding {
    return encodeBatch(this.context(), texts, pairs, options);
  }

  /**
   * Encodes one text (and its pair) into an Encoding; overflow windows, when requested, are in `overflowing`.
   */
  encode(text: TextInput, pair: TextInput | null = null, options: EncodeOptions = {}): Encoding {
    const batch = encodeBatch(
      this.context(),
      [text],
      pair === null || pair === undefined ? null : [pair],
      options,
    );
    const [first, ...windows] = batch.encodings;
    first.overflowing = windows;
    return first;
  }

  /**
   * transformers' `tokenizer(text, text_pair, **options)`: `text` is one input or an array of inputs (with
   * `isSplitIntoWords`, one input is an array of words and a batch is an array of such arrays). The result always
   * has one row per input (or window), even for a single text.
   */
  call(text: TextInput | readonly TextInput[], options?: EncodeOptions): BatchEncoding;
  call(
    text: TextInput | readonly TextInput[],
    textPair: TextInput | readonly TextInput[] | null,
    options?: EncodeOptions,
  ): BatchEncoding;
  call(
    text: TextInput | readonly TextInput[],
    pairOrOptions?: TextInput | readonly TextInput[] | EncodeOptions | null,
    maybeOptions?: EncodeOptions,
  ): BatchEncoding {
    const [pair, options] = isOptionsObject(pairOrOptions)
      ? [null, pairOrOptions]
      : [pairOrOptions ?? null, maybeOptions ?? {}];
    const words = options.isSplitIntoWords === true;
    const isBatch = (value: unknown) =>
      Array.isArray(value) && (!words || value.length === 0 || Array.isArray(value[0]));
    if (text === null || text === undefined) {
      throw new InputError(`text: expected a string or an array of strings, got ${text}`, {
        argument: 'text',
      });
    }
    if (isBatch(text)) {
      const texts = text as readonly TextInput[];
      if (pair !== null && !isBatch(pair)) {
        throw new InputError('textPair: a batch of texts needs a batch of pairs (one per text)', {
          argument: 'textPair',
        });
      }
      return this.encodeBatch(texts, pair as readonly TextInput[] | null, options);
    }
    if (pair !== null && isBatch(pair)) {
      throw new InputError('textPair: a single text needs a single pair, got a batch', {
        argument: 'textPair',
      });
    }
    return this.encodeBatch([text as TextInput], pair === null ? null : [pair as TextInput], options);
  }

  /** Token strings of `text` (and pair), without special tokens unless asked. */
  tokenize(text: string, pair: string | null = null, options: { addSpecialTokens?: boolean } = {}): string[] {
    return this.encode(text, pair, { addSpecialTokens: options.addSpecialTokens ?? false }).tokens;
  }

  /**
   * Pads already-encoded features (transformers' `tokenizer.pad`): `{input_ids: rows, attention_mask?: rows, …}`
   * or an array of per-row objects. Pads to the longest row by default; existing attention masks are kept.
   */
  pad(features: unknown, options: PadOptions = {}): PaddedFeatures {
    const padId = this.padTokenId;
    return padFeatures(
      {
        pad:
          padId === null
            ? null
            : { id: padId, token: this.specialTokens.pad as string, typeId: this.padTokenTypeId },
        modelMaxLength: this.modelMaxLength,
        paddingSide: this.paddingSide,
        returnsAttentionMask: this.modelInputNames.includes('attention_mask'),
        warn: (message) => this.warn(message),
      },
      features,
      options,
    );
  }

  // ---- decoding ----

  /** Text of `ids` through the tokenizer.json decoder, then transformers' clean-up (see DecodeOptions). */
  decode(ids: readonly number[], options: DecodeOptions = {}): string {
    if (!Array.isArray(ids)) throw new InputError('ids: expected an array of token ids', { argument: 'ids' });
    const { addedVocabulary, model } = this.pipeline;
    const skip = options.skipSpecialTokens ?? false;
    const tokens: string[] = [];
    ids.forEach((id, i) => {
      if (typeof id !== 'number' || !Number.isInteger(id)) {
        throw new InputError(`ids[${i}]: expected an integer id, got ${JSON.stringify(id) ?? 'undefined'}`, {
          argument: `ids[${i}]`,
        });
      }
      // Like the Rust core, ids outside the vocabulary are dropped.
      const token = addedVocabulary.idToToken(id, model);
      if (token === undefined || (skip && addedVocabulary.isSpecial(token))) return;
      tokens.push(token);
    });
    const text = this.decoder ? this.decoder.decode(tokens) : tokens.join(' ');
    return (options.cleanUpTokenizationSpaces ?? this.cleanUpTokenizationSpaces)
      ? cleanUpTokenization(text)
      : text;
  }

  batchDecode(rows: readonly (readonly number[])[], options: DecodeOptions = {}): string[] {
    if (!Array.isArray(rows))
      throw new InputError('ids: expected an array of rows of ids', { argument: 'ids' });
    return rows.map((row) => this.decode(row, options));
  }
}

export { TOO_LONG_WARNING_KEY };
