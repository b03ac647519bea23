/**
 * ModernBERT's attention (transformers 4.48 modeling_modernbert.py, eager path): ModernBertRotaryEmbedding,
 * apply_rotary_pos_emb, the sliding-window mask of `ModernBertModel._update_attention_mask` and
 * `eager_attention_forward`. Split from modernbert.ts because it is the part with no BERT counterpart.
 *
 * Layouts. Padded: the hidden states are [batch, seq, hidden] and positions default to 0..seq-1. Packed: the
 * projections and the rotation run on the packed tokens [1, T, hidden] with each token's own position id (its
 * index in its sequence), then Q, K and V are gathered into each length group's attention layout, where slot j of
 * a row is token j of that sequence. The sliding window is built on slot distances there, so it is measured in
 * each sequence's own coordinates, exactly as HF's `|i - j| <= local_attention // 2` on an unpadded sequence.
 */
import { attr, Value } from '../onnx/graph-builder.js';
import { AttentionMask, FLOAT32_MIN, matmul, linear, ModelGraph } from './layers/index.js';

const MS = { domain: 'com.microsoft' } as const;

/**
 * ModernBertRotaryEmbedding's cos and sin of `position · inv_freq` for positions 0..rows-1, half width
 * ([rows, headDim / 2]: HF concatenates the half with itself). The float32 steps are those of the PyTorch code:
 * `inv_freq = 1 / base^(arange(0, dim, 2) / dim)` in float32, `freqs = inv_freq · position` in float32, then
 * cos/sin of that float32 angle (computed in double here and rounded: torch's float32 kernels are within an ulp).
 */
export function rotaryTables(
  rows: number,
  headDim: number,
  base: number,
): { cos: Float32Array; sin: Float32Array } {
  const half = headDim / 2;
  const invFreq = Array.from({ length: half }, (_, i) =>
    Math.fround(1 / Math.fround(Math.pow(base, Math.fround((2 * i) / headDim)))),
  );
  const cos = new Float32Array(rows * half);
  const sin = new Float32Array(rows * half);
  for (let p = 0; p < rows; p++) {
    for (let i = 0; i < half; i++) {
      const angle = Math.fround(invFreq[i]! * p);
      cos[p * half + i] = Math.cos(angle);
      sin[p * half + i] = Math.sin(angle);
    }
  }
  return { cos, sin };
}

export interface ModernBertAttentionSpec {
  /** `<layer>.attn`: Wqkv [3·hidden, hidden] (Q, K, V stacked, heads inside each) and Wo. */
  prefix: string;
  hidden: number;
  heads: number;
  /** `attention_bias`: Wqkv and Wo carry biases. */
  bias: boolean;
  /** The layer's rope_theta (global_rope_theta, or local_rope_theta on sliding-window layers). */
  ropeTheta: number;
  /** Tokens seen on each side (`local_attention // 2`), or null for a global layer. */
  window: number | null;
  outputProbabilities: boolean;
}

/**
 * What every layer of one graph shares: the rotary tables per theta, the position ids, and the additive masks
 * per attention layout and window (each built once).
 */
export class ModernBertAttentionContext {
  private readonly tables = new Map<number, { cos: Value; sin: Value }>();
  private readonly rotations = new Map<number, { cos: Value; sin: Value }>();
  private readonly biases = new Map<AttentionMask, Map<number | null, Value | null>>();
  private kernelPositionIds?: Value;

  constructor(
    private readonly m: ModelGraph,
    /** int64 [batch, seq] (packed: [1, T]), or null for 0..seq-1. */
    private readonly positionIds: Value | null,
    private readonly maxPositions: number,
    private readonly headDim: number,
  ) {}

  /** The half-width cos/sin tables of `theta` as initializers [max_position_embeddings, headDim / 2]. */
  table(theta: number): { cos: Value; sin: Value } {
    let table = this.tables.get(theta);
    if (!table) {
      const { cos, sin } = rotaryTables(this.maxPositions, this.headDim, theta);
      const dims = [this.maxPositions, this.headDim / 2];
      table = {
        cos: this.m.g.initializer(`rotary_cos_theta_${theta}`, cos, dims),
        sin: this.m.g.initializer(`rotary_sin_theta_${theta}`, sin, dims),
      };
      this.tables.set(theta, table);
    }
    return table;
  }

  /**
   * The position ids of the contrib RotaryEmbedding kernel: the input's, or [0], which it reads as 0..seq-1.
   * Packed, a column [T, 1]: the kernel refuses a sequence longer than its tables, which the T packed tokens may
   * be, so it rotates them as T sequences of one token each.
   */
  kernelPositions(): Value {
    const g = this.m.g;
    if (!this.positionIds) return (this.kernelPositionIds ??= g.int64s([0], 'rotary_position_offset'));
    if (!this.m.packed) return this.positionIds;
    return (this.kernelPositionIds ??= g.op(
      'Reshape',
      [this.positionIds, g.int64s([-1, 1])],
      {},
      { name: 'rotary_positions' },
    ));
  }

