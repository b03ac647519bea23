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
 *
 * These count the work of Hugging Face's model, which computes every position of every layer. seqbatch's
 * sequence-classification graphs compute the last layer for the first token only, without key and value
 * projections (src/models/layers.ts, `fewQueryAttention`), so they execute less: see `firstTokenSequenceFlops`.
 */
import { relativeIndex } from '../../src/models/deberta-v2-attention.js';
import type { DistilBertShape } from './checkpoint.js';

export function sequenceFlops(shape: DistilBertShape, length: number, labels = 2): number {
  const d = shape.dim;
  const f = shape.hidden_dim;
  const L = length;
  const perLayer = 8 * L * d * d + 4 * L * L * d + 4 * L * d * f;
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

/** The ModernBERT config fields the FLOP count reads. */
export interface ModernBertShape {
  hidden_size: number;
  intermediate_size: number;
  num_hidden_layers: number;
}

/**
 * FLOPs of a ModernBERT sequence classifier on one sequence of length L (matrix products only, as above), hidden
 * d, GeGLU width f. Per layer: Wqkv 6·L·d² and Wo 2·L·d²; scores and context 4·L²·d (every layer computes the
 * full L×L scores: the sliding window is a mask, as in HF's eager attention); Wi (to 2f) 4·L·d·f and Wo 2·L·d·f.
 * Head: dense 2·d² and classifier 2·d·labels on the pooled vector. seqbatch computes all of it (no first-token
 * shortcut for rotary layers), so executed = computed.
 */
export function modernBertSequenceFlops(shape: ModernBertShape, length: number, labels = 2): number {
  const d = shape.hidden_size;
  const f = shape.intermediate_size;
  const L = length;
  const perLayer = 8 * L * d * d + 4 * L * L * d + 6 * L * d * f;
  return shape.num_hidden_layers * perLayer + 2 * d * d + 2 * d * labels;
}

/** The DeBERTa-v2 config fields the relative-position count reads. */
export interface DebertaShape {
  position_buckets: number;
  max_relative_positions: number;
  max_position_embeddings: number;
}

/**
 * Rows of the relative-position table a sequence of length L reaches: the distances −(L−1)…L−1 map to the
 * contiguous indices δ(−(L−1))…δ(L−1) (log-bucketed past `position_buckets / 2`), which seqbatch's graph slices
 * before its products (src/models/deberta-v2-attention.ts).
 */
export function debertaRelativeRows(shape: DebertaShape, length: number): number {
  const config = {
    positionBuckets: shape.position_buckets,
    maxRelativePositions:
      shape.max_relative_positions < 1 ? shape.max_position_embeddings : shape.max_relative_positions,
  };
  return relativeIndex(length - 1, config) - relativeIndex(-(length - 1), config) + 1;
}

/**
 * FLOPs of a DeBERTa-v2/v3 sequence classifier on one sequence of length L as seqbatch's graph runs it: BERT's
 * products (`sequenceFlops`; the ContextPooler + classifier head costs what DistilBERT's head does), plus per
 * layer c2p (queries against the projected relative rows) and p2c (keys against them), 2 · 2·L·R·d with R =
 * `debertaRelativeRows`. The projections of the relative table are constants ONNX Runtime folds at load. HF's
 * PyTorch model does more: it multiplies against all 2·position_buckets rows (512 for v3) and projects them on
 * every call; the count leaves that out, so "computed" here is the work of seqbatch's graph, which every peer runs.
 * Every layer computes every position (no first-token shortcut), so executed = computed.
 */
export function debertaSequenceFlops(
  shape: DistilBertShape & DebertaShape,
  length: number,
  labels = 2,
): number {
  const rows = debertaRelativeRows(shape, length);
  return sequenceFlops(shape, length, labels) + shape.n_layers * 4 * length * rows * shape.dim;
}
