/**
 * Multi-head self-attention with HF's mask semantics, in its lowerings: ONNX Runtime's fused com.microsoft
 * Attention / MultiHeadAttention kernels (default), standard ONNX ops mirroring PyTorch (the only one that can
 * return attention probabilities), the few-query shortcut for a last layer that computes position 0 alone, and
 * the packed (padding-free) layout's per-length-group attention.
 */
import { attr, Value } from '../../onnx/graph-builder.js';
import { TensorDataType } from '../../onnx/proto.js';
import type { PackedLayout } from '../packed-layout.js';
import { FLOAT32_MIN, MS, type ModelGraph } from './graph.js';
import { linear } from './ops.js';

/**
 * The attention mask of a batch in the forms the attention lowerings need, each computed once per graph.
 * `mask` is the int64 [batch, seq] graph input (1 = attend, 0 = padding), or null when the graph has no mask
 * input, which HF treats as all ones: then nothing is added to the scores (adding zeros would change nothing).
 */
export class AttentionMask {
  private additive?: Value;
  private keep?: Value;
  private int32?: Value;

  constructor(
    private readonly m: ModelGraph,
    readonly mask: Value | null,
  ) {}

  /** `(1 - mask) · finfo(float32).min` shaped [batch, 1, 1, seq], added to the scores (BERT and most models). */
  additiveBias(): Value | null {
    if (!this.mask) return null;
    if (!this.additive) {
      const g = this.m.g;
      const maskFloat = g.op('Cast', [this.mask], { to: TensorDataType.FLOAT });
      const inverted = g.op('Sub', [g.scalar(1), maskFloat]);
      const bias = g.op('Mul', [inverted, g.scalar(FLOAT32_MIN)]);
      this.additive = g.op('Unsqueeze', [bias, g.int64s([1, 2])], {}, { name: 'extended_attention_mask' });
    }
    return this.additive;
  }

  /** `mask != 0` shaped [batch, 1, 1, seq], for DistilBERT's `masked_fill(mask == 0, finfo.min)`. */
  keepMask(): Value | null {
    if (!this.mask) return null;
    if (!this.keep) {
      const g = this.m.g;
      const isPad = g.op('Equal', [this.mask, g.constant(new BigInt64Array([0n]), [])]);
      this.keep = g.op('Unsqueeze', [g.op('Not', [isPad]), g.int64s([1, 2])], {}, { name: 'keep_mask' });
    }
    return this.keep;
  }

  /** The raw 0/1 mask as int32 [batch, seq], the `mask_index` form of com.microsoft Attention. */
  maskIndex(): Value | null {
    if (!this.mask) return null;
    this.int32 ??= this.m.g.op('Cast', [this.mask], { to: TensorDataType.INT32 }, { name: 'mask_index' });
    return this.int32;
  }
}

export interface SelfAttentionSpec {
  /** Linear layer prefixes of the query, key and value projections. */
  query: string;
  key: string;
  value: string;
  hidden: number;
  heads: number;
  /**
   * How masked keys are excluded, as in the HF source: 'add' adds `(1-mask)·finfo.min` (BERT, RoBERTa, ALBERT,
   * ELECTRA); 'fill' replaces their scores with finfo.min (DistilBERT). Either way their probability is exactly 0.
   */
  maskStyle: 'add' | 'fill';
  /** DistilBERT scales the query by 1/√d before the product; BERT scales the scores after it. */
  scaleQueryFirst: boolean;
  /** Emit the post-softmax probabilities [batch, heads, seq, seq] (forces the standard-op lowering). */
  outputProbabilities: boolean;
  /**
   * Compute outputs for these query positions only (e.g. the first token, [batch, 1, hidden]; in the packed layout
   * each row's first token from `firstPosition`) while keys and values still come from every position of `x`.
   * The rows equal those of the full computation up to float rounding: see `fewQueryAttention`, which never
   * projects the keys and values of every position. Not with `outputProbabilities`.
   */
  queries?: Value;
  /**
   * A term added to the scores before the mask that depends only on where query and key sit in their sequence
   * (MPNet's relative position bias). With `queries`, those must be the first position of each row.
   */
  positionBias?: PositionBias;
}

