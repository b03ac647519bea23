/**
 * Longformer graphs against the PyTorch fixtures (../shared/fixtures/models/longformer-{model,seqcls}): every case,
 * in both lowerings, with the graph taking exactly the inputs the case passed (global_attention_mask is always a
 * graph input: cases without one are fed HF's default for the head). Also: the window-covers-everything limit
 * equals RoBERTa on the same weights, the seq-cls default equals an explicit mask on token 0, the loss, and the
 * config / input errors.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import * as ort from 'onnxruntime-node';
import { ConfigError, WeightsError } from '../src/errors.js';
import { PretrainedConfig } from '../src/models/config.js';
import { defaultModelInput } from '../src/models/model-inputs.js';
import { buildModelGraph, taskFromConfig, type ModelTask } from '../src/models/index.js';
import { GLOBAL_ATTENTION_MASK, readLongformerConfig } from '../src/models/longformer.js';
import { ConfigReader } from '../src/models/layers/index.js';
import { toIntMatrix } from '../src/runtime/inputs.js';
import { sequenceClassificationLoss } from '../src/runtime/losses.js';
import { loadWeights } from '../src/weights/load.js';
import type { WeightStore } from '../src/weights/types.js';
import { sharedPath, skipUnlessShared } from './helpers/shared.js';
import { assertTensorClose, flattenNested, int64Tensor, type Nested } from './helpers/nested-tensors.js';

interface FixtureCase {
  name: string;
  inputs: Record<string, Nested>;
  options?: { output_hidden_states?: boolean; output_attentions?: boolean };
  outputs: Record<string, Nested>;
  float64?: { outputs: Record<string, Nested> };
}
interface Fixture {
  dir: string;
  config: Record<string, unknown>;
  task: ModelTask;
  weights: WeightStore;
  cases: FixtureCase[];
}

const MODELS_DIR = sharedPath('fixtures', 'models');
const skip = skipUnlessShared('fixtures', 'models', 'longformer-model');
const FOLDERS = ['longformer-model', 'longformer-seqcls'];
const LONGFORMER_CONFIG = { model_type: 'longformer', pad_token_id: 1, sep_token_id: 2 };

async function loadFixture(folder: string): Promise<Fixture> {
  const dir = join(MODELS_DIR, folder);
  const config = JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8')) as Record<string, unknown>;
  const { cases } = JSON.parse(readFileSync(join(dir, 'expected.json'), 'utf8')) as { cases: FixtureCase[] };
  return { dir, config, task: taskFromConfig(config), weights: await loadWeights(dir), cases };
}

async function session(
  config: Record<string, unknown>,
  weights: WeightStore,
  task: ModelTask,
  options: { attentionMask: boolean; hidden?: boolean; attentions?: boolean; contribOps?: boolean },
): Promise<ort.InferenceSession> {
  const { bytes, inputNames } = buildModelGraph(config, weights, {
    task,
    inputs: { attentionMask: options.attentionMask },
    outputHiddenStates: options.hidden ?? false,
    outputAttentions: options.attentions ?? false,
    contribOps: options.contribOps ?? true,
  });
  if (config.model_type === 'longformer') {
    assert.deepEqual(inputNames, [
      'input_ids',
      ...(options.attentionMask ? ['attention_mask'] : []),
      GLOBAL_ATTENTION_MASK,
    ]);
  }
  return ort.InferenceSession.create(bytes, { intraOpNumThreads: 1 });
}

/** The model API's HF default global mask for `task` (what forward() feeds when the caller passes none). */
function defaultGlobalFeed(task: ModelTask, ids: Nested): ort.Tensor {
  const matrix = defaultModelInput(
    'global_attention_mask',
    toIntMatrix(ids as number[][], 'input_ids'),
    new PretrainedConfig(LONGFORMER_CONFIG),
    task,
  );
  return new ort.Tensor('int64', matrix.data, matrix.dims);
}

/** Feeds for a case: its own inputs, and HF's default global mask for the head when it passed none. */
function feedsOf(c: FixtureCase, task: ModelTask): Record<string, ort.Tensor> {
  const feeds: Record<string, ort.Tensor> = { input_ids: int64Tensor(c.inputs.input_ids!) };
  if (c.inputs.attention_mask) feeds.attention_mask = int64Tensor(c.inputs.attention_mask);
  feeds[GLOBAL_ATTENTION_MASK] = c.inputs.global_attention_mask
    ? int64Tensor(c.inputs.global_attention_mask)
    : defaultGlobalFeed(task, c.inputs.input_ids!);
  return feeds;
}

