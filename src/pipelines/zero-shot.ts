/**
 * zero-shot-classification: transformers' ZeroShotClassificationPipeline. Each text becomes one NLI
 * premise/hypothesis pair per candidate label (hypothesis = the template with the label), all pairs of all texts
 * share the batches, and the entailment logits become label scores: a softmax across labels, or with
 * `multiLabel` (or a single label) a softmax of entailment against contradiction per label.
 */
import { InputError, TruncationError } from '../errors.js';
import type { Encoding } from '../encoding/encoding.js';
import { Pipeline } from './base.js';
import { toRow } from './model-batch.js';
import type { TaskSteps } from './runner.js';
import { readText } from './text-inputs.js';

export interface ZeroShotOptions {
  /** The labels to score; a string is split on commas. Required. */
  candidateLabels?: string | string[];
  /** Default "This example is {}.". */
  hypothesisTemplate?: string;
  /** Score each label on its own (entailment vs contradiction). Default false. */
  multiLabel?: boolean;
}

export interface ZeroShotResult {
  sequence: string;
  labels: string[];
  scores: number[];
}

/** Python's entailment id: the first label whose name starts with "entail" (case-insensitive), else -1 (the last). */
export function entailmentId(label2id: Readonly<Record<string, number>>): number {
  for (const [label, id] of Object.entries(label2id)) if (label.toLowerCase().startsWith('entail')) return id;
  return -1;
}

/**
 * Label scores from the [labels × classes] NLI logits of one text, sorted best first (Python's postprocess).
 * `entailment` may be -1 (the last class), as in Python.
 */
export function zeroShotScores(
  logits: readonly ArrayLike<number>[],
  labels: readonly string[],
  entailment: number,
  multiLabel: boolean,
): { labels: string[]; scores: number[] } {
  const at = (row: ArrayLike<number>, i: number) => row[i < 0 ? row.length + i : i];
  let scores: number[];
  if (multiLabel || labels.length === 1) {
    const contradiction = entailment === 0 ? -1 : 0;
    scores = logits.map((row) => {
      const c = Math.exp(at(row, contradiction));
      const e = Math.exp(at(row, entailment));
      return e / (c + e);
    });
  } else {
    const exps = logits.map((row) => Math.exp(at(row, entailment)));
    const sum = exps.reduce((a, b) => a + b, 0);
    scores = exps.map((e) => e / sum);
  }
  // numpy argsort reversed: descending; among equal scores the later label comes first.
  const order = scores
    .map((_, i) => i)
    .sort((a, b) => scores[a] - scores[b] || a - b)
    .reverse();
  return { labels: order.map((i) => labels[i]), scores: order.map((i) => scores[i]) };
}

function readLabels(value: unknown): string[] {
  const labels =
    typeof value === 'string'
      ? value
          .split(',')
          .map((l) => l.trim())
          .filter((l) => l.length > 0)
      : value;
  if (!Array.isArray(labels) || labels.length === 0 || !labels.every((l) => typeof l === 'string')) {
    throw new InputError(
      'candidateLabels: you must include at least one label (a string or an array of strings)',
      {
        argument: 'candidateLabels',
      },
    );
  }
  return labels as string[];
}

export class ZeroShotClassificationPipeline extends Pipeline<string, ZeroShotResult, ZeroShotOptions> {
  protected steps(options: ZeroShotOptions): TaskSteps<string, unknown, unknown, ZeroShotResult> {
    const labels = readLabels(options.candidateLabels);
    const template = options.hypothesisTemplate ?? 'This example is {}.';
    if (typeof template !== 'string' || !template.includes('{}')) {
      throw new InputError(
        `hypothesisTemplate: ${JSON.stringify(template)} cannot be formatted with the labels; it needs a {} where the label goes`,
        { argument: 'hypothesisTemplate' },
      );
    }
    const multiLabel = options.multiLabel ?? false;
    const { tokenizer, model } = this;
    const entailment = entailmentId(model.config.label2id);
    const numLabels = model.config.numLabels;
    const hypotheses = labels.map((label) => template.replace('{}', label));

    const encodePair = (text: string, hypothesis: string): Encoding => {
      try {
        return tokenizer.encodeBatch([text], [hypothesis], { truncation: 'only_first', verbose: false })
          .encodings[0];
      } catch (error) {
        // Python retries without truncation when the hypothesis alone is too long for only_first.
        if (!(error instanceof TruncationError)) throw error;
        return tokenizer.encodeBatch([text], [hypothesis], { verbose: false }).encodings[0];
      }
    };

    const steps: TaskSteps<string, string, Float32Array, ZeroShotResult> = {
      prepare: (input, index) => {
        const text = readText(input, index);
        return { rows: hypotheses.map((h) => toRow(encodePair(text, h))), state: text };
      },
      extract: (output, b) => {
        if (!output.logits) throw new InputError('the model returned no logits', { argument: 'model' });
        return output.logits.data.slice(b * numLabels, (b + 1) * numLabels);
      },
      finish: (text, logits) => ({
        sequence: text,
        ...zeroShotScores(logits, labels, entailment, multiLabel),
      }),
    };
    return steps as TaskSteps<string, unknown, unknown, ZeroShotResult>;
  }
}
