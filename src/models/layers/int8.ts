/**
 * int8 matrix products for every architecture: a torch Linear weight is quantized at load, per output channel
 * and symmetric (int8, zero point 0, scale = max|row| / 127), and the activations are quantized dynamically per
 * row (per token): each row's scale is its own max|x| / 127, never one scale for the whole batch, so a text's
 * result does not depend on what it is batched with.
 *
 * The lowering (measured against the alternatives with bench/int8-ops.ts, docs/models.md "int8"): the per-row
 * quantization in standard ops (ReduceMax, ReduceMin → scale; x / scale → QuantizeLinear with scale 1 and zero
 * point 128, i.e. round half to even, + 128, saturate to uint8), then one com.microsoft MatMulIntegerToFloat:
 * uint8 activations with zero point 128 times int8 weights, scaled by the row scale and the per-channel weight
 * scales to float. (uint8 × int8 is the product MLAS runs on VNNI; int8 × int8 measured 8× slower, and
 * MatMulNBits with 8-bit weights 1.5× slower; DynamicQuantizeMatMul and DynamicQuantizeLinear quantize per
 * tensor.)
 */
import type { Value } from '../../onnx/graph-builder.js';

/**
 * The `int8Exclude` default: the per-sequence heads (BERT's pooler, the sequence classifiers). They multiply one
 * row per sequence, so int8 saves nothing there, while their error reaches the logits directly: on the demo model
 * over SST-2 dev, mean |Δlogit| against fp32 was 0.0028 with them in fp32 against 0.0040 quantized (labels equal
 * either way). Token-level heads and MLM decoders, which multiply every token, stay int8 (a `classifier` on every
 * token is excluded too, by its name: it is a few columns wide).
 */
export const DEFAULT_INT8_EXCLUDE: readonly string[] = ['pooler', 'pre_classifier', 'classifier'];

/** What a graph's int8 products are built with (part of the graph-cache key through the build options). */
export interface Int8Settings {
  /**
   * Linear layers left in fp32, matched against the checkpoint name of the layer's weight (without `.weight`):
   * an entry matches a run of whole dot-separated segments of the name, so `classifier` matches `classifier` and
   * `roberta.classifier.dense` but not `pre_classifier`, and `attention.output.dense` matches every layer's
   * attention output.
   */
  exclude: readonly string[];
  /** How the weights are quantized per output channel (see quantizeLinearWeights). */
  weights: Int8WeightScheme;
}

export const INT8_WEIGHT_SCHEMES = ['symmetric', 'asymmetric'] as const;
export type Int8WeightScheme = (typeof INT8_WEIGHT_SCHEMES)[number];
/** The `int8Weights` default (measured: docs/models.md, "int8"). */
export const DEFAULT_INT8_WEIGHTS: Int8WeightScheme = 'symmetric';

/** Whether the Linear layer `prefix` (e.g. `bert.encoder.layer.0.attention.self.query`) is left in fp32. */
export function excludedFromInt8(prefix: string, exclude: readonly string[]): boolean {
  const name = `.${prefix}.`;
  return exclude.some((entry) => entry.length > 0 && name.includes(`.${entry}.`));
}

export interface QuantizedWeight {
  /** [inFeatures, outFeatures] row-major: the transposed torch weight, ready as MatMul's right operand. */
  weight: Int8Array;
  /** [outFeatures]: one scale per output channel. */
  scales: Float32Array;
  /** [outFeatures]: one zero point per output channel (asymmetric only; symmetric weights have zero point 0). */
  zeroPoints: Int8Array | null;
}

/**
 * Quantizes torch Linear weights [out, in] (several stacked as one product's output channels, e.g. the fused
 * Q/K/V projection) per output channel. Each part is read, quantized and dropped in turn (`read` may widen
 * fp16/bf16 to one fp32 copy of that tensor), so no fp32 copy of the whole product is ever held.
 *
 * 'symmetric': int8 in [−127, 127], zero point 0, scale = max |w| / 127.
 * 'asymmetric': int8 in [−128, 127] with a zero point per channel, scale = (max − min) / 255 over the channel's
 * range widened to hold 0 (so 0 stays exact), zero point = round(−128 − min / scale), as ONNX Runtime's Python
 * quantizer computes it. The weights stay signed so the product keeps the uint8 × int8 kernel (VNNI's vpdpbusd).
 */