/** The window padding LongformerModel applies: up to a multiple of max(attention_window). */
function paddedLength(length: number, window: number): number {
  return Math.ceil(length / window) * window;
}

for (const folder of FOLDERS) {
  for (const contribOps of [true, false]) {
    const lowering = contribOps ? 'contrib ops' : 'standard ops';
    test(`${folder} matches PyTorch on every fixture case (${lowering})`, { skip }, async () => {
      const fixture = await loadFixture(folder);
      const worst = { outputs: 0, attentions: 0, float64: 0 };
      const sessions = new Map<string, Promise<ort.InferenceSession>>();
      for (const c of fixture.cases) {
        const options = {
          attentionMask: 'attention_mask' in c.inputs,
          hidden: c.options?.output_hidden_states ?? false,
          attentions: c.options?.output_attentions ?? false,
          contribOps,
        };
        const key = JSON.stringify(options);
        if (!sessions.has(key))
          sessions.set(key, session(fixture.config, fixture.weights, fixture.task, options));
        const got = await (await sessions.get(key)!).run(feedsOf(c, fixture.task));

        for (const [name, value] of Object.entries(c.outputs)) {
          if (name === 'loss') {
            const loss = sequenceClassificationLoss(
              { data: got.logits!.data as Float32Array, dims: [...got.logits!.dims] },
              {
                data: Float64Array.from(flattenNested(c.inputs.labels!).data),
                dims: flattenNested(c.inputs.labels!).dims,
              },
              3,
              undefined,
            );
            const diff = Math.abs(loss - (value as number));
            assert.ok(
              diff <= 1e-4 + 1e-4 * Math.abs(value as number),
              `${c.name} loss: ${loss} vs ${String(value)}`,
            );
            worst.outputs = Math.max(worst.outputs, diff);
          } else if (name === 'hidden_states' || name === 'attentions' || name === 'global_attentions') {
            const layers = value as Nested[];
            layers.forEach((layer, i) => {
              const output = got[`${name}.${i}`];
              assert.ok(output, `${c.name}: missing output ${name}.${i}`);
              if (name === 'hidden_states') {
                worst.outputs = Math.max(
                  worst.outputs,
                  assertTensorClose(output, layer, `${c.name} ${name}.${i}`, 1e-4, 1e-4, {
                    exactZeros: true,
                  }),
                );
              } else {
                worst.attentions = Math.max(
                  worst.attentions,
                  assertTensorClose(output, layer, `${c.name} ${name}.${i}`, 1e-5, 0, { exactZeros: true }),
                );
              }
            });
            assert.equal(got[`${name}.${layers.length}`], undefined, `${c.name}: too many ${name}`);
          } else {
            assert.ok(got[name], `${c.name}: missing output ${name}`);
            worst.outputs = Math.max(
              worst.outputs,
              assertTensorClose(got[name]!, value, `${c.name} ${name}`, 1e-4, 1e-4, { exactZeros: true }),
            );
          }
        }
        // HF returns no global_attentions when no row has a global token; the graph returns them with 0 columns.
        if (c.options?.output_attentions && !('global_attentions' in c.outputs)) {
          const [batch, seq] = flattenNested(c.inputs.input_ids!).dims as [number, number];
          assert.deepEqual([...got['global_attentions.0']!.dims], [batch, 4, paddedLength(seq, 4), 0]);
        }
        for (const [name, value] of Object.entries(c.float64?.outputs ?? {})) {
          worst.float64 = Math.max(
            worst.float64,
            assertTensorClose(got[name]!, value, `${c.name} float64 ${name}`, 1e-4, 1e-4, {
              exactZeros: true,
            }),
          );
        }
      }
      console.log(
        `# ${folder} (${lowering}): max |diff| outputs ${worst.outputs.toExponential(2)}, attentions ` +
          `${worst.attentions.toExponential(2)}, vs float64 ${worst.float64.toExponential(2)}`,
      );
    });
  }
}

