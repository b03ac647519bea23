/**
 * DeBERTa-v2's disentangled self-attention (modeling_deberta_v2.py: `DisentangledSelfAttention`,
 * `build_relative_position`, `make_log_bucket_position`, `XSoftmax`), for one attention layout: the padded batch
 * [batch, seq, hidden] or one length group of the packed graph [rows, max_length, hidden]. In both, row r holds one
 * sequence from slot 0, so slot differences are the relative positions in that sequence's own coordinates.
 *
 * Scores are `(q·kᵀ + c2p + p2c) / √(head_size · scale_factor)`, where `scale_factor` is 1 plus one per
 * `pos_att_type` entry (c2p, p2c):
 * - c2p (content → position): `q_i · posK[δ(i, j)]`, the query against the projected relative-position embedding of
 *   the pair's distance;
 * - p2c (position → content): `k_j · posQ[δ(i, j)]`;
 * with `δ(i, j) = clamp(bucket(i − j) + span, 0, 2·span − 1)` (HF gathers p2c with `−bucket(j − i)`, the same
 * number: the bucketing is odd). posK/posQ are the (LayerNorm-ed) `rel_embeddings` through the key/query
 * projections (`share_att_key`) or through `pos_key_proj`/`pos_query_proj`.
 */
import { ConfigError } from '../errors.js';
import { attr, Value } from '../onnx/graph-builder.js';
import { TensorDataType } from '../onnx/proto.js';
import { AttentionMask, FLOAT32_MIN, linear, ModelGraph } from './layers/index.js';

const MS = { domain: 'com.microsoft' } as const;

// ----------------------------------------------------------------------------------------------- relative positions

/** The config fields that decide the relative-position index (`DebertaV2Encoder`, `DisentangledSelfAttention`). */
export interface RelativePositionConfig {
  /** `position_buckets` (≤ 0: no log buckets). */
  positionBuckets: number;
  /** `max_relative_positions`, already defaulted to `max_position_embeddings` when < 1, as HF does. */
  maxRelativePositions: number;
}

/** `att_span` (HF `pos_ebd_size`): the buckets when bucketed, else `max_relative_positions`; the table has 2·span rows. */
export function attentionSpan(config: RelativePositionConfig): number {
  return config.positionBuckets > 0 ? config.positionBuckets : config.maxRelativePositions;
}

/**
 * `make_log_bucket_position` for one distance, in torch's float32 arithmetic (`abs_pos / mid` and the logs are
 * float32 tensors): distances inside ±mid keep their value, farther ones grow logarithmically.
 */
export function logBucketPosition(distance: number, bucketSize: number, maxPosition: number): number {
  const f = Math.fround;
  const mid = Math.floor(bucketSize / 2);
  if (Math.abs(distance) <= mid) return distance;
  const absPos = Math.abs(distance);
  const logRatio = f(Math.log(f(absPos / mid)));
  const logMax = f(Math.log(f((maxPosition - 1) / mid)));
  const logPos = Math.ceil(f(f(logRatio / logMax) * (mid - 1))) + mid;
  return Math.sign(distance) * logPos;
}

/** The index `δ` of a query–key distance `i − j` into the 2·span relative embeddings (clamped as HF clamps). */
export function relativeIndex(distance: number, config: RelativePositionConfig): number {
  const span = attentionSpan(config);
  const bucketed =
    config.positionBuckets > 0
      ? logBucketPosition(distance, config.positionBuckets, config.maxRelativePositions)
      : distance;
  return Math.min(Math.max(bucketed + span, 0), 2 * span - 1);
}

/**
 * `δ` for every distance in [−reach, reach] (index `d + reach`), where `reach` is the first distance from which δ
 * stays clamped at both ends: longer distances are clipped to ±reach in the graph, so any sequence length works
 * (HF has no length limit without absolute positions).
 */
export function relativeIndexTable(
  config: RelativePositionConfig,
  file: string,
): { table: BigInt64Array; reach: number } {
  const span = attentionSpan(config);
  if (
    config.positionBuckets > 0 &&
    (config.maxRelativePositions - 1) / Math.floor(config.positionBuckets / 2) <= 1
  ) {
    throw new ConfigError(
      `${file} position_buckets: ${config.positionBuckets} buckets need max_relative_positions (or ` +
        `max_position_embeddings) above ${Math.floor(config.positionBuckets / 2) + 1}, got ${config.maxRelativePositions}`,
      { file, field: 'position_buckets' },
    );
  }
  let reach = 1;
  while (relativeIndex(reach, config) !== 2 * span - 1 || relativeIndex(-reach, config) !== 0) reach++;
  const table = new BigInt64Array(2 * reach + 1);
  for (let d = -reach; d <= reach; d++) table[d + reach] = BigInt(relativeIndex(d, config));
  return { table, reach };
}

/**
 * The relative-position index of one attention layout, computed once and shared by every layer: δ for each
 * (query slot, key slot), shifted to the rows actually used (distances below the layout's length only reach the
 * contiguous rows [start, end) of the table, since δ grows with the distance), and expanded to [rows, heads, L, L]
 * for GatherElements (once as δ(i, j) for c2p, once transposed for p2c).
 */
