/**
 * Analytic FLOP count of a DistilBERT/BERT encoder forward pass, counting the matrix products only (one
 * multiply-add = 2 FLOPs); LayerNorm, softmax, GELU, embeddings and biases add well under 1% at these sizes.
 * Per layer, for one sequence of length L, hidden d, FFN width f:
 *   Q, K, V and output projections   4 · 2·L·d²  = 8·L·d²
 *   scores QKᵀ and context P·V       2 · 2·L²·d  = 4·L²·d   (summed over heads: h · L² · d/h)
 *   FFN in and out                   2 · 2·L·d·f = 4·L·d·f
 * plus the classification head on the first token: pre_classifier 2·d² and classifier 2·d·labels.
 * DeBERTa's disentangled attention adds, per layer, c2p (queries against the projected relative embeddings) and p2c
 * (keys against them): 2 · 2·L·W·d, where W is the number of relative rows the sequence reaches
 * (`relativeRows`). The projections of the relative tables are weights only (ONNX Runtime folds them at load).
 * "Computed" FLOPs use each batch's padded length for every row (what the CPU does); "useful" FLOPs use each
 * sequence's own length (what an ideal batcher with zero padding would do).
 *
 * These count the work of Hugging Face's model, which computes every position of every layer. seqbatch's
 * sequence-classification graphs compute the last layer for the first token only, without key and value
 * projections (src/models/layers.ts, `fewQueryAttention`), so they execute less: see `firstTokenSequenceFlops`.
 */
import type { DistilBertShape } from './checkpoint.js';

/**
 * Relative-embedding rows a sequence of length L reaches in DeBERTa's attention: 2L − 1 distances, at most the
 * 2·span rows of the table (log buckets merge far distances, so this overcounts sequences longer than span / 2).
 */
export function relativeRows(shape: DistilBertShape, length: number): number {
  return shape.relative_span ? Math.min(2 * length - 1, 2 * shape.relative_span) : 0;
}

export function sequenceFlops(shape: DistilBertShape, length: number, labels = 2): number {
  const d = shape.dim;
  const f = shape.hidden_dim;
  const L = length;
  const perLayer = 8 * L * d * d + 4 * L * L * d + 4 * L * d * f + 4 * L * relativeRows(shape, L) * d;
  return shape.n_layers * perLayer + 2 * d * d + 2 * d * labels;
}

/**
 * FLOPs seqbatch's first-token graph executes for one sequence: every layer but the last as above; the last layer
 * for the first token only, with h heads:
 *   query and output projections of one token   2 · 2·d²
 *   u_h = W_K,hᵀ q_h and (pᵀX)·W_V,hᵀ            2 · 2·d²   (summed over heads: h · d · d/h)
 *   scores X·u_h and pᵀX over L positions       2 · 2·L·d·h
 *   FFN of one token                            2 · 2·d·f
 */
export function firstTokenSequenceFlops(shape: DistilBertShape, length: number, labels = 2): number {
  const d = shape.dim;
  const f = shape.hidden_dim;
  const L = length;
  if (shape.relative_span) return sequenceFlops(shape, length, labels); // DeBERTa computes every position
  const lastLayer = 8 * d * d + 4 * L * d * shape.n_heads + 4 * d * f;
  const full = sequenceFlops(shape, length, labels);
  const fullLayer = 8 * L * d * d + 4 * L * L * d + 4 * L * d * f;
  return full - fullLayer + lastLayer;
}

/** Which computation a peer's graph performs: HF's full one, or seqbatch's first-token last layer. */
export type GraphWork = 'full' | 'first-token';

/** FLOPs of one batch: every row costs its padded length. */
export function batchFlops(
  shape: DistilBertShape,
  rows: number,
  paddedLength: number,
  work: GraphWork = 'full',
): number {
  const perRow =
    work === 'full' ? sequenceFlops(shape, paddedLength) : firstTokenSequenceFlops(shape, paddedLength);
  return rows * perRow;
}

export function usefulFlops(shape: DistilBertShape, lengths: readonly number[]): number {
  let total = 0;
  for (const length of lengths) total += sequenceFlops(shape, length);
  return total;
}
