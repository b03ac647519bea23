/**
 * The small numeric helpers the pipelines' post-processing shares. They compute in float64 on float32 model
 * outputs; transformers computes the same formulas in numpy float32, so results agree to ~1e-7.
 */

/** Softmax with the maximum subtracted first (numerically stable, as transformers' pipelines do). */
export function softmax(values: ArrayLike<number>): number[] {
  let max = -Infinity;
  for (let i = 0; i < values.length; i++) if (values[i] > max) max = values[i];
  const out = new Array<number>(values.length);
  let sum = 0;
  for (let i = 0; i < values.length; i++) {
    out[i] = Math.exp(values[i] - max);
    sum += out[i];
  }
  for (let i = 0; i < out.length; i++) out[i] /= sum;
  return out;
}

export function sigmoid(values: ArrayLike<number>): number[] {
  return Array.from(values, (v) => 1 / (1 + Math.exp(-v)));
}

/** Index of the largest value; the first one on ties (numpy's argmax). */
export function argmax(values: ArrayLike<number>): number {
  let best = 0;
  for (let i = 1; i < values.length; i++) if (values[i] > values[best]) best = i;
  return best;
}

/** x / max(‖x‖₂, 1e-12): torch.nn.functional.normalize as sentence-transformers applies it. */
export function l2Normalize(values: ArrayLike<number>): number[] {
  let norm = 0;
  for (let i = 0; i < values.length; i++) norm += values[i] * values[i];
  const denominator = Math.max(Math.sqrt(norm), 1e-12);
  return Array.from(values, (v) => v / denominator);
}

/** Element-wise mean or max of equally long vectors (windows of one long input). */
export function combineVectors(vectors: readonly ArrayLike<number>[], how: 'mean' | 'max'): number[] {
  if (vectors.length === 0) throw new RangeError('combineVectors: no vectors');
  const size = vectors[0].length;
  const out = Array.from(vectors[0]);
  for (let k = 1; k < vectors.length; k++) {
    const v = vectors[k];
    if (v.length !== size) throw new RangeError('combineVectors: vectors differ in length');
    for (let i = 0; i < size; i++) out[i] = how === 'max' ? Math.max(out[i], v[i]) : out[i] + v[i];
  }
  if (how === 'mean') for (let i = 0; i < size; i++) out[i] /= vectors.length;
  return out;
}
