/**
 * How far one model output is from another (int8 against fp32): max and mean |a − b| over every float tensor the
 * two share, and max |a| (the scale the int8 tolerance is relative to). Used by the int8 tests and
 * bench/int8-accuracy.ts.
 */
import assert from 'node:assert/strict';
import type { ModelOutput } from '../../src/models/auto.js';
import { FloatTensor } from '../../src/runtime/tensor.js';

/**
 * The documented int8 tolerance on the fixture checkpoints (tiny random models, hidden size 32, whose weights are
 * far less regular than trained ones), for both weight schemes: every output within 0.15 · max |fp32 output| of
 * fp32, and the mean |Δ| within 0.1 · max |fp32 output| (outputs of a few numbers, such as two logits, make the
 * mean almost the max). Measured (bench/int8-accuracy.ts): the worst fixture is bert-multiple-choice, whose
 * outputs are two logits of at most 0.14: 0.080 / 0.047 symmetric, 0.114 / 0.081 asymmetric; every other fixture
 * stays under 0.075 / 0.046 with either scheme.
 */
export const INT8_MAX_SHARE = 0.15;
export const INT8_MEAN_SHARE = 0.1;

/** Max and mean |a − b| and max |a| over every float output both have. */
export function outputDifference(
  a: ModelOutput,
  b: ModelOutput,
): { max: number; mean: number; scale: number } {
  let [max, sum, count, scale] = [0, 0, 0, 0];
  for (const key of Object.keys(a) as (keyof ModelOutput)[]) {
    const x = a[key];
    const y = b[key];
    const pairs: [FloatTensor, FloatTensor][] = Array.isArray(x)
      ? x.map((t, i) => [t, (y as FloatTensor[])[i]!])
      : x instanceof FloatTensor
        ? [[x, y as FloatTensor]]
        : [];
    for (const [u, v] of pairs) {
      assert.deepEqual(v.dims, u.dims, `${key}: dims`);
      for (let i = 0; i < u.data.length; i++) {
        const d = Math.abs(u.data[i]! - v.data[i]!);
        max = Math.max(max, d);
        scale = Math.max(scale, Math.abs(u.data[i]!));
        sum += d;
        count++;
      }
    }
  }
  return { max, mean: sum / Math.max(count, 1), scale };
}
