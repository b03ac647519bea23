/**
 * text-ranking (alias rerank): a cross-encoder scores (query, document) pairs, as sentence-transformers'
 * `CrossEncoder.predict` and `CrossEncoder.rank` do. Pairs are tokenized together, unstripped, truncated
 * longest_first at the model maximum (or only_second, so the query is never cut), and run through the
 * length-sorted scheduler like every other input. The logits go through the checkpoint's activation
 * (config.json `sentence_transformers.activation_fn`, the legacy `sbert_ce_default_activation_function`, else
 * Sigmoid for one label and Identity otherwise), then softmax when asked and there are several labels.
 */
import type { Side } from '../encoding/truncation.js';
import { InputError, TruncationError } from '../errors.js';
import type { PretrainedConfig } from '../models/config.js';
import { Pipeline, type PairTruncation } from './base.js';
import { toRow } from './model-batch.js';
import type { PipelineBatchOptions, TaskSteps } from './runner.js';
import { activationFunction, type ActivationFunction } from './sentence-transformers/activations.js';
import { softmax } from './math.js';
import { checkTruncationSide } from './long-inputs.js';
import { rankDocuments } from './rank-order.js';
import { checkTopK } from './text-classification.js';
import { describeValue } from './text-inputs.js';

/** A (query, document) pair: `[query, document]` as Python takes it, or `{ text, textPair }`. */
export type RankingPair = readonly [string, string] | { text: string; textPair: string };

/**
 * What `run` scores: a pair, or a single text scored alone through the classifier (`[CLS] text [SEP]`), as
 * text-embeddings-inference's /predict scores one text sent to a cross-encoder.
 */
export type RankingInput = RankingPair | string;

export type RankingTruncation = PairTruncation;

export interface TextRankingOptions {
  /**
   * The activation on the logits: a torch path (`torch.nn.Sigmoid`, `torch.nn.modules.linear.Identity`) or a
   * short name (`'sigmoid'`, `'identity'`, `'tanh'`, ...). Default: the checkpoint's, as sentence-transformers
   * reads it. Unlike Python, an override holds for this call only.
   */
  activation?: string;
  /** Softmax over the labels after the activation (models with several labels only, as Python). Default false. */
  applySoftmax?: boolean;
  /** 'longest_first' (default, as sentence-transformers) or 'only_second' (never cut the query). */
  truncation?: RankingTruncation;
  /** Tokens per pair, special tokens included. Default: the model maximum. */
  maxLength?: number;
  /**
   * 'right' cuts the ends of the texts, 'left' their beginnings (the Rust core's TruncationDirection::Left, TEI's
   * `truncation_direction: "Left"`; with longest_first both texts of a pair keep their ends). Default: the
   * tokenizer's `truncationSide` (tokenizer_config.json `truncation_side`, else 'right').
   */
  truncationSide?: Side;
}

export interface RankOptions extends TextRankingOptions, PipelineBatchOptions {
  /** Keep the best `topK` documents. Default: all. */
  topK?: number | null;
  /** Add each document's text to its result. Default false. */
  returnDocuments?: boolean;
}

/** One document's place in a ranking: its index in the input, its score and (returnDocuments) its text. */
export interface RankResult {
  index: number;
  score: number;
  text?: string;
}

/** A pair's score: a number for one-label models, one score per label otherwise. */
export type PairScore = number | number[];

/** The activation path a cross-encoder checkpoint asks for, as sentence-transformers 5 resolves it. */
export function crossEncoderActivationPath(config: PretrainedConfig): string {
  const st = config.raw.sentence_transformers as Record<string, unknown> | undefined;
  const configured =
    st !== null && typeof st === 'object' && typeof st.activation_fn === 'string'
      ? st.activation_fn
      : config.raw.sbert_ce_default_activation_function;
  // Python loads only torch classes without trust_remote_code; anything else falls back to the default.
  if (typeof configured === 'string' && configured.startsWith('torch.')) return configured;
  return config.numLabels === 1 ? 'torch.nn.modules.activation.Sigmoid' : 'torch.nn.modules.linear.Identity';
}

/**
 * Whether a sequence-classification checkpoint is a cross-encoder: one label (a relevance score, as
 * text-embeddings-inference takes it too), or a config.json that sentence-transformers' CrossEncoder wrote
 * (`sentence_transformers` block, or the legacy `sbert_ce_default_activation_function`).
 */
export function isCrossEncoder(config: PretrainedConfig): boolean {
  return (
    config.numLabels === 1 ||
    config.raw.sentence_transformers !== undefined ||
    config.raw.sbert_ce_default_activation_function !== undefined
  );
}

/** A pair as [query, document], or a single text as [text, null]. */
function readRankingInput(value: unknown, index: number): [string, string | null] {
  if (typeof value === 'string') return [value, null];
  if (Array.isArray(value)) {
    if (value.length === 2 && typeof value[0] === 'string' && typeof value[1] === 'string') {
      return [value[0], value[1]];
    }
  } else if (value !== null && typeof value === 'object') {
    const { text, textPair } = value as { text?: unknown; textPair?: unknown };
    if (typeof text === 'string' && typeof textPair === 'string') return [text, textPair];
  }
  throw new InputError(
    `inputs[${index}]: expected a [query, document] pair of strings, { text, textPair } or one text, got ${describeValue(value)}`,
    { argument: `inputs[${index}]` },
  );
}