export interface RelativeLayout {
  start: Value;
  end: Value;
  c2pIndex: Value;
  p2cIndex: Value;
}

export function relativeLayout(
  m: ModelGraph,
  layoutStates: Value,
  heads: number,
  index: { table: BigInt64Array; reach: number },
): RelativeLayout {
  const g = m.g;
  return g.scope('relative_positions', () => {
    const length = g.op('Shape', [layoutStates], { start: 1, end: 2 });
    const scalar = (v: Value): Value => g.op('Squeeze', [v, g.int64s([0])]);
    const zero = g.constant(new BigInt64Array([0n]), []);
    const one = g.constant(new BigInt64Array([1n]), []);
    const slots = g.op('Range', [zero, scalar(length), one]);
    const distance = g.op('Sub', [
      g.op('Unsqueeze', [slots, g.int64s([1])]),
      g.op('Unsqueeze', [slots, g.int64s([0])]),
    ]);
    const reach = (v: number): Value => g.constant(new BigInt64Array([BigInt(v)]), []);
    const clipped = g.op('Clip', [distance, reach(-index.reach), reach(index.reach)]);
    const table = g.constant(index.table, [index.table.length], 'relative_index_table');
    const delta = g.op('Gather', [table, g.op('Add', [clipped, reach(index.reach)])], { axis: 0 });
    const start = g.op('ReduceMin', [delta], { keepdims: 0 });
    const end = g.op('Add', [g.op('ReduceMax', [delta], { keepdims: 0 }), one]);
    const shifted = g.op('Cast', [g.op('Sub', [delta, start])], { to: TensorDataType.INT32 });
    const rows = g.op('Shape', [layoutStates], { start: 0, end: 1 });
    const shape = g.op('Concat', [rows, g.int64s([heads]), length, length], { axis: 0 });
    const expand = (v: Value): Value => g.op('Expand', [v, shape]);
    return {
      start: g.op('Unsqueeze', [start, g.int64s([0])]),
      end: g.op('Unsqueeze', [end, g.int64s([0])]),
      c2pIndex: expand(shifted),
      p2cIndex: expand(g.op('Transpose', [shifted], { perm: [1, 0] })),
    };
  });
}

// ----------------------------------------------------------------------------------------------- attention

export interface DisentangledAttentionSpec {
  /** Layer prefix, e.g. `deberta.encoder.layer.0.attention.self`. */
  prefix: string;
  hidden: number;
  heads: number;
  c2p: boolean;
  p2c: boolean;
  /** `share_att_key`: positions go through query_proj/key_proj rather than pos_query_proj/pos_key_proj. */
  shareAttKey: boolean;
  /** The relative embeddings [2·span, hidden] after `norm_rel_ebd`, or null without `relative_attention`. */
  relativeEmbeddings: Value | null;
  outputProbabilities: boolean;
}

/**
 * One attention layout as the layers see it, built once per graph (padded) or per length group (packed) and shared by
 * every layer: its mask in the forms the lowerings need and its relative-position index.
 */
export interface AttentionLayout {
  /** The layout's key mask; `mask.mask` is null when nothing is masked. */
  mask: AttentionMask;
  relative: RelativeLayout | null;
  /**
   * XSoftmax's two-sided mask (`get_attention_mask`: mask[:, None, None, :] · mask[:, None, :, None]) as bool
   * [rows, 1, L, L], or the key side alone [rows, 1, 1, L]; null without a mask.
   */
  keep: Value | null;
  /**
   * The query side [rows, L, 1] as float: XSoftmax gives padding queries probability 0 everywhere, so their
   * context is 0. Null without a mask, and in the packed layouts, whose filler rows are dropped anyway.
   */
  queryRows: Value | null;
}

/** Builds an `AttentionLayout`; `maskQueries` mirrors XSoftmax's query side (the padded layout). */
export function attentionLayout(
  m: ModelGraph,
  mask: AttentionMask,
  relative: RelativeLayout | null,
  maskQueries: boolean,
): AttentionLayout {
  const g = m.g;
  if (!mask.mask) return { mask, relative, keep: null, queryRows: null };
  const keys = g.op('Not', [g.op('Equal', [mask.mask, g.constant(new BigInt64Array([0n]), [])])]);
  const keyColumns = g.op('Unsqueeze', [keys, g.int64s([1, 2])]);
  if (!maskQueries) return { mask, relative, keep: keyColumns, queryRows: null };
  return {
    mask,
    relative,
    keep: g.op(
      'And',
      [keyColumns, g.op('Unsqueeze', [keys, g.int64s([1, 3])])],
      {},
      { name: 'xsoftmax_mask' },
    ),
    queryRows: g.op('Cast', [g.op('Unsqueeze', [keys, g.int64s([2])])], { to: TensorDataType.FLOAT }),
  };
}

/** `scale_factor` of DisentangledSelfAttention: 1 + one per c2p / p2c (counted whether or not relative_attention). */
export function scaleFactor(spec: { c2p: boolean; p2c: boolean }): number {
  return 1 + (spec.c2p ? 1 : 0) + (spec.p2c ? 1 : 0);
}