  /** cos and sin for every token, full width, shaped [batch, seq, 1, headDim] to broadcast over the heads. */
  rotation(theta: number, x: Value): { cos: Value; sin: Value } {
    let rotation = this.rotations.get(theta);
    if (!rotation) {
      const g = this.m.g;
      const table = this.table(theta);
      const full = (half: Value): Value => {
        let rows: Value;
        if (this.positionIds) rows = g.op('Gather', [half, this.positionIds], { axis: 0 });
        else {
          const length = g.op('Shape', [x], { start: 1, end: 2 });
          rows = g.op('Unsqueeze', [
            g.op('Slice', [half, g.int64s([0]), length, g.int64s([0])]),
            g.int64s([0]),
          ]);
        }
        return g.op('Unsqueeze', [g.op('Concat', [rows, rows], { axis: -1 }), g.int64s([2])]);
      };
      rotation = { cos: full(table.cos), sin: full(table.sin) };
      this.rotations.set(theta, rotation);
    }
    return rotation;
  }

  /**
   * The additive mask of one attention layout, as HF builds it: `(1 - mask) · finfo.min` on masked keys for a
   * global layer ([batch, 1, 1, seq], or null without a mask), and for a sliding-window layer the same with
   * finfo.min filled in wherever `|i - j| > window` ([batch, 1, seq, seq]). A query whose whole window is masked
   * (a padding position) then has finfo.min everywhere and attends uniformly to every key, as in PyTorch.
   */
  bias(mask: AttentionMask, window: number | null, x: Value): Value | null {
    let perWindow = this.biases.get(mask);
    if (!perWindow) this.biases.set(mask, (perWindow = new Map()));
    if (perWindow.has(window)) return perWindow.get(window)!;
    const keys = mask.additiveBias();
    let bias: Value | null = keys;
    if (window !== null) {
      const g = this.m.g;
      const length = g.op('Reshape', [
        g.op('Shape', [x], { start: 1, end: 2 }),
        g.int64s([], 'scalar_shape'),
      ]);
      const scalar = (v: bigint): Value => g.constant(new BigInt64Array([v]), []);
      const index = g.op('Range', [scalar(0n), length, scalar(1n)]);
      const distance = g.op('Abs', [
        g.op('Sub', [g.op('Unsqueeze', [index, g.int64s([1])]), g.op('Unsqueeze', [index, g.int64s([0])])]),
      ]);
      const inWindow = g.op('LessOrEqual', [distance, scalar(BigInt(window))]);
      bias = g.op(
        'Where',
        [inWindow, keys ?? g.scalar(0), g.scalar(FLOAT32_MIN)],
        {},
        { name: 'sliding_window_mask' },
      );
      if (!keys) bias = g.op('Unsqueeze', [bias, g.int64s([0, 1])]);
    }
    perWindow.set(window, bias);
    return bias;
  }
}

/** `rotate_half`-style rotation of [batch, seq, hidden] queries or keys: x·cos + rotate_half(x)·sin per head. */
function rotate(
  m: ModelGraph,
  x: Value,
  rotation: { cos: Value; sin: Value },
  heads: number,
  headDim: number,
): Value {
  const g = m.g;
  const split = g.op('Reshape', [x, g.int64s([0, 0, heads, headDim])]);
  const [x1, x2] = g.opMulti('Split', [split, g.int64s([headDim / 2, headDim / 2])], 2, { axis: -1 });
  const halfTurned = g.op('Concat', [g.op('Neg', [x2!]), x1!], { axis: -1 });
  return g.op('Add', [g.op('Mul', [split, rotation.cos]), g.op('Mul', [halfTurned, rotation.sin])]); // [b, s, h, d]
}

/** torch `nn.Linear(in, out, bias=bias)`: ModernBERT's config decides which of its linears have a bias. */
export function dense(
  m: ModelGraph,
  x: Value,
  prefix: string,
  inFeatures: number,
  outFeatures: number,
  bias: boolean,
): Value {
  return bias ? linear(m, x, prefix, inFeatures, outFeatures) : matmul(m, x, prefix, inFeatures, outFeatures);
}

/**
 * ModernBertAttention: Wqkv → rotary on Q and K → softmax(QKᵀ·d^-½ + mask)·V (the sliding-window mask on local
 * layers) → Wo. Returns the output and, when asked, the probabilities [batch, heads, seq, seq].
 */
