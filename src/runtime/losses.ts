/**
 * The losses transformers' task heads compute when labels are passed, reproduced in TypeScript on the logits ORT
 * returns (computed in float64, so they match PyTorch's float32 results well inside 1e-4):
 *   sequence classification: problem_type decides (inferred when absent: 1 label → regression, integer labels of
 *   shape [batch] → single-label, otherwise multi-label): MSE on squeezed logits / cross-entropy / BCE-with-logits;
 *   token classification and masked LM: cross-entropy over positions whose label is not -100;
 *   question answering: (CE(start) + CE(end)) / 2 with positions clamped to [0, seq_len] and seq_len ignored.
 */
import { InputError } from '../errors.js';
import type { ProblemType } from '../models/config.js';
import type { NumericTensor } from './inputs.js';

export const IGNORE_INDEX = -100;

/** Mean cross-entropy of rows of `logits` ([rows, classes] flat) against class labels, skipping `ignoreIndex`. */
export function crossEntropy(
  logits: ArrayLike<number>,
  classes: number,
  labels: ArrayLike<number>,
  ignoreIndex = IGNORE_INDEX,
  argument = 'labels',
): number {
  const rows = labels.length;
  if (logits.length !== rows * classes) {
    throw new InputError(`${argument}: ${rows} labels for ${logits.length / classes} rows of logits`, {
      argument,
    });
  }
  let total = 0;
  let counted = 0;
  for (let r = 0; r < rows; r++) {
    const label = labels[r]!;
    if (label === ignoreIndex) continue;
    if (!Number.isInteger(label) || label < 0 || label >= classes) {
      throw new InputError(
        `${argument}: class ${label} at index ${r} is out of range [0, ${classes}) (or ${ignoreIndex} to ignore)`,
        {
          argument,
        },
      );
    }
    const base = r * classes;
    let max = -Infinity;
    for (let c = 0; c < classes; c++) max = Math.max(max, logits[base + c]!);
    let sum = 0;
    for (let c = 0; c < classes; c++) sum += Math.exp(logits[base + c]! - max);
    total += max + Math.log(sum) - logits[base + label]!;
    counted++;
  }
  // PyTorch returns NaN (0/0) when every label is ignored; so do we.
  return total / counted;
}

export function meanSquaredError(
  predictions: ArrayLike<number>,
  targets: ArrayLike<number>,
  argument = 'labels',
): number {
  if (predictions.length !== targets.length) {
    throw new InputError(`${argument}: ${targets.length} values for ${predictions.length} predictions`, {
      argument,
    });
  }
  let total = 0;
  for (let i = 0; i < targets.length; i++) total += (predictions[i]! - targets[i]!) ** 2;
  return total / targets.length;
}

/** Mean binary cross-entropy on logits, in the numerically stable form PyTorch uses. */
export function bceWithLogits(
  logits: ArrayLike<number>,
  targets: ArrayLike<number>,
  argument = 'labels',
): number {
  if (logits.length !== targets.length) {
    throw new InputError(`${argument}: ${targets.length} targets for ${logits.length} logits`, { argument });
  }
  let total = 0;
  for (let i = 0; i < targets.length; i++) {
    const x = logits[i]!;
    total += Math.max(x, 0) - x * targets[i]! + Math.log1p(Math.exp(-Math.abs(x)));
  }
  return total / targets.length;
}

/** The problem type transformers picks when config.problem_type is absent. */
export function inferProblemType(numLabels: number, labels: NumericTensor): ProblemType {
  if (numLabels === 1) return 'regression';
  const integral = labels.data.every((v) => Number.isInteger(v));
  // Float multi-hot labels come as [batch, num_labels]; class ids as [batch].
  return integral && labels.dims.length <= 1 ? 'single_label_classification' : 'multi_label_classification';
}

export function sequenceClassificationLoss(
  logits: { data: ArrayLike<number>; dims: number[] },
  labels: NumericTensor,
  numLabels: number,
  problemType: ProblemType | undefined,
): number {
  const type = problemType ?? inferProblemType(numLabels, labels);
  const batch = logits.dims[0]!;
  switch (type) {
    case 'regression':
      // num_labels 1: MSE(logits.squeeze(), labels.squeeze()); otherwise element-wise over [batch, num_labels].
      if (labels.data.length !== logits.data.length) {
        throw new InputError(
          `labels: regression needs ${logits.data.length} values (shape [${logits.dims.join(', ')}]), got ${labels.data.length}`,
          { argument: 'labels' },
        );
      }
      return meanSquaredError(logits.data, labels.data);
    case 'single_label_classification':
      if (labels.data.length !== batch) {
        throw new InputError(`labels: expected ${batch} class ids (one per row), got ${labels.data.length}`, {
          argument: 'labels',
        });
      }
      return crossEntropy(logits.data, numLabels, labels.data);
    case 'multi_label_classification':
      if (labels.data.length !== logits.data.length) {
        throw new InputError(
          `labels: multi-label classification needs a [${batch}, ${numLabels}] multi-hot array, got ${labels.data.length} values`,
          { argument: 'labels' },
        );
      }
      return bceWithLogits(logits.data, labels.data);
  }
}

/** Token classification and masked LM: CE over every position, -100 ignored. */
export function tokenLoss(
  logits: { data: ArrayLike<number>; dims: number[] },
  labels: NumericTensor,
): number {
  const classes = logits.dims[logits.dims.length - 1]!;
  const positions = logits.data.length / classes;
  if (labels.data.length !== positions) {
    throw new InputError(
      `labels: expected one label per token ([${logits.dims.slice(0, -1).join(', ')}]), got shape [${labels.dims.join(', ')}]`,
      { argument: 'labels' },
    );
  }
  return crossEntropy(logits.data, classes, labels.data);
}

/** (CE(start) + CE(end)) / 2, positions clamped to [0, seq_len] and seq_len ignored, as in HF's QA heads. */
export function questionAnsweringLoss(
  startLogits: { data: ArrayLike<number>; dims: number[] },
  endLogits: { data: ArrayLike<number>; dims: number[] },
  startPositions: NumericTensor,
  endPositions: NumericTensor,
): number {
  const [batch, seq] = startLogits.dims as [number, number];
  const clamp = (positions: NumericTensor, argument: string): Float64Array => {
    if (positions.data.length !== batch) {
      throw new InputError(
        `${argument}: expected ${batch} positions (one per row), got ${positions.data.length}`,
        {
          argument,
        },
      );
    }
    return positions.data.map((p) => {
      if (!Number.isInteger(p))
        throw new InputError(`${argument}: position ${p} is not an integer`, { argument });
      return Math.min(Math.max(p, 0), seq);
    });
  };
  const start = crossEntropy(
    startLogits.data,
    seq,
    clamp(startPositions, 'start_positions'),
    seq,
    'start_positions',
  );
  const end = crossEntropy(endLogits.data, seq, clamp(endPositions, 'end_positions'), seq, 'end_positions');
  return (start + end) / 2;
}
