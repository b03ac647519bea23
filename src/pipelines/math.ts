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
  const combiner = new VectorCombiner(how);
  for (const v of vectors) combiner.add(v);
  return Array.from(combiner.result());
}

/**
 * `combineVectors` one vector at a time, so the windows of a long input need not be kept: the same float64 sums
 * (or maxima) in the same order, divided once at the end, so the results are bit for bit those of
 * `combineVectors`. One vector alone comes back as it was given.
 */
export class VectorCombiner {
  private first: ArrayLike<number> | null = null;
  private combined: number[] | null = null;
  private count = 0;

  constructor(private readonly how: 'mean' | 'max') {}

  add(v: ArrayLike<number>): void {
    this.count++;
    if (this.first === null) {
      this.first = v;
      return;
    }
    const out = (this.combined ??= Array.from(this.first));
    if (v.length !== out.length) throw new RangeError('combineVectors: vectors differ in length');
    const max = this.how === 'max';
    for (let i = 0; i < out.length; i++) out[i] = max ? Math.max(out[i], v[i]) : out[i] + v[i];
  }

  /** The first vector itself when only one was added; the combination otherwise. */
  result(): ArrayLike<number> {
    if (this.first === null) throw new RangeError('combineVectors: no vectors');
    const out = this.combined;
    if (out === null) return this.first;
    return this.how === 'mean' ? out.map((v) => v / this.count) : out;
  }
}