/**
 * A position-dependent attention-score term. Called with an attention layout's mask and its states
 * [rows, L, hidden], it returns [1, heads, L, L]: the term for query i and key j at positions 0..L-1 of every row.
 * The padded layout numbers the padded row (as HF does); packed layouts put each row's real tokens first and in
 * order, so there the positions are each sequence's own. Every layer asks again; one mask stands for one layout,
 * so an implementation can build each layout's term once and return it for that mask thereafter.
 */
export type PositionBias = (mask: AttentionMask, states: Value) => Value;

export interface SelfAttentionResult {
  /** The per-token context vectors [batch, seq, hidden], before the output projection. */
  context: Value;
  probabilities: Value | null;
}

/** Multi-head scaled dot-product self-attention: softmax(QKᵀ/√d + mask)·V, heads concatenated. */
export function selfAttention(
  m: ModelGraph,
  x: Value,
  mask: AttentionMask,
  spec: SelfAttentionSpec,
): SelfAttentionResult {
  const { hidden, heads } = spec;
  if (hidden % heads !== 0)
    throw new RangeError(`selfAttention: hidden ${hidden} is not a multiple of heads ${heads}`);
  if (spec.outputProbabilities && (m.packed || spec.queries)) {
    throw new RangeError(
      'selfAttention: attention probabilities need the padded layout and every query position',
    );
  }
  if (spec.queries) {
    // Keys and values come from every position of each sequence: the attention layout when packed.
    const keysFrom = m.packed ? m.packed.toAttentionLayout(x) : x;
    return { context: fewQueryAttention(m, keysFrom, spec.queries, mask, spec), probabilities: null };
  }
  // Packed, `mask` is the whole batch's layout (read by the few-query path above); full self-attention runs in the
  // layout's length groups, each under its own mask.
  if (m.packed) return packedSelfAttention(m, m.packed, x, spec);
  if (m.options.contribOps && !spec.outputProbabilities) {
    return { context: fusedAttention(m, x, mask, spec), probabilities: null };
  }
  const project = (input: Value, prefix: string): Value => linear(m, input, prefix, hidden, hidden);
  return attendProjected(m, project(x, spec.query), project(x, spec.key), project(x, spec.value), mask, spec);
}

/**
 * Attention of a few query positions (`queries` [batch, q, hidden], e.g. the first token) over every position of
 * `x` [batch, seq, hidden], without projecting keys and values for every position. Per head h (size k), with
 * W_K,h / W_V,h the head's rows of the torch weights and p_h the probabilities:
 * - scores: q_h·(x W_K,hᵀ + b_K,h) = x·(W_K,hᵀ q_h) + q_h·b_K,h. The last term is the same for every key of a
 *   query, and softmax is unchanged by adding a constant to a row, so it is left out (masked keys still get
 *   exactly 0: finfo.min absorbs any finite score).
 * - context: p_hᵀ(x W_V,hᵀ + b_V,h) = (p_hᵀ x) W_V,hᵀ + b_V,h, because p_h sums to 1.
 * So a sequence costs O(heads·q·seq·hidden + q·hidden²) instead of O(seq·hidden²) for the two projections. The
 * scaling and the masking are those of `attendProjected`. Both lowerings use these standard ops (ONNX Runtime has
 * no fused kernel for this form; its cost is small either way).
 */