describe('Longformer global attention', { skip }, () => {
  test('sequence classification: the default (global on token 0) equals an explicit mask on token 0, bit for bit', async () => {
    const fixture = await loadFixture('longformer-seqcls');
    const explicit = fixture.cases.find((c) => c.name === 'global_attention_cls_explicit')!;
    const s = await session(fixture.config, fixture.weights, 'sequence-classification', {
      attentionMask: true,
    });
    const withExplicit = await s.run(feedsOf(explicit, 'sequence-classification'));
    const { global_attention_mask: _given, ...withoutGlobal } = explicit.inputs;
    const withDefault = await s.run(
      feedsOf({ ...explicit, inputs: withoutGlobal }, 'sequence-classification'),
    );
    assert.deepEqual(withDefault.logits!.data, withExplicit.logits!.data);
    // And a base model given no global mask uses none: same as an explicit mask of zeros, unlike token 0.
    const base = await session(fixture.config, fixture.weights, 'base', { attentionMask: true });
    const ids = int64Tensor(explicit.inputs.input_ids!);
    const mask = int64Tensor(explicit.inputs.attention_mask!);
    const none = await base.run({
      input_ids: ids,
      attention_mask: mask,
      [GLOBAL_ATTENTION_MASK]: defaultGlobalFeed('base', explicit.inputs.input_ids!),
    });
    const cls = await base.run({
      input_ids: ids,
      attention_mask: mask,
      [GLOBAL_ATTENTION_MASK]: int64Tensor(explicit.inputs.global_attention_mask!),
    });
    const a = none.last_hidden_state!.data as Float32Array;
    const b = cls.last_hidden_state!.data as Float32Array;
    assert.ok(
      a.some((v, i) => Math.abs(v - b[i]!) > 1e-2),
      'global attention on token 0 changes the base model output',
    );
  });

  test('a window covering the whole sequence without global tokens is RoBERTa on the same weights', async () => {
    const fixture = await loadFixture('longformer-model');
    const padded = fixture.cases.find((c) => c.name === 'batch_padded')!;
    const wide = { ...fixture.config, attention_window: [64, 64] };
    const roberta = { ...fixture.config, model_type: 'roberta' };
    delete (roberta as Record<string, unknown>).attention_window;
    const longformer = await (
      await session(wide, fixture.weights, 'base', { attentionMask: true })
    ).run(feedsOf(padded, 'base'));
    const reference = await (
      await session(roberta, fixture.weights, 'base', { attentionMask: true, contribOps: false })
    ).run({
      input_ids: int64Tensor(padded.inputs.input_ids!),
      attention_mask: int64Tensor(padded.inputs.attention_mask!),
    });
    // Real positions only: HF Longformer zeroes the attention of padding queries, RoBERTa lets them attend.
    const mask = flattenNested(padded.inputs.attention_mask!).data;
    const got = longformer.last_hidden_state!.data as Float32Array;
    const want = reference.last_hidden_state!.data as Float32Array;
    const hidden = 32;
    let worst = 0;
    let compared = 0;
    mask.forEach((real, token) => {
      if (!real) return;
      for (let k = token * hidden; k < (token + 1) * hidden; k++) {
        const diff = Math.abs(got[k]! - want[k]!);
        assert.ok(diff <= 1e-5, `token ${token}: ${got[k]} vs RoBERTa ${want[k]}`);
        worst = Math.max(worst, diff);
        compared++;
      }
    });
    assert.equal(compared, (19 + 14 + 6) * hidden);
    console.log(`# wide-window Longformer vs RoBERTa: max |diff| ${worst.toExponential(2)}`);
    // The fixture's 4-token window is not RoBERTa: the limit above is not a coincidence of tiny sequences.
    const narrow = await (
      await session(fixture.config, fixture.weights, 'base', { attentionMask: true })
    ).run(feedsOf(padded, 'base'));
    const a = narrow.last_hidden_state!.data as Float32Array;
    const b = reference.last_hidden_state!.data as Float32Array;
    assert.ok(a.some((v, i) => Math.abs(v - b[i]!) > 1e-2));
  });

  test('different windows per layer: a wide layer after a narrow one differs from both uniform configs', async () => {
    const fixture = await loadFixture('longformer-model');
    const padded = fixture.cases.find((c) => c.name === 'batch_padded')!;
    const run = async (window: number[]) =>
      await (
        await session({ ...fixture.config, attention_window: window }, fixture.weights, 'base', {
          attentionMask: true,
          attentions: true,
        })
      ).run(feedsOf(padded, 'base'));
    const mixed = await run([4, 8]);
    // Layer i's attention band is window_i + 1 wide (no global tokens here).
    assert.equal(mixed['attentions.0']!.dims[3], 5);
    assert.equal(mixed['attentions.1']!.dims[3], 9);
    // Layer 0 sees the same inputs as in the uniform [4, 4] model (both padded to a multiple of 8 vs 4 only adds
    // masked positions), so its probabilities agree with the fixture.
    const expectedLayers = padded.outputs.attentions as Nested[];
    assertTensorClose(mixed['attentions.0']!, expectedLayers[0]!, 'mixed windows layer 0', 1e-5, 0, {
      exactZeros: true,
    });
  });
});

