/**
 * ModernBERT beyond what the shared fixture tests run (test/models-fixtures.test.ts and test/models-api.test.ts run
 * every models-2/modernbert-* case padded): the packed graph against the PyTorch fixtures, left-padded rows and
 * packed rows against each row alone, `seqbatch forward`, the errors, and configurations the fixtures lack against
 * a float64 reference (test/helpers/modernbert-reference.ts).
 */
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { after, describe, test } from 'node:test';
import * as ort from 'onnxruntime-node';
import { runForward } from '../src/cli/commands/forward.js';
import { InputError, WeightsError } from '../src/errors.js';
import { PreTrainedModel, type ModelOutput } from '../src/models/auto.js';
import { buildModelGraph, taskFromConfig } from '../src/models/index.js';
import { FloatTensor } from '../src/runtime/tensor.js';
import { loadWeights } from '../src/weights/load.js';
import { serializeSafetensors, type TensorToWrite } from '../src/weights/write.js';
import { modernBertReference } from './helpers/modernbert-reference.js';
import { assertTensorClose, type Nested } from './helpers/nested-tensors.js';
import { mulberry32 } from './helpers/random.js';
import { sharedPath, skipUnlessShared } from './helpers/shared.js';

const MODELS = ['fixtures', 'models-2'] as const;
const FOLDERS = ['modernbert-model', 'modernbert-seqcls', 'modernbert-tokcls', 'modernbert-mlm'];
const skip = skipUnlessShared(...MODELS, 'modernbert-model');
const tmp = mkdtempSync(join(tmpdir(), 'seqbatch-modernbert-'));
after(() => rmSync(tmp, { recursive: true, force: true }));

interface FixtureCase {
  name: string;
  inputs: Record<string, Nested>;
  options?: { output_hidden_states?: boolean; output_attentions?: boolean };
  outputs: Record<string, Nested | Nested[]>;
}

const dirOf = (folder: string): string => sharedPath(...MODELS, folder);
const readJson = <T>(folder: string, file: string): T =>
  JSON.parse(readFileSync(join(dirOf(folder), file), 'utf8')) as T;
const casesOf = (folder: string): FixtureCase[] =>
  readJson<{ cases: FixtureCase[] }>(folder, 'expected.json').cases;
const configOf = (folder: string): Record<string, unknown> => readJson(folder, 'config.json');

/** Every fixture output as [output name, expected tensor] pairs (`hidden_states.i`, `attentions.i`). */
function expectedOutputs(c: FixtureCase): [string, Nested][] {
  return Object.entries(c.outputs).flatMap(([name, value]): [string, Nested][] =>
    name === 'hidden_states' || name === 'attentions'
      ? (value as Nested[]).map((layer, i) => [`${name}.${i}`, layer])
      : [[name, value as Nested]],
  );
}

function values(out: ModelOutput, name: string): FloatTensor | number {
  const [key, layer] = name.split('.');
  const value = out[key as keyof ModelOutput] as FloatTensor | FloatTensor[] | number | undefined;
  assert.ok(value !== undefined, `output ${name}`);
  return Array.isArray(value) ? value[Number(layer)]! : value;
}

