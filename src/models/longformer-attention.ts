/**
 * Longformer's self-attention (modeling_longformer.py, LongformerSelfAttention) written as a dense computation.
 *
 * HF computes a sliding-window band with chunked matmuls and gathers global tokens into extra columns. The numbers
 * are those of one softmax per query row over "the keys this query may see", so this file computes the full
 * [seq, seq] score matrix and excludes everything else with finfo(float32).min, whose exp is exactly 0 next to
 * any real score. Which keys a row sees (merged mask: 0 = masked, 1 = local, 2 = global):
 * - a local or masked query row i: local keys j with |i − j| ≤ window/2, plus every global key;
 * - a global query row: every unmasked key, through the separate `query_global`/`key_global`/`value_global`
 *   projections (its local-path output is discarded, as in HF).
 * Masked query rows get probability 0 everywhere (HF's `masked_fill` after the softmax), so their context is 0.
 *
 * The per-layer outputs are then reassembled in HF's layout: `attentions` [batch, heads, seq, K + window + 1] with
 * the K global-key columns first (K = most global tokens in any row of the batch; unused columns are 0) and the band
 * j = i − window/2 … i + window/2 after (0 for global, masked or out-of-range keys and for global or masked query
 * rows), and `global_attentions` [batch, heads, seq, K] (the probabilities of the global queries; an unused slot
 * k attends uniformly to every position, because HF fills its whole row with finfo.min before the softmax).
 *
 * The cost is O(seq²) memory per head rather than HF's O(seq · window): exact and simple, fine for the sequence
 * lengths a CPU runs, but not the 4096-token regime Longformer was designed for.
 */
import { Value } from '../onnx/graph-builder.js';
import { TensorDataType } from '../onnx/proto.js';
import { FLOAT32_MIN, linear, type ModelGraph } from './layers.js';

/**
 * Where the global tokens of a batch are, computed once from the merged mask and shared by every layer.
 * Slot k of row b is that row's k-th global token (in position order), as HF's `_get_global_attn_indices`.
 */
export interface GlobalLayout {
  /** bool [batch, seq]: merged mask > 1. */
  isGlobal: Value;
  /** bool [batch, seq]: merged mask == 1, the keys a sliding window may attend to. */
  isLocal: Value;
  /** bool [batch, seq]: merged mask < 1 (padding, including the model's own padding to the window). */
  isMasked: Value;
  /** float [batch, K, seq]: one-hot, slot k → its token's position (all zeros for an unused slot). */
  slotToPosition: Value;
  /** float [batch, seq, K]: the transpose, position → slot. */
  positionToSlot: Value;
  /** bool [batch, K]: whether slot k holds a global token in this row. */
  slotUsed: Value;
  /** int64 [seq]: 0 … seq − 1. */
  positions: Value;
}

/** The global-token layout of an int64 [batch, seq] merged mask `attention_mask · (global_attention_mask + 1)`. */
export function globalLayout(m: ModelGraph, merged: Value): GlobalLayout {
  const g = m.g;
  return g.scope('global_layout', () => {
    const one = g.constant(new BigInt64Array([1n]), []);
    const isGlobal = g.op('Greater', [merged, one], {}, { name: 'is_global' });
    const isLocal = g.op('Equal', [merged, one], {}, { name: 'is_local' });
    const isMasked = g.op('Less', [merged, one], {}, { name: 'is_masked' });
    const globalCount = g.op('Cast', [isGlobal], { to: TensorDataType.INT64 });
    // Slot of each global token: its rank among the row's global tokens; -1 elsewhere (matches no slot).
    const rank = g.op('Sub', [g.op('CumSum', [globalCount, g.constant(new BigInt64Array([1n]), [])]), one]);
    const slotOfPosition = g.op('Where', [isGlobal, rank, g.constant(new BigInt64Array([-1n]), [])]);
    const perRow = g.op('ReduceSum', [globalCount, g.int64s([1])], { keepdims: 0 }); // [batch]
    const slotCount = g.op('ReduceMax', [perRow], { keepdims: 0 }, { name: 'max_num_global' }); // scalar K
    const slots = g.op('Range', [g.constant(new BigInt64Array([0n]), []), slotCount, g.constant(new BigInt64Array([1n]), [])]);
    // [batch, 1, seq] == [1, K, 1] → [batch, K, seq]
    const selects = g.op('Equal', [
      g.op('Unsqueeze', [slotOfPosition, g.int64s([1])]),
      g.op('Unsqueeze', [slots, g.int64s([0, 2])]),
    ]);
    const slotToPosition = g.op('Cast', [selects], { to: TensorDataType.FLOAT }, { name: 'slot_to_position' });
    const positionToSlot = g.op('Transpose', [slotToPosition], { perm: [0, 2, 1] }, { name: 'position_to_slot' });
    const slotUsed = g.op('Less', [g.op('Unsqueeze', [slots, g.int64s([0])]), g.op('Unsqueeze', [perRow, g.int64s([1])])]);
    const seq = g.op('Shape', [merged], { start: 1, end: 2 });
    const positions = g.op('Range', [
      g.constant(new BigInt64Array([0n]), []),
      g.op('Squeeze', [seq, g.int64s([0])]),
      g.constant(new BigInt64Array([1n]), []),
    ]);
    return { isGlobal, isLocal, isMasked, slotToPosition, positionToSlot, slotUsed, positions };
  });
}