describe('Longformer config and input errors', () => {
  const base = { model_type: 'longformer', num_hidden_layers: 2, hidden_size: 32, num_attention_heads: 4 };
  const read = (extra: Record<string, unknown>) =>
    readLongformerConfig(new ConfigReader({ ...base, ...extra }));

  test('attention_window: an int becomes one window per layer; a list is taken per layer; default 512', () => {
    assert.deepEqual(read({ attention_window: 4 }).attentionWindows, [4, 4]);
    assert.deepEqual(read({ attention_window: [2, 6] }).attentionWindows, [2, 6]);
    assert.deepEqual(read({ attention_window: [8, 2] }).attentionWindows, [8, 2]);
    assert.deepEqual(read({}).attentionWindows, [512, 512]);
  });

  for (const [what, value] of [
    ['odd', 3],
    ['zero', 0],
    ['negative', -4],
    ['fractional', 2.5],
    ['a string', '4'],
    ['an odd list member', [4, 5]],
    ['a zero list member', [0, 4]],
    ['a list shorter than the layers', [4]],
    ['a list longer than the layers', [4, 4, 4]],
    ['a window that does not divide the largest', [4, 6]],
  ] as const) {
    test(`attention_window ${what} is a ConfigError naming the field`, () => {
      assert.throws(
        () => read({ attention_window: value }),
        (e: unknown) =>
          e instanceof ConfigError && e.field === 'attention_window' && /attention_window/.test(e.message),
      );
    });
  }

  test('a broken attention_window stops buildModelGraph too', { skip }, async () => {
    const fixture = await loadFixture('longformer-model');
    assert.throws(
      () =>
        buildModelGraph({ ...fixture.config, attention_window: [4, 3] }, fixture.weights, { task: 'base' }),
      (e: unknown) => e instanceof ConfigError && e.field === 'attention_window',
    );
  });

  test('a head whose weights are missing is a WeightsError naming the tensor', { skip }, async () => {
    const fixture = await loadFixture('longformer-model');
    for (const [task, tensor] of [
      ['token-classification', 'classifier.weight'],
      ['question-answering', 'qa_outputs.weight'],
      ['masked-lm', 'lm_head.dense.weight'],
    ] as const) {
      assert.throws(
        () => buildModelGraph(fixture.config, fixture.weights, { task }),
        (e: unknown) => e instanceof WeightsError && e.message.includes(tensor),
      );
    }
  });
});

/** The checkpoint plus extra tensors (synthetic head weights), as a WeightStore. */
function withTensors(
  base: WeightStore,
  extra: Record<string, { shape: number[]; data: Float32Array }>,
): WeightStore {
  return {
    files: base.files,
    names: () => [...base.names(), ...Object.keys(extra)],
    has: (name) => name in extra || base.has(name),
    info: (name) => (name in extra ? { dtype: 'F32', shape: extra[name]!.shape } : base.info(name)),
    getFloat32: (name, expectedShape) => {
      const tensor = extra[name];
      if (!tensor) return base.getFloat32(name, expectedShape);
      if (expectedShape) assert.deepEqual(tensor.shape, expectedShape, name);
      return tensor;
    },
  };
}

/** Deterministic values in [-0.5, 0.5) (a 32-bit LCG), rounded to float32. */
function seeded(count: number, seed: number): Float32Array {
  let state = seed >>> 0;
  return Float32Array.from({ length: count }, () => {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    return state / 2 ** 32 - 0.5;
  });
}

/** erf by Abramowitz & Stegun 7.1.26 (|error| ≤ 1.5e-7), enough for a 1e-4 comparison. */
function erf(x: number): number {
  const t = 1 / (1 + 0.3275911 * Math.abs(x));
  const poly =
    t * (0.254829592 + t * (-0.284496736 + t * (1.421413741 + t * (-1.453152027 + t * 1.061405429))));
  return Math.sign(x) * (1 - poly * Math.exp(-x * x));
}