export function modernBertAttention(
  m: ModelGraph,
  ctx: ModernBertAttentionContext,
  x: Value,
  mask: AttentionMask,
  spec: ModernBertAttentionSpec,
): { output: Value; probabilities: Value | null } {
  const g = m.g;
  const { hidden, heads } = spec;
  const headDim = hidden / heads;
  const qkv = dense(m, x, `${spec.prefix}.Wqkv`, hidden, 3 * hidden, spec.bias);
  const [query, key, value] = g.opMulti('Split', [qkv, g.int64s([hidden, hidden, hidden])], 3, { axis: -1 });

  let context: Value;
  let probabilities: Value | null = null;
  if (m.options.contribOps && !spec.outputProbabilities) {
    const table = ctx.table(spec.ropeTheta);
    const turn = (states: Value): Value => {
      if (!m.packed) {
        return g.op(
          'RotaryEmbedding',
          [states, ctx.kernelPositions(), table.cos, table.sin],
          { num_heads: heads },
          MS,
        );
      }
      // [1, T, hidden] as T sequences of one token (see kernelPositions).
      const tokens = g.op('Reshape', [states, g.int64s([-1, 1, hidden])]);
      const turned = g.op(
        'RotaryEmbedding',
        [tokens, ctx.kernelPositions(), table.cos, table.sin],
        { num_heads: heads },
        MS,
      );
      return g.op('Reshape', [turned, g.int64s([1, -1, hidden])]);
    };
    const [q, k] = [turn(query!), turn(key!)];
    const attend = (q: Value, k: Value, v: Value, layoutMask: AttentionMask, layout: Value): Value => {
      // Global layers hide masked keys with the key padding mask; local layers pass the whole windowed mask.
      const bias = spec.window === null ? null : ctx.bias(layoutMask, spec.window, layout);
      const keyPadding = spec.window === null ? layoutMask.maskIndex() : null;
      return g.op(
        'MultiHeadAttention',
        [q, k, v, null, keyPadding, bias],
        { num_heads: heads, mask_filter_value: attr.float(FLOAT32_MIN) },
        MS,
      );
    };
    context = inLayouts(m, [q, k, value!], mask, hidden, attend);
  } else {
    const rotation = ctx.rotation(spec.ropeTheta, x);
    const q = rotate(m, query!, rotation, heads, headDim);
    const k = rotate(m, key!, rotation, heads, headDim);
    const v = g.op('Reshape', [value!, g.int64s([0, 0, heads, headDim])]);
    const flat = (t: Value): Value => g.op('Reshape', [t, g.int64s([0, 0, hidden])]);
    const attend = (q: Value, k: Value, v: Value, layoutMask: AttentionMask, layout: Value): Value => {
      const split = (t: Value, perm: number[]): Value =>
        g.op('Transpose', [g.op('Reshape', [t, g.int64s([0, 0, heads, headDim])])], { perm });
      let scores = g.op('Mul', [
        g.op('MatMul', [split(q, [0, 2, 1, 3]), split(k, [0, 2, 3, 1])]),
        g.scalar(headDim ** -0.5),
      ]);
      const bias = ctx.bias(layoutMask, spec.window, layout);
      if (bias) scores = g.op('Add', [scores, bias]);
      const p = g.op('Softmax', [scores], { axis: -1 });
      if (spec.outputProbabilities) probabilities = p;
      const mixed = g.op('MatMul', [p, split(v, [0, 2, 1, 3])]);
      return g.op('Reshape', [g.op('Transpose', [mixed], { perm: [0, 2, 1, 3] }), g.int64s([0, 0, hidden])]);
    };
    context = inLayouts(m, [flat(q), flat(k), flat(v)], mask, hidden, attend);
  }
  return { output: dense(m, context, `${spec.prefix}.Wo`, hidden, hidden, spec.bias), probabilities };
}

/**
 * Runs `attend` on Q, K and V [batch, seq, hidden] in the padded layout, or per length group of the packed layout
 * (gathered there and back). `layout` is a value whose axis 1 is the layout's length.
 */
function inLayouts(
  m: ModelGraph,
  [q, k, v]: Value[],
  mask: AttentionMask,
  hidden: number,
  attend: (q: Value, k: Value, v: Value, mask: AttentionMask, layout: Value) => Value,
): Value {
  const layout = m.packed;
  if (!layout) return attend(q!, k!, v!, mask, q!);
  const contexts = layout.groups.map((group) => {
    const [gq, gk, gv] = [q!, k!, v!].map((states) => layout.toGroupLayout(states, group));
    return attend(gq!, gk!, gv!, group.mask, gq!);
  });
  return layout.toPacked(contexts, hidden);
}