export interface LongformerAttentionSpec {
  /** Prefix of the layer's `attention.self` module (query, key, value, query_global, key_global, value_global). */
  prefix: string;
  hidden: number;
  heads: number;
  /** This layer's `attention_window` (even): each local token sees window/2 neighbours on each side. */
  window: number;
  /** Also assemble HF's `attentions` / `global_attentions` tensors for this layer. */
  outputProbabilities: boolean;
}

export interface LongformerAttentionResult {
  /** [batch, seq, hidden], before the output projection. */
  context: Value;
  /** [batch, heads, seq, K + window + 1], when requested. */
  attentions: Value | null;
  /** [batch, heads, seq, K], when requested. */
  globalAttentions: Value | null;
}

/** One LongformerSelfAttention on `x` [batch, seq, hidden] (seq already padded to a multiple of the window). */
export function longformerSelfAttention(
  m: ModelGraph,
  x: Value,
  layout: GlobalLayout,
  spec: LongformerAttentionSpec,
): LongformerAttentionResult {
  const g = m.g;
  const { hidden, heads, prefix } = spec;
  const headSize = hidden / heads;
  const scale = Math.sqrt(headSize);
  const min = g.scalar(FLOAT32_MIN, 'finfo_min');
  const zero = g.scalar(0, 'zero');
  const splitHeads = g.int64s([0, 0, heads, headSize], 'split_heads_shape');
  // [batch, n, hidden] → [batch, heads, n, headSize] (keys: [batch, heads, headSize, n]).
  const toHeads = (v: Value, perm: number[]): Value => g.op('Transpose', [g.op('Reshape', [v, splitHeads])], { perm });
  const mergeHeads = (v: Value): Value =>
    g.op('Reshape', [g.op('Transpose', [v], { perm: [0, 2, 1, 3] }), g.int64s([0, 0, hidden], 'merge_heads_shape')]);
  // bool [batch, seq] → [batch, 1, 1, seq] (a key property) or [batch, 1, seq, 1] (a query property).
  const asKeys = (v: Value): Value => g.op('Unsqueeze', [v, g.int64s([1, 2])]);
  const asQueries = (v: Value): Value => g.op('Unsqueeze', [v, g.int64s([1, 3])]);

  // Local path. HF scales the query before the product.
  const query = toHeads(g.op('Div', [linear(m, x, `${prefix}.query`, hidden, hidden), g.scalar(scale)]), [0, 2, 1, 3]);
  const keyT = toHeads(linear(m, x, `${prefix}.key`, hidden, hidden), [0, 2, 3, 1]);
  const value = toHeads(linear(m, x, `${prefix}.value`, hidden, hidden), [0, 2, 1, 3]);
  const scores = g.op('MatMul', [query, keyT]);
  const half = spec.window / 2;
  const seqI = g.op('Unsqueeze', [layout.positions, g.int64s([1])]);
  const seqJ = g.op('Unsqueeze', [layout.positions, g.int64s([0])]);
  const inBand = g.op('LessOrEqual', [
    g.op('Abs', [g.op('Sub', [seqI, seqJ])]),
    g.constant(new BigInt64Array([BigInt(half)]), []),
  ]); // [seq, seq]
  const visible = g.op('Or', [g.op('And', [inBand, asKeys(layout.isLocal)]), asKeys(layout.isGlobal)]);
  const probabilities = g.op('Softmax', [g.op('Where', [visible, scores, min])], { axis: -1 });
  // Masked rows are zeroed by HF; global rows are recomputed below and HF reports zeros for them here.
  const silentRow = asQueries(g.op('Or', [layout.isMasked, layout.isGlobal]));
  const localProbabilities = g.op('Where', [silentRow, zero, probabilities], {}, { name: 'local_probabilities' });
  const localContext = mergeHeads(g.op('MatMul', [localProbabilities, value]));

  // Global path: only the K slot rows are projected with query_global (an unused slot's row of zeros is HF's too).
  const globalHidden = g.op('MatMul', [layout.slotToPosition, x]); // [batch, K, hidden]
  const globalQuery = toHeads(
    g.op('Div', [linear(m, globalHidden, `${prefix}.query_global`, hidden, hidden), g.scalar(scale)]),
    [0, 2, 1, 3],
  );
  const globalKeyT = toHeads(linear(m, x, `${prefix}.key_global`, hidden, hidden), [0, 2, 3, 1]);
  const globalValue = toHeads(linear(m, x, `${prefix}.value_global`, hidden, hidden), [0, 2, 1, 3]);
  let globalScores = g.op('MatMul', [globalQuery, globalKeyT]); // [batch, heads, K, seq]
  const slotUsed = g.op('Unsqueeze', [layout.slotUsed, g.int64s([1, 3])]);
  globalScores = g.op('Where', [slotUsed, globalScores, min]);
  globalScores = g.op('Where', [asKeys(layout.isMasked), min, globalScores]);
  const globalProbabilities = g.op('Softmax', [globalScores], { axis: -1 }, { name: 'global_probabilities' });
  const slotContext = mergeHeads(g.op('MatMul', [globalProbabilities, globalValue])); // [batch, K, hidden]
  // One-hot scatter back to the positions (exact: one product by 1, the rest by 0).
  const globalContext = g.op('MatMul', [layout.positionToSlot, slotContext]);
  const isGlobalRow = g.op('Unsqueeze', [layout.isGlobal, g.int64s([2])]);
  const context = g.op('Where', [isGlobalRow, globalContext, localContext], {}, { name: 'context' });

  if (!spec.outputProbabilities) return { context, attentions: null, globalAttentions: null };
  return {
    context,
    attentions: hfAttentions(m, localProbabilities, layout, half),
    globalAttentions: g.op('Transpose', [globalProbabilities], { perm: [0, 1, 3, 2] }, { name: 'global_attentions' }),
  };
}