export class TextRankingPipeline extends Pipeline<RankingInput, PairScore, TextRankingOptions> {
  /** The checkpoint's activation path (before any per-call override). */
  get activationPath(): string {
    return crossEncoderActivationPath(this.model.config);
  }

  protected steps(options: TextRankingOptions): TaskSteps<RankingInput, unknown, unknown, PairScore> {
    const { config } = this.model;
    const activate: ActivationFunction =
      options.activation === undefined
        ? activationFunction(this.activationPath, {
            file: config.file,
            field: 'sentence_transformers.activation_fn',
          })
        : activationFunction(options.activation, { argument: 'activation' });
    if (options.applySoftmax !== undefined && typeof options.applySoftmax !== 'boolean') {
      throw new InputError(
        `applySoftmax: expected true or false, got ${JSON.stringify(options.applySoftmax)}`,
        {
          argument: 'applySoftmax',
        },
      );
    }
    const { truncation, maxLength } = this.pairTruncation(options);
    const truncationSide = checkTruncationSide(options.truncationSide, this.tokenizer.truncationSide);
    const numLabels = config.numLabels;
    const softmaxAfter = options.applySoftmax === true && numLabels > 1;
    const { tokenizer } = this;
    const steps: TaskSteps<RankingInput, null, Float32Array, PairScore> = {
      prepare: (input, index) => {
        const [query, document] = readRankingInput(input, index);
        let encoding;
        try {
          // A single text has no query to spare: it is cut longest_first (from `truncationSide`), as TEI cuts it.
          encoding = tokenizer.encodeBatch([query], document === null ? null : [document], {
            truncation: document === null ? 'longest_first' : truncation,
            maxLength,
            truncationSide,
            verbose: false,
          }).encodings[0]!;
        } catch (error) {
          if (!(error instanceof TruncationError)) throw error;
          throw new InputError(
            `inputs[${index}]: the pair cannot be cut to ${maxLength} tokens with ${truncation} truncation ` +
              `(${truncation === 'only_second' ? 'the query alone is too long' : error.message})`,
            { argument: `inputs[${index}]`, cause: error },
          );
        }
        return { rows: [toRow(encoding)], state: null };
      },
      extract: (output, b) => {
        const logits = output.logits;
        if (!logits) throw new InputError('the model returned no logits', { argument: 'model' });
        return logits.data.slice(b * numLabels, (b + 1) * numLabels);
      },
      finish: (_state, [logits]) => {
        let scores = activate(Array.from(logits!));
        if (softmaxAfter) scores = softmax(scores);
        return numLabels === 1 ? scores[0]! : scores;
      },
    };
    return steps as TaskSteps<RankingInput, unknown, unknown, PairScore>;
  }

  /**
   * Scores pairs, as `CrossEncoder.predict`: one pair (`[query, document]`) gives its score, a list of pairs
   * their scores in order.
   */
  predict(
    pair: readonly [string, string],
    options?: TextRankingOptions & PipelineBatchOptions,
  ): Promise<PairScore>;
  predict(
    pairs: readonly RankingPair[],
    options?: TextRankingOptions & PipelineBatchOptions,
  ): Promise<PairScore[]>;
  predict(
    pairs: readonly [string, string] | readonly RankingPair[],
    options?: TextRankingOptions & PipelineBatchOptions,
  ): Promise<PairScore | PairScore[]> {
    if (Array.isArray(pairs) && typeof pairs[0] === 'string') {
      return this.run([pairs as unknown as RankingPair], options).then((scores) => scores[0]!);
    }
    return this.run(pairs as RankingPair[], options);
  }

  /**
   * Ranks documents for a query, as `CrossEncoder.rank`: every document scored against the query, sorted by
   * score (highest first; equal scores keep input order), cut to `topK`. One-label models only.
   */
  async rank(query: string, documents: readonly string[], options: RankOptions = {}): Promise<RankResult[]> {
    if (typeof query !== 'string') {
      throw new InputError(`query: expected a string, got ${describeValue(query)}`, { argument: 'query' });
    }
    if (!Array.isArray(documents)) {
      throw new InputError('documents: expected a list of strings', { argument: 'documents' });
    }
    const { topK, returnDocuments, ...callOptions } = options;
    checkTopK(topK);
    if (this.model.config.numLabels !== 1) {
      throw new InputError(
        `model: rank needs a cross-encoder with one label; this one has ${this.model.config.numLabels} (use predict)`,
        { argument: 'model' },
      );
    }
    documents.forEach((document, i) => {
      if (typeof document !== 'string') {
        throw new InputError(`documents[${i}]: expected a string, got ${describeValue(document)}`, {
          argument: `documents[${i}]`,
        });
      }
    });
    const scores = (await this.run(
      documents.map((document): RankingPair => [query, document]),
      callOptions,
    )) as number[];
    return rankDocuments(scores, documents, { topK, returnDocuments });
  }
}