/** The projected relative embeddings of one layer's c2p keys or p2c queries, [2·span, hidden] (weights only). */
function projectedPositions(m: ModelGraph, spec: DisentangledAttentionSpec, kind: 'key' | 'query'): Value {
  const linearPrefix = spec.shareAttKey ? `${spec.prefix}.${kind}_proj` : `${spec.prefix}.pos_${kind}_proj`;
  return linear(m, spec.relativeEmbeddings!, linearPrefix, spec.hidden, spec.hidden);
}

/**
 * The relative-position score terms `(c2p + p2c) / scale` [rows, heads, L, L] for projected queries and keys already
 * split into heads ([rows, heads, L, head_size]).
 */
function disentangledBias(
  m: ModelGraph,
  queryHeads: Value,
  keyHeads: Value,
  spec: DisentangledAttentionSpec,
  relative: RelativeLayout,
  scale: number,
): Value | null {
  const g = m.g;
  const headSize = spec.hidden / spec.heads;
  // The used rows of a projected table as [heads, head_size, rows] for the products with queries or keys.
  const positionColumns = (table: Value): Value => {
    const rows = g.op('Slice', [table, relative.start, relative.end, g.int64s([0])]);
    return g.op('Transpose', [g.op('Reshape', [rows, g.int64s([-1, spec.heads, headSize])])], {
      perm: [1, 2, 0],
    });
  };
  const terms: Value[] = [];
  if (spec.c2p) {
    const scores = g.op('MatMul', [queryHeads, positionColumns(projectedPositions(m, spec, 'key'))]);
    terms.push(g.op('GatherElements', [scores, relative.c2pIndex], { axis: 3 }, { name: 'c2p' }));
  }
  if (spec.p2c) {
    const scores = g.op('MatMul', [keyHeads, positionColumns(projectedPositions(m, spec, 'query'))]);
    const byKey = g.op('GatherElements', [scores, relative.p2cIndex], { axis: 3 });
    terms.push(g.op('Transpose', [byKey], { perm: [0, 1, 3, 2] }, { name: 'p2c' }));
  }
  if (terms.length === 0) return null;
  const sum = terms.length === 1 ? terms[0]! : g.op('Add', [terms[0]!, terms[1]!]);
  return g.op('Div', [sum, g.scalar(scale)], {}, { name: 'relative_attention_bias' });
}

/**
 * DisentangledSelfAttention on projected queries, keys and values in one layout [rows, L, hidden]: the context
 * [rows, L, hidden] before the output projection, and the probabilities when asked (standard lowering only).
 */
export function disentangledAttention(
  m: ModelGraph,
  query: Value,
  key: Value,
  value: Value,
  layout: AttentionLayout,
  spec: DisentangledAttentionSpec,
): { context: Value; probabilities: Value | null } {
  const g = m.g;
  const { hidden, heads } = spec;
  const headSize = hidden / heads;
  const scale = Math.sqrt(headSize * scaleFactor(spec));
  const splitHeads = (states: Value, perm: number[]): Value =>
    g.op('Transpose', [g.op('Reshape', [states, g.int64s([0, 0, heads, headSize])])], { perm });
  const queryHeads = splitHeads(query, [0, 2, 1, 3]);
  const keyHeads = splitHeads(key, [0, 2, 1, 3]);
  const bias =
    layout.relative && spec.relativeEmbeddings
      ? disentangledBias(m, queryHeads, keyHeads, spec, layout.relative, scale)
      : null;

  if (m.options.contribOps && !spec.outputProbabilities) {
    // MultiHeadAttention scales q·kᵀ, adds the [rows, heads, L, L] bias and hides masked keys.
    let context = g.op(
      'MultiHeadAttention',
      [query, key, value, null, layout.mask.maskIndex(), bias],
      { num_heads: heads, scale: attr.float(1 / scale), mask_filter_value: attr.float(FLOAT32_MIN) },
      MS,
    );
    if (layout.queryRows) context = g.op('Mul', [context, layout.queryRows]);
    return { context, probabilities: null };
  }

  let scores = g.op('Div', [g.op('MatMul', [queryHeads, splitHeads(key, [0, 2, 3, 1])]), g.scalar(scale)]);
  if (bias) scores = g.op('Add', [scores, bias]);
  let probabilities: Value;
  if (layout.keep) {
    // XSoftmax: masked_fill(¬mask, finfo.min) → softmax → masked_fill(¬mask, 0).
    const filled = g.op('Where', [layout.keep, scores, g.scalar(FLOAT32_MIN)]);
    probabilities = g.op('Where', [layout.keep, g.op('Softmax', [filled], { axis: -1 }), g.scalar(0)]);
  } else {
    probabilities = g.op('Softmax', [scores], { axis: -1 });
  }
  const context = g.op('MatMul', [probabilities, splitHeads(value, [0, 2, 1, 3])]);
  const merged = g.op('Reshape', [
    g.op('Transpose', [context], { perm: [0, 2, 1, 3] }),
    g.int64s([0, 0, hidden]),
  ]);
  return { context: merged, probabilities: spec.outputProbabilities ? probabilities : null };
}
