/** The shapes the loader modules pass around: special tokens, settings, tokenizer.json blocks, parts, config context. */
import type { TensorField } from '../../encoding/batch-encoding.js';
import type { ResolvedPadding, ResolvedTruncation } from '../../encoding/call-options.js';
import type { Side } from '../../encoding/truncation.js';
import type { Decoder } from '../decoders/index.js';
import type { TokenizerPipeline } from '../pipeline.js';
import type { PostProcessor } from '../post-processors/index.js';
import type { JsonObject } from '../registry.js';

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
  /**
   * Why pre-tokenized (`isSplitIntoWords`) input is refused, in transformers' words, or null when it is accepted:
   * the byte-level fast classes (RobertaTokenizerFast, GPT2TokenizerFast, …) refuse it without `add_prefix_space`.
   */
  wordsInputError: string | null;
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
  /** transformers' warnings about the loading (e.g. a SentencePiece byte fallback the conversion drops). */
  warnings?: string[];
}

/** A file of the folder: its path (named in errors) and its text. */
export interface TextFile {
  file: string;
  text: string;
}

/** A binary file of the folder (a SentencePiece model): its path and its bytes. */
export interface BinaryFile {
  file: string;
  bytes: Uint8Array;
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