describe('ModernBERT through the model API, packed, and left-padded', { skip }, () => {
  // test/models-api.test.ts and test/models-fixtures.test.ts run every case padded (both lowerings, hidden states,
  // attentions, losses, padded rows against rows alone); this adds the packed graph and left padding.
  test('every case packed: outputs, hidden states and losses on real tokens, exactly 0 on padding', async () => {
    for (const folder of FOLDERS) {
      const task = taskFromConfig(configOf(folder));
      const packed = await PreTrainedModel.fromPretrained(dirOf(folder), task, {
        cacheDir: false,
        threads: 1,
        outputHiddenStates: true,
        packed: true,
      });
      for (const c of casesOf(folder)) {
        if (c.name === 'left_padded') continue; // packed rows must start with a real token
        const mask = (c.inputs.attention_mask as number[][] | undefined)?.flat();
        const out = await packed.forward(c.inputs as never);
        assert.equal(packed.packedRuns > 0, true);
        for (const [name, expected] of expectedOutputs(c)) {
          if (name.startsWith('attentions')) continue;
          const got = values(out, name);
          const want = [expected].flat(Infinity as 1) as number[];
          const data = typeof got === 'number' ? [got] : got.data;
          const tokenLevel =
            name !== 'loss' && (name !== 'logits' || task === 'token-classification' || task === 'masked-lm');
          const perPosition = mask && tokenLevel ? want.length / mask.length : 0;
          for (let i = 0; i < want.length; i++) {
            const isPadding = perPosition > 0 && mask![Math.floor(i / perPosition)] === 0;
            const e = Math.fround(want[i]!);
            if (isPadding) assert.equal(data[i], 0, `${folder}/${c.name} ${name}[${i}] packed padding`);
            else
              assert.ok(
                Math.abs(data[i]! - e) <= 1e-4 + 1e-4 * Math.abs(e),
                `${folder}/${c.name} ${name}[${i}] packed: ${data[i]} vs ${e}`,
              );
          }
        }
      }
      await packed.dispose();
    }
  });

  test('left-padded rows equal each row alone on its real tokens (≤ 1e-5): rotary positions and window are relative', async () => {
    for (const folder of FOLDERS) {
      const task = taskFromConfig(configOf(folder));
      // Sequence logits read position 0, which is padding in a left-padded row (the fixture README says so).
      if (task === 'sequence-classification') continue;
      const name = task === 'base' ? 'last_hidden_state' : 'logits';
      const model = await PreTrainedModel.fromPretrained(dirOf(folder), task, {
        cacheDir: false,
        threads: 1,
      });
      const left = casesOf(folder).find((c) => c.name === 'left_padded')!;
      const batch = (await model.forward(left.inputs as never))[name]!;
      const mask = left.inputs.attention_mask as number[][];
      const seq = mask[0]!.length;
      for (const [row, rowMask] of mask.entries()) {
        const alone = casesOf(folder).find((c) => c.name === `batch_row${row}_unpadded`)!;
        const want = (await model.forward(alone.inputs as never))[name]!.data;
        const width = want.length / rowMask.filter((v) => v === 1).length;
        const start = (row * seq + rowMask.indexOf(1)) * width;
        const got = batch.data.subarray(start, start + want.length);
        for (let i = 0; i < want.length; i++) {
          assert.ok(
            Math.abs(got[i]! - want[i]!) <= 1e-5,
            `${folder} row ${row} [${i}]: ${got[i]} vs ${want[i]}`,
          );
        }
      }
      await model.dispose();
    }
  });

  test('a packed batch of random lengths (up to 3 length groups, many windows) equals each row alone within 1e-5', async () => {
    const random = mulberry32(16);
    const model = await PreTrainedModel.fromPretrained(dirOf('modernbert-tokcls'), 'token-classification', {
      cacheDir: false,
      threads: 1,
      packed: true,
    });
    const lengths = [3, 29, 9, 17, 1, 24, 6];
    const seq = Math.max(...lengths);
    const rows = lengths.map((n) => Array.from({ length: n }, () => 3 + Math.floor(random() * 100)));
    const batch = await model.forward({
      input_ids: rows.map((r) => [...r, ...new Array<number>(seq - r.length).fill(0)]),
      attention_mask: rows.map((r) => r.map(() => 1).concat(new Array<number>(seq - r.length).fill(0))),
    });
    assert.equal(model.packedRuns, 1);
    for (const [b, row] of rows.entries()) {
      const alone = await model.forward({ input_ids: [row] }, { packed: false });
      const got = batch.logits!.data.subarray(b * seq * 5, (b * seq + row.length) * 5);
      const want = alone.logits!.data;
      for (let i = 0; i < want.length; i++)
        assert.ok(Math.abs(got[i]! - want[i]!) <= 1e-5, `row ${b} [${i}]: ${got[i]} vs ${want[i]}`);
    }
    await model.dispose();
  });
});

