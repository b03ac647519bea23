/**
 * What the HTTP server needs from a model. The real implementation wraps seqbatch's pipelines; tests use a small
 * deterministic fake. Batching, queueing and HTTP live in the server, so an Engine only ever sees whole batches.
 */

export type EngineTask = 'classify' | 'embed' | 'tokenize';

export interface EngineInfo {
  /** Reported as `model` by the OpenAI route and in /health. */
  modelId: string;
  /** Longest sequence the model accepts, in tokens (special tokens included). */
  maxInputLength: number;
  /** Tasks this model can serve; routes for the others answer 424. */
  tasks: readonly EngineTask[];
  /** Embedding width, when known (reported by /health). */
  embeddingDimension?: number;
  /** Classification labels, when known. */
  labels?: readonly string[];
  /**
   * Copies of the model that run batches side by side (replicas.ts). Default 1. The server's default concurrency,
   * so that each replica has a batch to run.
   */
  replicas?: number;
}

/** One text to classify, optionally with a second text (sentence-pair classification). */
export interface TextItem {
  text: string;
  textPair?: string;
  /** The engine's `prepareText` result for this text, when the engine has that method (see there). */
  encoded?: unknown;
}

/** What `Engine.prepareText` returns. */
export interface PreparedText {
  /** As `countTokens`. */
  tokens: number;
  /** The engine's own tokenisation of the text; the server only hands it back. */
  encoded: unknown;
}

export interface ClassifyOptions {
  /** Cut inputs longer than maxInputLength instead of refusing them. */
  truncate: boolean;
  /** Return raw logits instead of probabilities. */
  rawScores: boolean;
}

export interface Prediction {
  label: string;
  score: number;
}

export interface EmbedOptions {
  /** L2-normalise each embedding. */
  normalize: boolean;
  truncate: boolean;
}

export interface TokenizeOptions {
  addSpecialTokens: boolean;
}

/** The token fields the /tokenize route reports; seqbatch's Encoding has all of them. */
export interface TokenizedText {
  ids: ArrayLike<number>;
  tokens: readonly string[];
  /** [start, end) in UTF-16 code units of the input text. */
  offsets: readonly (readonly [number, number])[];
  /** 1 for special tokens ([CLS], [SEP], ...). */
  specialTokensMask: ArrayLike<number>;
}

export interface Engine {
  readonly info: EngineInfo;
  /** Tokens the model would see for this input, special tokens included, before truncation. Must be cheap. */
  countTokens(text: string, textPair?: string): number;
  /**
   * Optional, used instead of `countTokens` when present: tokenises an input once for both the server's checks and
   * its batch. The server hands `encoded` back with the batch (`TextItem.encoded`, `embed`'s `encoded`), so an
   * engine that counts tokens by tokenising need not tokenise the same text again.
   */
  prepareText?(text: string, textPair?: string): PreparedText;
  /** One prediction list per item (every label, in any order: the server sorts and cuts to top_k). */
  classify(items: TextItem[], options: ClassifyOptions): Promise<Prediction[][]>;
  /** One vector per text, in order; `encoded[i]`, when given, is `prepareText`'s result for `texts[i]`. */
  embed(texts: string[], options: EmbedOptions, encoded?: readonly unknown[]): Promise<ArrayLike<number>[]>;
  tokenize(texts: string[], options: TokenizeOptions): Promise<TokenizedText[]>;
  /** False while the model is still loading; /ready reports it. Default: ready. */
  isReady?(): boolean;
  /** Called once by the server's close(), after the last batch finished. */
  close?(): Promise<void>;
}
