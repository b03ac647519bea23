/**
 * text-classification (sentiment-analysis): transformers' TextClassificationPipeline. Logits of each input
 * (or the mean / max of its windows' logits, with `longInputs: 'sliding-window'`) go through softmax, sigmoid
 * or nothing, and come back as `{ label, score }` (default) or the `topK` best labels; `returnLogits` adds the
 * logits they came from.
 */
import { InputError } from '../errors.js';
import type { PretrainedConfig } from '../models/config.js';
import { Pipeline } from './base.js';
import { encodeInput, resolveLongInputs, type LongInputOptions } from './long-inputs.js';
import { argmax, sigmoid, softmax, VectorCombiner } from './math.js';
import type { TaskSteps } from './runner.js';
import type { TextOrEncoding } from './text-inputs.js';

export type ClassificationFunction = 'softmax' | 'sigmoid' | 'none';

export interface LabelScore {
  label: string;
  score: number;
}

export interface TextClassificationOptions extends LongInputOptions {
  /** Default as Python: sigmoid for multi_label_classification or one label, else softmax. */
  functionToApply?: ClassificationFunction;
  /**
   * Unset (default): one `{ label, score }` per input. A number: the best `topK` labels, sorted. null: every
   * label, sorted by score.
   */
  topK?: number | null;
  /**
   * Also return each input's raw logits (label-id order; with sliding windows, the combined logits the scores come
   * from): `{ label, score, logits }` without `topK`, `{ labels, logits }` with it.
   */
  returnLogits?: boolean;
}

/** A `returnLogits` result without `topK`: the best label and the logits it was chosen from. */
export interface LabelScoreWithLogits extends LabelScore {
  logits: number[];
}

/** A `returnLogits` result with `topK`: the sorted labels and the logits they were scored from. */
export interface LabelScoresWithLogits {
  labels: LabelScore[];
  logits: number[];
}

export type TextClassificationResult =
  LabelScore | LabelScore[] | LabelScoreWithLogits | LabelScoresWithLogits;

/** Python's choice of function when none is given. */
export function defaultClassificationFunction(config: PretrainedConfig): ClassificationFunction {
  if (config.problemType === 'multi_label_classification' || config.numLabels === 1) return 'sigmoid';
  return 'softmax';
}

export function applyClassificationFunction(logits: ArrayLike<number>, fn: ClassificationFunction): number[] {
  if (fn === 'softmax') return softmax(logits);
  if (fn === 'sigmoid') return sigmoid(logits);
  return Array.from(logits);
}

/**
 * Scores → Python's output: the best label (topK undefined), or labels sorted by score (stable) cut to `topK`
 * (null: all).
 */
export function labelScores(
  scores: readonly number[],
  id2label: Readonly<Record<number, string>>,
  topK: number | null | undefined,
): LabelScore | LabelScore[] {
  const labelOf = (i: number) => id2label[i] ?? `LABEL_${i}`;
  if (topK === undefined) {
    const best = argmax(scores);
    return { label: labelOf(best), score: scores[best] };
  }
  const all = scores.map((score, i) => ({ label: labelOf(i), score }));
  all.sort((a, b) => b.score - a.score);
  return topK === null ? all : all.slice(0, topK);
}

export function checkTopK(topK: unknown, argument = 'topK'): void {
  if (topK === undefined || topK === null) return;
  if (typeof topK !== 'number' || !Number.isSafeInteger(topK) || topK < 1) {
    throw new InputError(`${argument}: expected a positive integer or null, got ${JSON.stringify(topK)}`, {
      argument,
    });
  }
}

export class TextClassificationPipeline extends Pipeline<
  TextOrEncoding,
  TextClassificationResult,
  TextClassificationOptions
> {
  protected steps(
    options: TextClassificationOptions,
  ): TaskSteps<TextOrEncoding, unknown, unknown, TextClassificationResult> {
    const fn = options.functionToApply ?? defaultClassificationFunction(this.model.config);
    if (!['softmax', 'sigmoid', 'none'].includes(fn)) {
      throw new InputError(
        `functionToApply: expected 'softmax', 'sigmoid' or 'none', got ${JSON.stringify(fn)}`,
        {
          argument: 'functionToApply',
        },
      );
    }
    checkTopK(options.topK);
    if (options.returnLogits !== undefined && typeof options.returnLogits !== 'boolean') {
      throw new InputError(
        `returnLogits: expected true or false, got ${JSON.stringify(options.returnLogits)}`,
        {
          argument: 'returnLogits',
        },
      );
    }
    const limits = resolveLongInputs(
      options,
      this.modelMaxLength,
      this.tokenizer.numSpecialTokensToAdd(false),
      this.tokenizer.truncationSide,
    );
    const { tokenizer, model } = this;
    const numLabels = model.config.numLabels;
    // The windows' logits are combined as they arrive (a long text may have thousands of windows).
    const steps: TaskSteps<TextOrEncoding, VectorCombiner, Float32Array, TextClassificationResult> = {
      prepare: (input, index) => {
        return {
          rows: encodeInput(tokenizer, input, limits, index),
          state: new VectorCombiner(limits.aggregation),
        };
      },
      extract: (output, b) => {
        const logits = output.logits;
        if (!logits) throw new InputError('the model returned no logits', { argument: 'model' });
        return logits.data.slice(b * numLabels, (b + 1) * numLabels);
      },
      absorb: (combiner, logits) => combiner.add(logits),
      finish: (combiner) => {
        const logits = combiner.result();
        const result = labelScores(
          applyClassificationFunction(logits, fn),
          model.config.id2label,
          options.topK,
        );
        if (!options.returnLogits) return result;
        return Array.isArray(result)
          ? { labels: result, logits: Array.from(logits) }
          : { ...result, logits: Array.from(logits) };
      },
    };
    return steps as TaskSteps<TextOrEncoding, unknown, unknown, TextClassificationResult>;
  }
}
