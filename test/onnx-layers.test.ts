/**
 * The shared graph blocks of src/models/layers.ts against hand-written float64 math: every activation in both
 * lowerings, layer norm, linear layers, the attention mask forms and RoBERTa's position ids.
 */
import assert from 'node:assert/strict';
import test from 'node:test';
import * as ort from 'onnxruntime-node';
import { ConfigError } from '../src/errors.js';
import {
  ACTIVATIONS,
  activation,
  activationFromConfig,
  AttentionMask,
  FLOAT32_MIN,
  layerNorm,
  linear,
  ModelGraph,
  positionIdsFromInputIds,
  selfAttention,
  type ActivationName,
} from '../src/models/layers/index.js';
import type { WeightStore } from '../src/weights/types.js';

/** A WeightStore over in-memory tensors. */
function memoryStore(tensors: Record<string, { shape: number[]; data: number[] }>): WeightStore {
  return {
    files: ['memory'],
    names: () => Object.keys(tensors),
    has: (name) => name in tensors,
    info: (name) => (tensors[name] ? { dtype: 'F32', shape: tensors[name].shape } : undefined),
    getFloat32: (name, expectedShape) => {
      const t = tensors[name];
      if (!t) throw new Error(`missing ${name}`);
      if (expectedShape) assert.deepEqual(expectedShape, t.shape, `${name} shape`);
      return { shape: t.shape, data: Float32Array.from(t.data) };
    },
  };
}

async function runFloat(m: ModelGraph, feeds: Record<string, ort.Tensor>): Promise<Record<string, number[]>> {
  const session = await ort.InferenceSession.create(m.g.toBytes(), { graphOptimizationLevel: 'all' });
  const out = await session.run(feeds);
  return Object.fromEntries(Object.entries(out).map(([k, v]) => [k, [...(v.data as Float32Array)]]));
}

/** erf by its Maclaurin series, accurate to ~1e-12 for |x| ≤ 4 in float64. */
function erf(x: number): number {
  let term = x;
  let sum = x;
  for (let n = 1; n < 200; n++) {
    term *= (-x * x) / n;
    sum += term / (2 * n + 1);
  }
  return (2 / Math.sqrt(Math.PI)) * sum;
}

const sigmoid = (x: number): number => 1 / (1 + Math.exp(-x));
/** transformers/activations.py, written out in float64. */
const REFERENCE: Record<ActivationName, (x: number) => number> = {
  gelu: (x) => 0.5 * x * (1 + erf(x / Math.SQRT2)),
  gelu_python: (x) => 0.5 * x * (1 + erf(x / Math.SQRT2)),
  gelu_new: (x) => 0.5 * x * (1 + Math.tanh(Math.sqrt(2 / Math.PI) * (x + 0.044715 * x ** 3))),
  gelu_pytorch_tanh: (x) => 0.5 * x * (1 + Math.tanh(Math.sqrt(2 / Math.PI) * (x + 0.044715 * x ** 3))),
  gelu_fast: (x) => 0.5 * x * (1 + Math.tanh(x * 0.7978845608 * (1 + 0.044715 * x * x))),
  quick_gelu: (x) => x * sigmoid(1.702 * x),
  relu: (x) => Math.max(0, x),
  silu: (x) => x * sigmoid(x),
  swish: (x) => x * sigmoid(x),
  tanh: (x) => Math.tanh(x),
  sigmoid,
  linear: (x) => x,
};

const xs = [-5, -3, -1.5, -0.7, -0.1, 0, 0.05, 0.5, 1, 2.25, 4, 5];

for (const contribOps of [true, false]) {
  test(`activations match transformers' formulas (${contribOps ? 'contrib' : 'standard'} ops)`, async () => {
    const m = new ModelGraph(memoryStore({}), { contribOps });
    const x = m.g.input('x', 'float32', [xs.length]);
    const bias = m.g.constant(new Float32Array(xs.length).fill(0.25));
    for (const name of ACTIVATIONS) {
      m.g.output(activation(m, x, name), name, 'float32', [xs.length]);
      m.g.output(activation(m, x, name, bias), `${name}+bias`, 'float32', [xs.length]);
    }
    const out = await runFloat(m, { x: new ort.Tensor('float32', Float32Array.from(xs), [xs.length]) });
    for (const name of ACTIVATIONS) {
      xs.forEach((v, i) => {
        for (const [key, input] of [
          [name, v],
          [`${name}+bias`, v + 0.25],
        ] as const) {
          const want = REFERENCE[name](Math.fround(input));
          const got = out[key]![i]!;
          assert.ok(
            Math.abs(got - want) <= 2e-6 + 2e-6 * Math.abs(want),
            `${key}(${input}) = ${got}, expected ${want}`,
          );
        }
      });
    }
  });
}

test('an unknown activation is a ConfigError naming the config field', () => {
  assert.equal(activationFromConfig('gelu_new', 'hidden_act'), 'gelu_new');
  assert.throws(
    () => activationFromConfig('gelu_10', 'hidden_act'),
    (e: unknown) =>
      e instanceof ConfigError &&
      e.field === 'hidden_act' &&
      /unsupported activation "gelu_10"/.test(e.message),
  );
  assert.throws(
    () => activationFromConfig(3, 'activation'),
    (e: unknown) => e instanceof ConfigError && e.field === 'activation',
  );
});

