/**
 * Analytic FLOP count of a DistilBERT/BERT encoder forward pass, counting the matrix products only (one
 * multiply-add = 2 FLOPs); LayerNorm, softmax, GELU, embeddings and biases add well under 1% at these sizes.
 * Per layer, for one sequence of length L, hidden d, FFN width f:
 *   Q, K, V and output projections   4 · 2·L·d²  = 8·L·d²
 *   scores QKᵀ and context P·V       2 · 2·L²·d  = 4·L²·d   (summed over heads: h · L² · d/h)
 *   FFN in and out                   2 · 2·L·d·f = 4·L·d·f
 * plus the classification head on the first token: pre_classifier 2·d² and classifier 2·d·labels.
 * "Computed" FLOPs use each batch's padded length for every row (what the CPU does); "useful" FLOPs use each
 * sequence's own length (what an ideal batcher with zero padding would do).
 */
import type { DistilBertShape } from './checkpoint.js';

export function sequenceFlops(shape: DistilBertShape, length: number, labels = 2): number {
  const d = shape.dim;
  const f = shape.hidden_dim;
  const L = length;
  const perLayer = 8 * L * d * d + 4 * L * L * d + 4 * L * d * f;
  return shape.n_layers * perLayer + 2 * d * d + 2 * d * labels;
}

/** FLOPs of one batch: every row costs its padded length. */
export function batchFlops(shape: DistilBertShape, rows: number, paddedLength: number): number {
  return rows * sequenceFlops(shape, paddedLength);
}

export function usefulFlops(shape: DistilBertShape, lengths: readonly number[]): number {
  let total = 0;
  for (const length of lengths) total += sequenceFlops(shape, length);
  return total;
}