function fewQueryAttention(
  m: ModelGraph,
  x: Value,
  queries: Value,
  mask: AttentionMask,
  spec: SelfAttentionSpec,
): Value {
  const g = m.g;
  const { hidden, heads } = spec;
  const headSize = hidden / heads;
  const scale = Math.sqrt(headSize);
  // The torch key weight [out, in] is already [heads, headSize, hidden] row-major: W_K,h for each head.
  const keyHeads = m.derived(`${spec.key}.weight:heads`, [heads, headSize, hidden], () =>
    m.read(`${spec.key}.weight`, [hidden, hidden]),
  );
  // W_V,hᵀ for each head: [heads, hidden, headSize].
  const valueHeadsT = m.derived(`${spec.value}.weight:heads:T`, [heads, hidden, headSize], () => {
    const w = m.read(`${spec.value}.weight`, [hidden, hidden]);
    const out = new Float32Array(hidden * hidden);
    for (let h = 0; h < heads; h++) {
      for (let j = 0; j < headSize; j++) {
        const row = (h * headSize + j) * hidden;
        for (let i = 0; i < hidden; i++) out[(h * hidden + i) * headSize + j] = w[row + i]!;
      }
    }
    return out;
  });

  let query = linear(m, queries, spec.query, hidden, hidden); // [batch, q, hidden]
  if (spec.scaleQueryFirst) query = g.op('Div', [query, g.scalar(scale)]);
  const queryHeads = g.op('Transpose', [g.op('Reshape', [query, g.int64s([0, 0, heads, headSize])])], {
    perm: [0, 2, 1, 3],
  }); // [batch, heads, q, headSize]
  // u = W_K,hᵀ q_h per head and query, as rows [batch, heads·q, hidden] (head-major), then columns for the product.
  const keyDirections = g.op('Reshape', [g.op('MatMul', [queryHeads, keyHeads]), g.int64s([0, -1, hidden])]);
  const columns = g.op('Transpose', [keyDirections], { perm: [0, 2, 1] }); // [batch, hidden, heads·q]
  // One [seq, hidden] × [hidden, heads·q] product per sequence, turned to [batch, heads·q, seq].
  let scores = g.op(
    'Transpose',
    [g.op('MatMul', [x, columns])],
    { perm: [0, 2, 1] },
    { name: 'few_query_scores' },
  );
  if (!spec.scaleQueryFirst) scores = g.op('Div', [scores, g.scalar(scale)]);
  if (spec.positionBias) {
    // The first query row of the layout's [1, heads, L, L] term, as [1, heads, L] (heads·q with q = 1).
    const firstRow = g.op('Slice', [spec.positionBias(mask, x), g.int64s([0]), g.int64s([1]), g.int64s([2])]);
    scores = g.op(
      'Add',
      [scores, g.op('Squeeze', [firstRow, g.int64s([2])])],
      {},
      { name: 'few_query_position_bias' },
    );
  }
  // The masks are [batch, 1, 1, seq]; these scores have no separate head axis, so [batch, 1, seq] broadcasts.
  const dropHeadAxis = (v: Value): Value => g.op('Squeeze', [v, g.int64s([1])]);
  if (spec.maskStyle === 'add') {
    const bias = mask.additiveBias();
    if (bias) scores = g.op('Add', [scores, dropHeadAxis(bias)]);
  } else {
    const keep = mask.keepMask();
    if (keep) scores = g.op('Where', [dropHeadAxis(keep), scores, g.scalar(FLOAT32_MIN)]);
  }
  const probabilities = g.op('Softmax', [scores], { axis: -1 });
  // p_hᵀ x: [batch, heads·q, hidden] → [batch, heads, q, hidden] → times W_V,hᵀ → [batch, heads, q, headSize].
  const mixed = g.op('Reshape', [g.op('MatMul', [probabilities, x]), g.int64s([0, heads, -1, hidden])]);
  const contextHeads = g.op('MatMul', [mixed, valueHeadsT]);
  const merged = g.op('Reshape', [
    g.op('Transpose', [contextHeads], { perm: [0, 2, 1, 3] }),
    g.int64s([0, 0, hidden], 'merge_heads_shape'),
  ]);
  return g.op('Add', [merged, m.tensor(`${spec.value}.bias`, [hidden])], {}, { name: 'few_query_context' });
}

type ProjectionNames = Pick<SelfAttentionSpec, 'query' | 'key' | 'value' | 'hidden'>;