describe('Longformer task heads on the encoder output', { skip }, () => {
  const hidden = 32;
  const labels = 5;
  const vocab = 120;
  /** `x @ W^T + b` for one token vector, in float64. */
  const dense = (x: ArrayLike<number>, w: Float32Array, b: Float32Array, out: number): number[] =>
    Array.from({ length: out }, (_, o) => {
      let sum = b[o]!;
      for (let i = 0; i < x.length; i++) sum += w[o * x.length + i]! * x[i]!;
      return sum;
    });

  test('token classification, question answering and masked LM read the (cut back) sequence output as HF does', async () => {
    const fixture = await loadFixture('longformer-model');
    const c = fixture.cases.find((x) => x.name === 'global_attention')!;
    const head = {
      'classifier.weight': { shape: [labels, hidden], data: seeded(labels * hidden, 1) },
      'classifier.bias': { shape: [labels], data: seeded(labels, 2) },
      'qa_outputs.weight': { shape: [2, hidden], data: seeded(2 * hidden, 3) },
      'qa_outputs.bias': { shape: [2], data: seeded(2, 4) },
      'lm_head.dense.weight': { shape: [hidden, hidden], data: seeded(hidden * hidden, 5) },
      'lm_head.dense.bias': { shape: [hidden], data: seeded(hidden, 6) },
      'lm_head.layer_norm.weight': { shape: [hidden], data: seeded(hidden, 7).map((v) => 1 + v) },
      'lm_head.layer_norm.bias': { shape: [hidden], data: seeded(hidden, 8) },
      'lm_head.bias': { shape: [vocab], data: seeded(vocab, 9) },
    };
    const weights = withTensors(fixture.weights, head);
    const feeds = feedsOf(c, 'base');
    const run = async (task: ModelTask) =>
      (await session({ ...fixture.config, num_labels: labels }, weights, task, { attentionMask: true })).run(
        feeds,
      );
    const sequence = (await run('base')).last_hidden_state!;
    const [batch, seq] = sequence.dims as [number, number];
    const states = sequence.data as Float32Array;
    const tokenCls = (await run('token-classification')).logits!;
    const qa = await run('question-answering');
    const mlm = (await run('masked-lm')).logits!;
    assert.deepEqual([...tokenCls.dims], [batch, seq, labels]);
    assert.deepEqual([...mlm.dims], [batch, seq, vocab]);
    const words = fixture.weights.getFloat32('embeddings.word_embeddings.weight', [vocab, hidden]).data;
    let worst = 0;
    const check = (got: number, want: number, what: string) => {
      const diff = Math.abs(got - want);
      assert.ok(diff <= 1e-4 + 1e-4 * Math.abs(want), `${what}: ${got} vs ${want}`);
      worst = Math.max(worst, diff);
    };
    for (let t = 0; t < batch * seq; t++) {
      const x = states.subarray(t * hidden, (t + 1) * hidden);
      dense(x, head['classifier.weight'].data, head['classifier.bias'].data, labels).forEach((v, k) =>
        check((tokenCls.data as Float32Array)[t * labels + k]!, v, `token ${t} label ${k}`),
      );
      const [start, end] = dense(x, head['qa_outputs.weight'].data, head['qa_outputs.bias'].data, 2);
      check((qa.start_logits!.data as Float32Array)[t]!, start!, `token ${t} start`);
      check((qa.end_logits!.data as Float32Array)[t]!, end!, `token ${t} end`);
      // LongformerLMHead: dense → gelu (erf) → LayerNorm(eps 1e-12) → tied decoder + bias.
      const activated = dense(
        x,
        head['lm_head.dense.weight'].data,
        head['lm_head.dense.bias'].data,
        hidden,
      ).map((v) => 0.5 * v * (1 + erf(v / Math.SQRT2)));
      const mean = activated.reduce((a, b) => a + b, 0) / hidden;
      const variance = activated.reduce((a, b) => a + (b - mean) ** 2, 0) / hidden;
      const normed = activated.map(
        (v, i) =>
          ((v - mean) / Math.sqrt(variance + 1e-12)) * head['lm_head.layer_norm.weight'].data[i]! +
          head['lm_head.layer_norm.bias'].data[i]!,
      );
      dense(normed, words, head['lm_head.bias'].data, vocab).forEach((v, k) =>
        check((mlm.data as Float32Array)[t * vocab + k]!, v, `token ${t} vocab ${k}`),
      );
    }
    console.log(`# Longformer heads vs float64 on the encoder output: max |diff| ${worst.toExponential(2)}`);
  });
});