export function quantizeLinearWeights(
  parts: readonly { outFeatures: number; read: () => Float32Array }[],
  inFeatures: number,
  scheme: Int8WeightScheme = 'symmetric',
): QuantizedWeight {
  const total = parts.reduce((sum, p) => sum + p.outFeatures, 0);
  const weight = new Int8Array(inFeatures * total);
  const scales = new Float32Array(total);
  const zeroPoints = scheme === 'asymmetric' ? new Int8Array(total) : null;
  let column = 0;
  for (const part of parts) {
    const rows = part.read();
    for (let o = 0; o < part.outFeatures; o++, column++) {
      const base = o * inFeatures;
      let [min, max] = [0, 0];
      for (let i = 0; i < inFeatures; i++) {
        const v = rows[base + i]!;
        if (v < min) min = v;
        if (v > max) max = v;
      }
      let zero = 0;
      let low = -127;
      let scale: number;
      if (zeroPoints) {
        scale = Math.fround((max - min) / 255);
        low = -128;
        if (scale > 0) zero = Math.min(127, Math.max(-128, Math.round(-128 - min / scale)));
        zeroPoints[column] = zero;
      } else scale = Math.fround(Math.max(max, -min) / 127);
      scales[column] = scale;
      if (scale === 0) continue; // an all-zero channel stays 0
      const inverse = 1 / scale;
      for (let i = 0; i < inFeatures; i++) {
        const q = Math.round(rows[base + i]! * inverse) + zero;
        weight[i * total + column] = q > 127 ? 127 : q < low ? low : q;
      }
    }
  }
  return { weight, scales, zeroPoints };
}

/** The graph operations an int8 product needs (a subset of GraphBuilder, so this file stays graph-agnostic). */
interface ProductGraph {
  op(
    type: string,
    inputs: (Value | null)[],
    attrs?: Record<string, number | number[]>,
    options?: object,
  ): Value;
  scalar(value: number): Value;
}

/**
 * Per-row quantization of `x` [..., K]: uint8 rows with zero point `zeroPoint` (a uint8 scalar holding 128) and
 * each row's scale [..., 1].
 *
 * The division by the row's scale is its own Div; rounding, the shift by the zero point and the conversion are one
 * per-tensor QuantizeLinear with scale 1 (MLAS' vectorised, threaded quantizer). That gives the same bytes as
 * Round → Add 128 → Cast (both round half to even), in one pass over the tensor instead of three; ONNX Runtime's
 * Round kernel alone took 11% of a DistilBERT-base int8 forward pass (BENCHMARKS.md, "Where the int8 time goes").
 * QuantizeLinear cannot take the row scales itself: its per-axis form dispatches one threaded call per row.
 */
export function quantizeRows(g: ProductGraph, x: Value, zeroPoint: Value): { rows: Value; scale: Value } {
  // max |x| as max(max x, −min x): two reading passes instead of Abs writing a copy of x for ReduceMax to read.
  const reduce = (op: string) => g.op(op, [x], { axes: [-1], keepdims: 1 });
  const max = g.op('Max', [reduce('ReduceMax'), g.op('Neg', [reduce('ReduceMin')])]);
  // A row of zeros gets a tiny scale instead of 0: its quantized values are then 0 + 128, not NaN.
  const scale = g.op(
    'Max',
    [g.op('Div', [max, g.scalar(127)]), g.scalar(1e-30)],
    {},
    { name: 'int8_row_scale' },
  );
  const rows = g.op(
    'QuantizeLinear',
    [g.op('Div', [x, scale]), g.scalar(1), zeroPoint],
    {},
    { name: 'int8_rows' },
  );
  return { rows, scale };
}

/**
 * `x @ W` with the per-row quantized `x` (from quantizeRows, zero point `rowZeroPoint`) and a quantized weight's
 * initializers (its per-channel zero points null when symmetric).
 */
export function int8Product(
  g: ProductGraph,
  x: { rows: Value; scale: Value },
  weight: { weight: Value; scales: Value; zeroPoints: Value | null },
  rowZeroPoint: Value,
): Value {
  return g.op(
    'MatMulIntegerToFloat',
    [x.rows, weight.weight, x.scale, weight.scales, rowZeroPoint, weight.zeroPoints],
    {},
    {
      domain: 'com.microsoft',
      name: 'int8_matmul',
    },
  );
}