/** `x` times the query, key and value weights side by side: [..., 3·hidden], without the bias (one product). */
export function projectQueryKeyValue(m: ModelGraph, x: Value, spec: ProjectionNames): Value {
  const sources = [spec.query, spec.key, spec.value].map((prefix) => `${prefix}.weight`);
  return m.linearProduct(x, sources, spec.hidden, spec.hidden);
}

/** The query, key and value biases side by side [3·hidden], built once. */
export function packedProjectionBias(m: ModelGraph, spec: ProjectionNames): Value {
  const { hidden } = spec;
  const prefixes = [spec.query, spec.key, spec.value];
  return m.derived(`${spec.query}+key+value.bias`, [3 * hidden], () => {
    const packed = new Float32Array(3 * hidden);
    prefixes.forEach((prefix, p) => packed.set(m.read(`${prefix}.bias`, [hidden]), p * hidden));
    return packed;
  });
}

/**
 * One fused kernel for the whole attention: com.microsoft Attention, which projects Q/K/V itself from fp32
 * weights; when the projections run in int8, the projection is our int8 product and MultiHeadAttention attends.
 */
function fusedAttention(m: ModelGraph, x: Value, mask: AttentionMask, spec: SelfAttentionSpec): Value {
  const g = m.g;
  const bias = packedProjectionBias(m, spec);
  const weights = [spec.query, spec.key, spec.value].map((prefix) => `${prefix}.weight`);
  if (m.int8For(weights)) {
    const [q, k, v] = queryKeyValue(m, x, spec);
    const positionBias = spec.positionBias ? [spec.positionBias(mask, x)] : [];
    return g.op(
      'MultiHeadAttention',
      [q!, k!, v!, bias, mask.maskIndex(), ...positionBias],
      { num_heads: spec.heads, mask_filter_value: attr.float(FLOAT32_MIN) },
      MS,
    );
  }
  const weight = m.stackedLinearWeight(weights, spec.hidden, spec.hidden); // [hidden, 3·hidden]
  // Inputs 4 and 5 are `past` (none here) and `attention_bias`, added to the scores like HF's position bias.
  const positionBias = spec.positionBias ? [null, spec.positionBias(mask, x)] : [];
  return g.op(
    'Attention',
    [x, weight, bias, mask.maskIndex(), ...positionBias],
    { num_heads: spec.heads, mask_filter_value: attr.float(FLOAT32_MIN) },
    MS,
  );
}

/** Splits [..., 3·hidden] into query, key and value. */
export function splitQueryKeyValue(m: ModelGraph, projected: Value, hidden: number): Value[] {
  return m.g.opMulti('Split', [projected, m.g.int64s([hidden, hidden, hidden])], 3, { axis: 2 });
}

/**
 * The query, key and value projections of `x`, [..., hidden] each, without their biases. In fp32 one product of
 * triple width, split; in int8 three products reading the same quantized rows, which saves the Split's copy of
 * the projections (1.5% of an int8 forward pass) at no cost to the products.
 */
function queryKeyValue(m: ModelGraph, x: Value, spec: ProjectionNames): Value[] {
  const prefixes = [spec.query, spec.key, spec.value];
  if (m.int8For(prefixes.map((prefix) => `${prefix}.weight`))) {
    return prefixes.map((prefix) => m.linearProduct(x, [`${prefix}.weight`], spec.hidden, spec.hidden));
  }
  return splitQueryKeyValue(m, projectQueryKeyValue(m, x, spec), spec.hidden);
}

/**
 * Attention on packed tokens: the projections run on the T real tokens, then for each length group Q, K and V are
 * gathered into the group's attention layout [rows, max_length, hidden] and attended there under the group's mask;
 * the groups' context vectors are gathered back to packed [1, T, hidden]. (Query subsets take
 * `fewQueryAttention`, over the whole batch's layout.)
 */
