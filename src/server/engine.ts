/**
 * What the HTTP server needs from a model. The real implementation wraps seqbatch's pipelines; tests use a small
 * deterministic fake. Batching, queueing and HTTP live in the server, so an Engine only ever sees whole batches.
 */

/**
 * What an engine can serve. `rerank` scores (query, document) pairs with a cross-encoder, as sentence-transformers'
 * `CrossEncoder.predict` does (/rerank, and /predict on such a model).
 */
export type EngineTask = 'classify' | 'embed' | 'rerank' | 'tokenize';

/**
 * What the model is, in text-embeddings-inference's terms (GET /info's `model_type`): a bi-encoder embeds, a
 * cross-encoder with one label reranks, a sequence classifier (or a cross-encoder with several labels) classifies.
 */
export type ModelKind = 'embedding' | 'reranker' | 'classifier';

export interface EngineInfo {
  /** Reported as `model` by the OpenAI route and in /health. */
  modelId: string;
  /** Longest sequence the model accepts, in tokens (special tokens included). */
  maxInputLength: number;
  /** Tasks this model can serve; routes for the others answer 424. */
  tasks: readonly EngineTask[];
  /** Embedding width, when known (reported by /health). */
  embeddingDimension?: number;
  /** Classification labels, when known (in id order). */
  labels?: readonly string[];
  /** What the model is (default: from `tasks`, see `modelKind` in model-kind.ts). */
  kind?: ModelKind;
  /** The pooling of the embeddings, as /info reports it (e.g. `mean`, `cls+max`). */
  pooling?: string;
  /** Prompt names and texts the embedder knows (sentence-transformers `prompts`), for `prompt_name`. */
  prompts?: Readonly<Record<string, string>>;
  /** The dtype the matrix products run in, as /info's `model_dtype` names it: `float32` (default) or `int8`. */
  modelDtype?: 'float32' | 'int8';
  /** The similarity function of the embeddings (sentence-transformers `similarity_fn_name`), default cosine. */
  similarityFnName?: 'cosine' | 'dot' | 'euclidean' | 'manhattan';
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

/**
 * Which end `truncate` cuts (TEI's `truncation_direction`): 'right' keeps the beginning, 'left' the end (both texts
 * of a pair lose their beginnings). Unset: the tokenizer's `truncation_side`, 'right' for nearly every model.
 */
export type TruncationSide = 'left' | 'right';

export interface ClassifyOptions {
  /** Cut inputs longer than maxInputLength instead of refusing them. */
  truncate: boolean;
  truncationSide?: TruncationSide;
  /** Return raw logits instead of probabilities. */
  rawScores: boolean;
}

export interface Prediction {
  label: string;
  score: number;
}

export interface EmbedOptions {
  /**
   * true: L2-normalise each final vector; false: no normalisation at all (not even a sentence-transformers
   * Normalize module); unset: the model's own (its Normalize module, if any), as `SentenceTransformer.encode`.
   */
  normalize?: boolean;
  truncate: boolean;
  truncationSide?: TruncationSide;
  /** One of `info.prompts` (default: the model's default prompt, if any). */
  promptName?: string;
  /** Keep the first N dimensions (Matryoshka), before `normalize`. */
  dimensions?: number;
}

/** One input of an embed batch: a text, or token ids run as they are (TEI's `inputs: [101, 7592, 102]`). */
export interface EmbedItem {
  text: string;
  ids?: readonly number[];
  encoded?: unknown;
}

export interface ScoreOptions {
  truncate: boolean;
  truncationSide?: TruncationSide;
  /** The logits, without the checkpoint's activation. */
  rawScores: boolean;
}

export interface DecodeOptions {
  skipSpecialTokens: boolean;
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
  /**
   * Optional: tokenises a text to embed as the embedder will see it with these options (a sentence-transformers
   * prompt, stripping, lower-casing), for the token count and the 413 check; `prepareText` / `countTokens` are used
   * when absent. Throws seqbatch's InputError for options the model cannot honour (an unknown prompt name).
   */
  prepareEmbed?(text: string, options: EmbedOptions): PreparedText;
  /**
   * Optional: the token count of ids embedded as they are (TEI token-id inputs); refuses ids outside the vocabulary.
   * Ids beyond the model's limit are cut from `truncationSide` (default: the tokenizer's `truncation_side`, as for texts).
   */
  prepareIds?(ids: readonly number[], options?: { truncationSide?: TruncationSide }): PreparedText;
  /** One vector per text, in order; `encoded[i]`, when given, is `prepareText`'s result for `texts[i]`. */
  embed(texts: string[], options: EmbedOptions, encoded?: readonly unknown[]): Promise<ArrayLike<number>[]>;
  tokenize(texts: string[], options: TokenizeOptions): Promise<TokenizedText[]>;
  /**
   * Optional (task `rerank`): one score per label for each (text, textPair) item, through the checkpoint's
   * activation unless `rawScores`, as `CrossEncoder.predict` gives them. An item without `textPair` is one text
   * scored alone through the classifier, as TEI's /predict scores a single text sent to a cross-encoder.
   */
  score?(items: TextItem[], options: ScoreOptions): Promise<number[][]>;
  /** Optional: the text of each row of token ids (/decode). */
  decode?(ids: readonly (readonly number[])[], options: DecodeOptions): string[];
  /** False while the model is still loading; /ready reports it. Default: ready. */
  isReady?(): boolean;
  /** Called once by the server's close(), after the last batch finished. */
  close?(): Promise<void>;
}