/** HF's `attentions` layout from the dense local probabilities: K global-key columns, then the ±half band. */
function hfAttentions(m: ModelGraph, localProbabilities: Value, layout: GlobalLayout, half: number): Value {
  const g = m.g;
  const zero = g.scalar(0, 'zero');
  const globalColumns = g.op('MatMul', [localProbabilities, g.op('Unsqueeze', [layout.positionToSlot, g.int64s([1])])]);
  // The band holds local keys only: a global key in the window is reported in its global column.
  const localKeys = g.op('Unsqueeze', [layout.isLocal, g.int64s([1, 2])]);
  const bandSource = g.op('Where', [localKeys, localProbabilities, zero]);
  // Key index of band column d for row i: i + d − half, out of range → column 0 and then zeroed.
  const offsets = g.constant(BigInt64Array.from({ length: 2 * half + 1 }, (_, d) => BigInt(d - half)), [1, 2 * half + 1]);
  const keyIndex = g.op('Add', [g.op('Unsqueeze', [layout.positions, g.int64s([1])]), offsets]); // [seq, 2·half+1]
  const seqLength = g.op('Shape', [layout.positions]);
  const inRange = g.op('And', [
    g.op('GreaterOrEqual', [keyIndex, g.constant(new BigInt64Array([0n]), [])]),
    g.op('Less', [keyIndex, seqLength]),
  ]);
  const safeIndex = g.op('Where', [inRange, keyIndex, g.constant(new BigInt64Array([0n]), [])]);
  const bandShape = g.op('Concat', [g.op('Shape', [bandSource], { start: 0, end: 3 }), g.int64s([2 * half + 1])], {
    axis: 0,
  });
  const index = g.op('Expand', [g.op('Unsqueeze', [safeIndex, g.int64s([0, 1])]), bandShape]);
  const band = g.op('Where', [
    g.op('Unsqueeze', [inRange, g.int64s([0, 1])]),
    g.op('GatherElements', [bandSource, index], { axis: 3 }),
    zero,
  ]);
  return g.op('Concat', [globalColumns, band], { axis: 3 }, { name: 'attentions' });
}