function packedSelfAttention(
  m: ModelGraph,
  layout: PackedLayout,
  x: Value,
  spec: SelfAttentionSpec,
): SelfAttentionResult {
  const g = m.g;
  const { hidden } = spec;
  if (m.options.contribOps) {
    const bias = packedProjectionBias(m, spec);
    // Q, K and V apart on the T packed tokens, then gather each part: splitting after the gather would copy the
    // filler slots of the attention layouts too. ORT's CPU MultiHeadAttention does not take packed QKV
    // ([batch, length, heads, 3, head]), so fp32's split cannot be avoided (int8 runs three products instead).
    const packedQkv = queryKeyValue(m, x, spec);
    const contexts = layout.groups.map((group) => {
      const [q, k, v] = packedQkv.map((part) => layout.toGroupLayout(part, group));
      // MultiHeadAttention adds the [3·hidden] bias to Q, K and V itself and hides masked keys (key_padding_mask);
      // input 5 is `attention_bias`, the group's position bias.
      const positionBias = spec.positionBias ? [spec.positionBias(group.mask, q!)] : [];
      return g.op(
        'MultiHeadAttention',
        [q!, k!, v!, bias, group.mask.maskIndex(), ...positionBias],
        { num_heads: spec.heads, mask_filter_value: attr.float(FLOAT32_MIN) },
        MS,
      );
    });
    return { context: layout.toPacked(contexts, hidden), probabilities: null };
  }
  const [query, key, value] = [spec.query, spec.key, spec.value].map((prefix) =>
    linear(m, x, prefix, hidden, hidden),
  );
  const contexts = layout.groups.map((group) => {
    const [q, k, v] = [query!, key!, value!].map((states) => layout.toGroupLayout(states, group));
    return attendProjected(m, q!, k!, v!, group.mask, spec).context;
  });
  return { context: layout.toPacked(contexts, hidden), probabilities: null };
}

/** Standard-op attention on projected query [batch, q, hidden] and key/value [batch, seq, hidden]. */
function attendProjected(
  m: ModelGraph,
  queryStates: Value,
  keyStates: Value,
  valueStates: Value,
  mask: AttentionMask,
  spec: SelfAttentionSpec,
): SelfAttentionResult {
  const g = m.g;
  const { hidden, heads } = spec;
  const headSize = hidden / heads;
  const splitHeads = g.int64s([0, 0, heads, headSize], 'split_heads_shape');
  // [batch, seq, hidden] → [batch, heads, seq, headSize] (or [batch, heads, headSize, seq] for the keys).
  const split = (states: Value, perm: number[]): Value =>
    g.op('Transpose', [g.op('Reshape', [states, splitHeads])], { perm });
  let query = split(queryStates, [0, 2, 1, 3]);
  const keyT = split(keyStates, [0, 2, 3, 1]);
  const value = split(valueStates, [0, 2, 1, 3]);

  const scale = Math.sqrt(headSize);
  if (spec.scaleQueryFirst) query = g.op('Div', [query, g.scalar(scale)]);
  let scores = g.op('MatMul', [query, keyT]);
  if (!spec.scaleQueryFirst) scores = g.op('Div', [scores, g.scalar(scale)]);
  if (spec.positionBias) scores = g.op('Add', [scores, spec.positionBias(mask, keyStates)]);
  if (spec.maskStyle === 'add') {
    const bias = mask.additiveBias();
    if (bias) scores = g.op('Add', [scores, bias]);
  } else {
    const keep = mask.keepMask();
    if (keep) scores = g.op('Where', [keep, scores, g.scalar(FLOAT32_MIN)]);
  }
  const probabilities = g.op('Softmax', [scores], { axis: -1 });
  const context = g.op('MatMul', [probabilities, value]);
  const merged = g.op('Reshape', [
    g.op('Transpose', [context], { perm: [0, 2, 1, 3] }),
    g.int64s([0, 0, hidden], 'merge_heads_shape'),
  ]);
  return { context: merged, probabilities: spec.outputProbabilities ? probabilities : null };
}
