/**
 * Longformer's self-attention (modeling_longformer.py, LongformerSelfAttention).
 *
 * Which keys a query row sees (merged mask: 0 = masked, 1 = local, 2 = global):
 * - a local or masked row i: the local keys j with |i − j| ≤ window/2, plus every global key, in one softmax
 *   (HF concatenates the global-key columns to the sliding-window scores before its softmax);
 * - a global row: every unmasked key, through the separate `query_global`/`key_global`/`value_global`
 *   projections (its local-path output is discarded, as in HF).
 * Masked rows get probability 0 everywhere (HF's `masked_fill` after the softmax), so their context is 0. Keys a
 * row does not see get finfo(float32).min, whose exp is exactly 0 next to any real score.
 *
 * The local rows are computed in blocks of window/2 queries against their three neighbouring key blocks, so memory
 * and time grow with seq · window as in HF's chunked implementation (not seq²); see `slidingWindowAttention`.
 *
 * The per-layer outputs are assembled in HF's layout: `attentions` [batch, heads, seq, K + window + 1] with the K
 * global-key columns first (K = most global tokens in any row of the batch; unused columns are 0) and the band
 * j = i − window/2 … i + window/2 after (0 for global, masked or out-of-range keys and for global or masked query
 * rows), and `global_attentions` [batch, heads, seq, K] (the probabilities of the global queries; an unused slot
 * attends uniformly to every position, because HF fills its whole row with finfo.min before the softmax).
 */
import { Value } from '../onnx/graph-builder.js';
import { TensorDataType } from '../onnx/proto.js';
import { FLOAT32_MIN, linear, type ModelGraph } from './layers/index.js';

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
  /** int64 [batch, seq]: the merged mask itself. */
  merged: Value;
  /** int64 [1]: K, the most global tokens in any row of the batch. */
  slotCount: Value;
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
    const slots = g.op('Range', [
      g.constant(new BigInt64Array([0n]), []),
      slotCount,
      g.constant(new BigInt64Array([1n]), []),
    ]);
    // [batch, 1, seq] == [1, K, 1] → [batch, K, seq]
    const selects = g.op('Equal', [
      g.op('Unsqueeze', [slotOfPosition, g.int64s([1])]),
      g.op('Unsqueeze', [slots, g.int64s([0, 2])]),
    ]);
    const slotToPosition = g.op(
      'Cast',
      [selects],
      { to: TensorDataType.FLOAT },
      { name: 'slot_to_position' },
    );
    const positionToSlot = g.op(
      'Transpose',
      [slotToPosition],
      { perm: [0, 2, 1] },
      { name: 'position_to_slot' },
    );
    const slotUsed = g.op('Less', [
      g.op('Unsqueeze', [slots, g.int64s([0])]),
      g.op('Unsqueeze', [perRow, g.int64s([1])]),
    ]);
    const slotCount1d = g.op('Unsqueeze', [slotCount, g.int64s([0])], {}, { name: 'slot_count' });
    return {
      isGlobal,
      isLocal,
      isMasked,
      slotToPosition,
      positionToSlot,
      slotUsed,
      merged,
      slotCount: slotCount1d,
    };
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
  const splitHeads = g.int64s([0, 0, heads, headSize], 'split_heads_shape');
  // [batch, n, hidden] → [batch, heads, n, headSize] (keys: [batch, heads, headSize, n]).
  const toHeads = (v: Value, perm: number[]): Value =>
    g.op('Transpose', [g.op('Reshape', [v, splitHeads])], { perm });
  const mergeHeads = (v: Value): Value =>
    g.op('Reshape', [
      g.op('Transpose', [v], { perm: [0, 2, 1, 3] }),
      g.int64s([0, 0, hidden], 'merge_heads_shape'),
    ]);

  // Local path. HF scales the query before the product.
  const query = toHeads(
    g.op('Div', [linear(m, x, `${prefix}.query`, hidden, hidden), g.scalar(scale)]),
    [0, 2, 1, 3],
  );
  const key = toHeads(linear(m, x, `${prefix}.key`, hidden, hidden), [0, 2, 1, 3]);
  const value = toHeads(linear(m, x, `${prefix}.value`, hidden, hidden), [0, 2, 1, 3]);
  const local = slidingWindowAttention(m, { query, key, value, headSize, layout, half: spec.window / 2 });
  const localContext = mergeHeads(local.context);

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
  globalScores = g.op('Where', [g.op('Unsqueeze', [layout.isMasked, g.int64s([1, 2])]), min, globalScores]);
  const globalProbabilities = g.op('Softmax', [globalScores], { axis: -1 }, { name: 'global_probabilities' });
  const slotContext = mergeHeads(g.op('MatMul', [globalProbabilities, globalValue])); // [batch, K, hidden]
  // One-hot scatter back to the positions (exact: one product by 1, the rest by 0).
  const globalContext = g.op('MatMul', [layout.positionToSlot, slotContext]);
  const isGlobalRow = g.op('Unsqueeze', [layout.isGlobal, g.int64s([2])]);
  const context = g.op('Where', [isGlobalRow, globalContext, localContext], {}, { name: 'context' });

  if (!spec.outputProbabilities) return { context, attentions: null, globalAttentions: null };
  return {
    context,
    attentions: g.op('Concat', [local.globalColumns, local.band], { axis: 3 }, { name: 'attentions' }),
    globalAttentions: g.op(
      'Transpose',
      [globalProbabilities],
      { perm: [0, 1, 3, 2] },
      { name: 'global_attentions' },
    ),
  };
}