test('linear and layer norm read torch layouts: W [out, in], y = x·Wᵀ + b', async () => {
  const weights = memoryStore({
    'dense.weight': { shape: [3, 2], data: [1, 2, 3, 4, 5, 6] },
    'dense.bias': { shape: [3], data: [0.5, -0.5, 1] },
    'norm.gamma': { shape: [3], data: [1, 2, 0.5] }, // legacy TF-era names are accepted for weight/bias
    'norm.beta': { shape: [3], data: [0, 1, -1] },
  });
  for (const contribOps of [true, false]) {
    const m = new ModelGraph(weights, { contribOps });
    const x = m.g.input('x', 'float32', [1, 2]);
    const y = linear(m, x, 'dense', 2, 3);
    m.g.output(y, 'y', 'float32', [1, 3]);
    m.g.output(layerNorm(m, y, 'norm', 3, 1e-5), 'z', 'float32', [1, 3]);
    const out = await runFloat(m, { x: new ort.Tensor('float32', new Float32Array([1, -1]), [1, 2]) });
    // [1,-1]·Wᵀ = [1-2, 3-4, 5-6] = [-1,-1,-1] + b = [-0.5, -1.5, 0]
    assert.deepEqual(out.y, [-0.5, -1.5, 0]);
    const mean = -2 / 3;
    const variance = ((-0.5 - mean) ** 2 + (-1.5 - mean) ** 2 + (0 - mean) ** 2) / 3;
    const want = [-0.5, -1.5, 0].map(
      (v, i) => ((v - mean) / Math.sqrt(variance + 1e-5)) * [1, 2, 0.5][i]! + [0, 1, -1][i]!,
    );
    out.z!.forEach((v, i) => assert.ok(Math.abs(v - want[i]!) < 1e-5, `z[${i}] = ${v}, expected ${want[i]}`));
  }
});

test('attention: masked keys get probability exactly 0, in both mask styles, and the mask forms are HF’s', async () => {
  const hidden = 4;
  const identity = { shape: [4, 4], data: [1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1] };
  const zeros = { shape: [4], data: [0, 0, 0, 0] };
  const weights = memoryStore({
    'q.weight': identity,
    'q.bias': zeros,
    'k.weight': identity,
    'k.bias': zeros,
    'v.weight': identity,
    'v.bias': zeros,
  });
  const x = [0.1, 0.2, 0.3, 0.4, 1, 0, -1, 0.5, 2, 1, 0, -1];
  for (const maskStyle of ['add', 'fill'] as const) {
    const m = new ModelGraph(weights, { contribOps: false });
    const input = m.g.input('x', 'float32', [1, 3, hidden]);
    const mask = new AttentionMask(m, m.g.input('mask', 'int64', [1, 3]));
    const { context, probabilities } = selfAttention(m, input, mask, {
      query: 'q',
      key: 'k',
      value: 'v',
      hidden,
      heads: 2,
      maskStyle,
      scaleQueryFirst: maskStyle === 'fill',
      outputProbabilities: true,
    });
    m.g.output(context, 'context', 'float32');
    m.g.output(probabilities!, 'probs', 'float32');
    m.g.output(mask.additiveBias()!, 'bias', 'float32');
    const out = await runFloat(m, {
      x: new ort.Tensor('float32', Float32Array.from(x), [1, 3, hidden]),
      mask: new ort.Tensor('int64', new BigInt64Array([1n, 1n, 0n]), [1, 3]),
    });
    // (1 - mask)·finfo.min: -0 for real keys, exactly as in torch, and finfo.min for the pad.
    assert.deepEqual(out.bias, [-0, -0, Math.fround(FLOAT32_MIN)]);
    // probs [1, heads 2, 3, 3]: the third key is masked for every query of every head.
    for (let row = 0; row < 6; row++) {
      assert.equal(out.probs![row * 3 + 2], 0, `probability of the masked key, row ${row}`);
      // Hand-computed softmax over the two real keys of head h (dims 2h, 2h+1), scale 1/√2.
      const head = Math.floor(row / 3);
      const query = row % 3;
      const dot = (a: number, b: number): number =>
        (x[a * 4 + 2 * head]! * x[b * 4 + 2 * head]! + x[a * 4 + 2 * head + 1]! * x[b * 4 + 2 * head + 1]!) /
        Math.SQRT2;
      const e0 = Math.exp(dot(query, 0));
      const e1 = Math.exp(dot(query, 1));
      assert.ok(Math.abs(out.probs![row * 3]! - e0 / (e0 + e1)) < 1e-6);
    }
  }
});

test('RoBERTa position ids: cumsum(ids != pad)·(ids != pad) + pad, wherever the padding is', async () => {
  const m = new ModelGraph(memoryStore({}), { contribOps: true });
  const ids = m.g.input('ids', 'int64', [2, 5]);
  m.g.output(positionIdsFromInputIds(m, ids, 1), 'positions', 'int64', [2, 5]);
  const session = await ort.InferenceSession.create(m.g.toBytes());
  const out = await session.run({
    ids: new ort.Tensor('int64', BigInt64Array.from([0n, 7n, 8n, 2n, 1n, 1n, 1n, 0n, 9n, 2n]), [2, 5]),
  });
  assert.deepEqual([...(out.positions!.data as BigInt64Array)].map(Number), [2, 3, 4, 5, 1, 1, 1, 2, 3, 4]);
});