describe('ModernBERT errors', { skip }, () => {
  test('classifier_pooling must be cls or mean; no token type ids', async () => {
    const config = configOf('modernbert-model');
    const weights = await loadWeights(dirOf('modernbert-model'));
    assert.throws(
      () => buildModelGraph({ ...config, classifier_pooling: 'max' }, weights, { task: 'base' }),
      /classifier_pooling: expected "cls" or "mean", got "max"/,
    );
    assert.throws(
      () => buildModelGraph(config, weights, { task: 'base', inputs: { tokenTypeIds: true } }),
      /modernbert models take no token_type_ids/,
    );
    // Through the API: explicit type ids are refused, a tokenizer's are dropped (ModernBERT takes none).
    const model = await PreTrainedModel.fromPretrained(dirOf('modernbert-model'), 'base', {
      cacheDir: false,
      threads: 1,
    });
    await assert.rejects(
      model.forward({ input_ids: [[1, 5, 2]], token_type_ids: [[0, 0, 0]] }),
      (e: unknown) => e instanceof InputError && e.argument === 'token_type_ids',
    );
    const fromEncodings = await model.forward([
      { ids: [1, 5, 2], attentionMask: [1, 1, 1], typeIds: [0, 0, 0] },
    ] as never);
    const plain = await model.forward({ input_ids: [[1, 5, 2]] });
    assert.deepEqual(fromEncodings.last_hidden_state!.data, plain.last_hidden_state!.data);
    await model.dispose();
  });
});

test('seqbatch forward runs a ModernBERT checkpoint (logits and loss)', { skip }, async () => {
  const c = casesOf('modernbert-seqcls').find((x) => x.name === 'labels')!;
  const input = join(tmp, 'labels.json');
  writeFileSync(input, JSON.stringify(c.inputs));
  const stdout = new PassThrough();
  const chunks: Buffer[] = [];
  stdout.on('data', (chunk: Buffer) => chunks.push(chunk));
  await runForward({ model: dirOf('modernbert-seqcls'), input, threads: 1, cache: false }, { stdout });
  const out = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { logits: Nested; loss: number };
  assertTensorClose(
    { dims: [3, 3], data: (out.logits as number[][]).flat() },
    c.outputs.logits as Nested,
    'logits',
    1e-4,
    1e-4,
  );
  assertTensorClose({ dims: [], data: [out.loss] }, c.outputs.loss as Nested, 'loss', 1e-4, 1e-4);
});

/**
 * A copy of fixture `folder` with config fields replaced and tensors added (seeded values in [-0.25, 0.25)) or
 * removed, written to a temporary folder.
 */
async function variant(
  folder: string,
  name: string,
  config: Record<string, unknown>,
  change: { add?: Record<string, number[]>; copy?: Record<string, string>; remove?: string[] },
): Promise<string> {
  const weights = await loadWeights(dirOf(folder));
  const random = mulberry32(name.length * 7919);
  const tensors: TensorToWrite[] = weights
    .names()
    .filter((n) => !change.remove?.includes(n))
    .map((n) => ({ name: n, dtype: 'F32', ...weights.getFloat32(n) }));
  for (const [target, source] of Object.entries(change.copy ?? {})) {
    tensors.push({ name: target, dtype: 'F32', ...weights.getFloat32(source) });
  }
  for (const [tensor, shape] of Object.entries(change.add ?? {})) {
    const size = shape.reduce((a, b) => a * b, 1);
    tensors.push({
      name: tensor,
      dtype: 'F32',
      shape,
      data: Float32Array.from({ length: size }, () => random() / 2 - 0.25),
    });
  }
  const dir = join(tmp, name);
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'config.json'), JSON.stringify({ ...configOf(folder), ...config }));
  writeFileSync(join(dir, 'model.safetensors'), serializeSafetensors(tensors, { format: 'pt' }));
  return dir;
}