interface SlidingWindowInputs {
  /** [batch, heads, seq, headSize], already divided by √headSize. */
  query: Value;
  key: Value;
  value: Value;
  headSize: number;
  layout: GlobalLayout;
  /** Keys within `half` positions on either side are in the window (attention_window / 2). */
  half: number;
}

/**
 * The local rows of LongformerSelfAttention in blocks of `half` queries: the queries of block b can only see keys
 * in blocks b − 1, b and b + 1 (3·half keys), so the scores are [batch, heads, blocks, half, 3·half] instead of
 * [seq, seq]: O(seq · window) like HF's sliding chunks. Each row's softmax runs over the K global-key columns
 * followed by its 3·half neighbours, of which only the local keys with |i − j| ≤ half count (the others, like
 * unused global slots, get finfo.min and so probability exactly 0). Requires seq to be a multiple of half.
 */
function slidingWindowAttention(
  m: ModelGraph,
  { query, key, value, headSize, layout, half }: SlidingWindowInputs,
): { context: Value; globalColumns: Value; band: Value } {
  const g = m.g;
  const zero = g.scalar(0, 'zero');
  const min = g.scalar(FLOAT32_MIN, 'finfo_min');
  const sequenceLength = g.op('Shape', [key], { start: 2, end: 3 });
  const batchHeads = g.op('Shape', [key], { start: 0, end: 2 });
  const blocks = g.op('Div', [sequenceLength, g.int64s([half])]);
  // Shapes holding K are spelled out (allowzero): Reshape would read a 0 as "copy this dim" when no token is global.
  const reshapeExact = (v: Value, parts: Value[]): Value =>
    g.op('Reshape', [v, g.op('Concat', parts, { axis: 0 })], { allowzero: 1 });
  // Blocks b − 1, b, b + 1 of a tensor along its sequence `axis` (padded with `fill` at both ends), side by side.
  const neighbours = (v: Value, axis: number, rank: number, fill: Value | null, blockShape: Value): Value => {
    const pads = Array.from({ length: 2 * rank }, (_, k) => (k % rank === axis ? half : 0));
    const padded = g.op('Pad', fill ? [v, g.int64s(pads), fill] : [v, g.int64s(pads)]);
    const shifted = [0, half, 2 * half].map((start) =>
      g.op('Reshape', [
        g.op('Slice', [
          padded,
          g.int64s([start]),
          g.op('Add', [sequenceLength, g.int64s([start])]),
          g.int64s([axis]),
        ]),
        blockShape,
      ]),
    );
    return g.op('Concat', shifted, { axis: axis + 1 });
  };
  const headBlocks = g.int64s([0, 0, -1, half, headSize], 'head_block_shape');

  // Which of the 3·half neighbours each query sees: a local key (padding beyond both ends is masked) …
  const mergedBlocks = neighbours(
    layout.merged,
    1,
    2,
    g.constant(new BigInt64Array([0n]), []),
    g.int64s([0, -1, half]),
  );
  const localKeys = g.op('Unsqueeze', [
    g.op('Equal', [mergedBlocks, g.constant(new BigInt64Array([1n]), [])]),
    g.int64s([1, 3]),
  ]); // [batch, 1, blocks, 1, 3·half]
  // … at most `half` away: query q of a block and neighbour k are |k − half − q| apart.
  const withinHalf = Uint8Array.from({ length: half * 3 * half }, (_, n) => {
    const q = Math.floor(n / (3 * half));
    const k = n % (3 * half);
    return Math.abs(k - half - q) <= half ? 1 : 0;
  });
  const inWindow = g.op('Cast', [g.constant(withinHalf, [half, 3 * half], 'within_half')], {
    to: TensorDataType.BOOL,
  });

  const keyBlocks = neighbours(key, 2, 4, null, headBlocks); // [batch, heads, blocks, 3·half, headSize]
  const valueBlocks = neighbours(value, 2, 4, null, headBlocks);
  const queryBlocks = g.op('Reshape', [query, headBlocks]); // [batch, heads, blocks, half, headSize]
  let bandScores = g.op('MatMul', [queryBlocks, g.op('Transpose', [keyBlocks], { perm: [0, 1, 2, 4, 3] })]);
  bandScores = g.op('Where', [g.op('And', [inWindow, localKeys]), bandScores, min]);

  // Every query also sees every global key (HF's extra columns, in slot order; unused slots are finfo.min).
  const slotsOfBatch = g.op('Unsqueeze', [layout.slotToPosition, g.int64s([1])]); // [batch, 1, K, seq]
  const globalKeys = g.op('MatMul', [slotsOfBatch, key]); // [batch, heads, K, headSize]
  let globalKeyScores = g.op('MatMul', [query, g.op('Transpose', [globalKeys], { perm: [0, 1, 3, 2] })]);
  globalKeyScores = g.op('Where', [
    g.op('Unsqueeze', [layout.slotUsed, g.int64s([1, 2])]),
    globalKeyScores,
    min,
  ]);
  const globalKeyBlocks = reshapeExact(globalKeyScores, [
    batchHeads,
    blocks,
    g.int64s([half]),
    layout.slotCount,
  ]);

  let probabilities = g.op('Softmax', [g.op('Concat', [globalKeyBlocks, bandScores], { axis: 4 })], {
    axis: -1,
  });
  // Masked rows are zeroed by HF; global rows are recomputed by the caller and HF reports zeros for them here.
  const silentRows = g.op('Unsqueeze', [g.op('Or', [layout.isMasked, layout.isGlobal]), g.int64s([1])]);
  probabilities = g.op('Where', [
    g.op('Reshape', [silentRows, g.int64s([0, 0, -1, half, 1])]),
    zero,
    probabilities,
  ]);
  const globalPart = g.op('Slice', [probabilities, g.int64s([0]), layout.slotCount, g.int64s([4])]);
  const bandPart = g.op('Slice', [
    probabilities,
    layout.slotCount,
    g.constant(new BigInt64Array([9223372036854775807n]), [1]),
    g.int64s([4]),
  ]);
  const globalColumns = reshapeExact(globalPart, [batchHeads, sequenceLength, layout.slotCount]); // [b, h, seq, K]
  const globalValues = g.op('MatMul', [slotsOfBatch, value]); // [batch, heads, K, headSize]
  const bandContext = g.op('Reshape', [
    g.op('MatMul', [bandPart, valueBlocks]),
    g.int64s([0, 0, -1, headSize]),
  ]);
  // HF adds the global-key part to the sliding-window part in this order.
  const context = g.op('Add', [g.op('MatMul', [globalColumns, globalValues]), bandContext]);

  // HF's band columns d = 0 … 2·half are the keys i − half … i + half: neighbour q + d of block query q.
  const width = 2 * half + 1;
  const bandIndex = BigInt64Array.from({ length: half * width }, (_, n) =>
    BigInt(Math.floor(n / width) + (n % width)),
  );
  const indexShape = g.op('Concat', [g.op('Shape', [bandPart], { start: 0, end: 4 }), g.int64s([width])], {
    axis: 0,
  });
  const index = g.op('Expand', [g.constant(bandIndex, [half, width], 'band_index'), indexShape]);
  const band = g.op('Reshape', [
    g.op('GatherElements', [bandPart, index], { axis: 4 }),
    g.int64s([0, 0, -1, width]),
  ]);
  return { context, globalColumns, band };
}