describe('ModernBERT against a float64 reference written from modeling_modernbert.py', { skip }, () => {
  const random = mulberry32(48);
  const lengths = [13, 2, 20, 7];
  const seq = Math.max(...lengths);
  const rows = lengths.map((n) => Array.from({ length: n }, () => 3 + Math.floor(random() * 100)));
  const batch = {
    input_ids: rows.map((r) => [...r, ...new Array<number>(seq - r.length).fill(0)]),
    attention_mask: rows.map((r) => r.map(() => 1).concat(new Array<number>(seq - r.length).fill(0))),
  };
  const close = (got: ArrayLike<number>, want: number[], what: string): void => {
    assert.equal(got.length, want.length, `${what}: length`);
    for (let i = 0; i < want.length; i++) {
      assert.ok(
        Math.abs(got[i]! - want[i]!) <= 1e-4 + 1e-4 * Math.abs(want[i]!),
        `${what}[${i}]: ${got[i]} vs ${want[i]}`,
      );
    }
  };
  type Task = Parameters<typeof modernBertReference>[3];
  /** Runs `dir` padded and packed on the batch; each row's outputs must equal the reference of that row alone. */
  async function checkAgainstReference(
    dir: string,
    task: Task,
    output: 'logits' | 'last_hidden_state',
  ): Promise<void> {
    const config = JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8')) as Record<string, unknown>;
    const weights = await loadWeights(dir);
    const references = rows.map((row) => modernBertReference(config, weights, row, task));
    for (const packed of [false, true]) {
      const model = await PreTrainedModel.fromPretrained(dir, task, { cacheDir: false, threads: 1, packed });
      const out = (await model.forward(batch))[output]!;
      rows.forEach((row, b) => {
        const want = (output === 'logits' ? references[b]!.logits! : references[b]!.lastHiddenState).flat();
        const perRow = out.data.length / rows.length;
        close(
          out.data.subarray(b * perRow, b * perRow + want.length),
          want,
          `${dir} ${packed ? 'packed' : 'padded'} row ${b}`,
        );
      });
      await model.dispose();
    }
  }

  test('the reference reproduces the PyTorch fixtures (so it can stand in for them below)', async () => {
    for (const folder of FOLDERS) {
      const config = configOf(folder);
      const weights = await loadWeights(dirOf(folder));
      const task = taskFromConfig(config) as Task;
      for (const c of casesOf(folder).filter((x) => x.name === 'single' || x.name.endsWith('_unpadded'))) {
        const reference = modernBertReference(config, weights, (c.inputs.input_ids as number[][])[0]!, task);
        const want = ([c.outputs.logits ?? c.outputs.last_hidden_state] as Nested[]).flat(
          Infinity as 1,
        ) as number[];
        close(
          (task === 'base' ? reference.lastHiddenState : reference.logits!).flat(),
          want.map(Math.fround),
          `${folder}/${c.name}`,
        );
      }
    }
  });

  test('every bias on (norm, attention, MLP, classifier), mean pooling, 3 layers, window ±3, local theta from global', async () => {
    const h = 32;
    const bias = (prefix: string, size: number): Record<string, number[]> => ({ [`${prefix}.bias`]: [size] });
    const add: Record<string, number[]> = {
      ...bias('model.embeddings.norm', h),
      ...bias('model.final_norm', h),
      ...bias('head.norm', h),
      ...bias('head.dense', h),
      ...bias('model.layers.2.attn_norm', h),
    };
    const copy: Record<string, string> = {};
    for (let l = 0; l < 3; l++) {
      const p = `model.layers.${l}`;
      Object.assign(add, bias(`${p}.attn.Wqkv`, 3 * h), bias(`${p}.attn.Wo`, h), bias(`${p}.mlp_norm`, h));
      Object.assign(add, bias(`${p}.mlp.Wi`, 74), bias(`${p}.mlp.Wo`, h));
      if (l > 0) Object.assign(add, bias(`${p}.attn_norm`, h));
    }
    for (const part of [
      'attn.Wqkv.weight',
      'attn.Wo.weight',
      'attn_norm.weight',
      'mlp.Wi.weight',
      'mlp.Wo.weight',
      'mlp_norm.weight',
    ]) {
      copy[`model.layers.2.${part}`] = `model.layers.1.${part}`;
    }
    const settings = {
      norm_bias: true,
      attention_bias: true,
      mlp_bias: true,
      classifier_bias: true,
      classifier_pooling: 'mean',
      classifier_activation: 'silu',
      num_hidden_layers: 3,
      local_attention: 6,
      local_rope_theta: null,
      global_rope_theta: 500,
    };
    const dir = await variant('modernbert-seqcls', 'all-biases-mean', settings, { add, copy });
    await checkAgainstReference(dir, 'sequence-classification', 'logits');
    await checkAgainstReference(dir, 'base', 'last_hidden_state');
    // A bias that the config asks for and the file lacks is named.
    const withoutHeadBias = Object.fromEntries(
      Object.entries(add).filter(([name]) => name !== 'head.dense.bias'),
    );
    const lacking = await variant('modernbert-seqcls', 'missing-bias', settings, {
      add: withoutHeadBias,
      copy,
    });
    await assert.rejects(
      PreTrainedModel.fromPretrained(lacking, 'sequence-classification', { cacheDir: false, threads: 1 }),
      (e: unknown) => e instanceof WeightsError && /head\.dense\.bias/.test(e.message),
    );
  });

  test('ModernBertForQuestionAnswering (transformers 4.50): the prediction head on every token, then start and end', async () => {
    const dir = await variant(
      'modernbert-model',
      'question-answering',
      { architectures: ['ModernBertForQuestionAnswering'] },
      {
        add: {
          'head.dense.weight': [32, 32],
          'head.norm.weight': [32],
          'classifier.weight': [2, 32],
          'classifier.bias': [2],
        },
      },
    );
    const config = JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8')) as Record<string, unknown>;
    const weights = await loadWeights(dir);
    // QA is token classification with two labels, split: the reference's token-level logits are [start, end].
    const references = rows.map((row) => modernBertReference(config, weights, row, 'token-classification'));
    for (const packed of [false, true]) {
      const model = await PreTrainedModel.fromPretrained(dir, 'question-answering', {
        cacheDir: false,
        threads: 1,
        packed,
      });
      const out = await model.forward(batch);
      rows.forEach((row, b) => {
        const logits = references[b]!.logits as number[][];
        for (const [k, name] of (['start_logits', 'end_logits'] as const).entries()) {
          close(
            out[name]!.data.subarray(b * seq, b * seq + row.length),
            logits.map((pair) => pair[k]!),
            `${packed ? 'packed' : 'padded'} ${name} row ${b}`,
          );
        }
      });
      await model.dispose();
    }
  });

  test('mean pooling in a graph without an attention_mask input: the mean over every position', async () => {
    const dir = await variant('modernbert-seqcls', 'mean-no-mask', { classifier_pooling: 'mean' }, {});
    const config = JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8')) as Record<string, unknown>;
    const weights = await loadWeights(dir);
    const row = rows[0]!;
    const graph = buildModelGraph(config, weights, {
      task: 'sequence-classification',
      inputs: { attentionMask: false },
    });
    const session = await ort.InferenceSession.create(graph.bytes);
    const ids = new ort.Tensor('int64', BigInt64Array.from(row.map(BigInt)), [1, row.length]);
    const out = await session.run({ input_ids: ids });
    close(
      out.logits!.data as Float32Array,
      modernBertReference(config, weights, row, 'sequence-classification').logits as number[],
      'logits without a mask',
    );
    await session.release();
  });

  test('masked LM with an untied decoder and no decoder bias; global attention every layer', async () => {
    const dir = await variant(
      'modernbert-mlm',
      'untied-decoder',
      { tie_word_embeddings: false, decoder_bias: false, global_attn_every_n_layers: 1 },
      { add: { 'decoder.weight': [109, 32] }, remove: ['decoder.bias'] },
    );
    await checkAgainstReference(dir, 'masked-lm', 'logits');
  });
});
