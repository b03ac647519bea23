import assert from 'node:assert/strict';
import { copyFileSync, cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { InputError, WeightsError } from '../src/errors.js';
import {
  AutoModel,
  AutoModelForMaskedLM,
  AutoModelForQuestionAnswering,
  AutoModelForSequenceClassification,
  AutoModelForTokenClassification,
  PreTrainedModel,
  type ModelOutput,
} from '../src/models/auto.js';
import { FloatTensor } from '../src/runtime/tensor.js';
import { modelFixtures } from './helpers/model-fixtures.js';
import { sharedPath, skipUnlessShared } from './helpers/shared.js';

const MODELS = 'fixtures/models';
const cacheDir = mkdtempSync(join(tmpdir(), 'seqbatch-models-api-'));
after(() => rmSync(cacheDir, { recursive: true, force: true }));

interface FixtureCase {
  name: string;
  inputs: Record<string, unknown>;
  options?: { output_hidden_states?: boolean; output_attentions?: boolean };
  outputs: Record<string, unknown>;
}

const flatten = (x: unknown): number[] => (Array.isArray(x) ? x.flatMap(flatten) : [x as number]);

/** The fixtures README tolerance: 1e-4 + 1e-4·|expected| (atol 1e-5 for attention probabilities). */
function assertClose(
  got: FloatTensor | FloatTensor[] | number | undefined,
  expected: unknown,
  what: string,
): void {
  assert.ok(got !== undefined, `${what}: output missing`);
  const values =
    typeof got === 'number' ? [got] : Array.isArray(got) ? got.flatMap((t) => [...t.data]) : [...got.data];
  const want = flatten(expected);
  assert.equal(values.length, want.length, `${what}: ${values.length} values, expected ${want.length}`);
  if (!Array.isArray(got) && typeof got !== 'number') {
    assert.deepEqual(got.dims, shapeOf(expected), `${what}: dims`);
  }
  const attention = what.endsWith('attentions');
  for (let i = 0; i < want.length; i++) {
    const e = Math.fround(want[i]!);
    const tolerance = attention ? 1e-5 : 1e-4 + 1e-4 * Math.abs(e);
    if (!(Math.abs(values[i]! - e) <= tolerance)) {
      assert.fail(`${what}[${i}]: got ${values[i]}, expected ${e}`);
    }
  }
}

function shapeOf(x: unknown): number[] {
  const dims: number[] = [];
  for (let level = x; Array.isArray(level); level = level[0]) dims.push(level.length);
  return dims;
}

describe('every supported fixture model reproduces PyTorch', { skip: skipUnlessShared(MODELS) }, () => {
  test('all cases, all outputs (hidden states, attentions, losses), fixtures/models and models-2', async (t) => {
    const fixtures = modelFixtures();
    assert.ok(fixtures.filter((f) => !f.skip).length >= 25, `${fixtures.length} fixture folders`);
    for (const { label, dir, task, skip } of fixtures) {
      await t.test(label, { skip }, async () => {
        const cases = (
          JSON.parse(readFileSync(join(dir, 'expected.json'), 'utf8')) as { cases: FixtureCase[] }
        ).cases;
        const plain = await PreTrainedModel.fromPretrained(dir, task!, { cacheDir: false, threads: 1 });
        const everything = await PreTrainedModel.fromPretrained(dir, task!, {
          cacheDir: false,
          threads: 1,
          outputHiddenStates: true,
          outputAttentions: true,
        });
        for (const c of cases) {
          const model = c.options?.output_hidden_states || c.options?.output_attentions ? everything : plain;
          const out = await model.forward(c.inputs as never);
          for (const [key, expected] of Object.entries(c.outputs)) {
            assertClose(out[key as keyof ModelOutput], expected, `${label}/${c.name}/${key}`);
          }
          if (!('loss' in c.outputs)) assert.equal(out.loss, undefined);
        }
        await plain.dispose();
        await everything.dispose();
      });
    }
  });
});

describe('the AutoModel classes', { skip: skipUnlessShared(MODELS) }, () => {
  test('each class loads its head and exposes id2label', async () => {
    const seq = await AutoModelForSequenceClassification.fromPretrained(sharedPath(MODELS, 'bert-seqcls'), {
      cacheDir: false,
      threads: 1,
    });
    assert.deepEqual(seq.id2label, { 0: 'LABEL_0', 1: 'LABEL_1', 2: 'LABEL_2' });
    assert.equal(seq.task, 'sequence-classification');
    const loaded: Array<[typeof AutoModel, string, string]> = [
      [AutoModel, 'bert-model', 'last_hidden_state'],
      [AutoModelForTokenClassification, 'distilbert-tokcls', 'logits'],
      [AutoModelForQuestionAnswering, 'roberta-qa', 'start_logits'],
      [AutoModelForMaskedLM, 'electra-model', ''], // no MLM head in an ElectraModel checkpoint
    ];
    for (const [cls, folder, output] of loaded) {
      if (!output) {
        await assert.rejects(
          cls.fromPretrained(sharedPath(MODELS, folder), { cacheDir: false, threads: 1 }),
          (e: unknown) => e instanceof WeightsError && /generator_predictions.* not found/.test(e.message),
        );
        continue;
      }
      const model = await cls.fromPretrained(sharedPath(MODELS, folder), { cacheDir: false, threads: 1 });
      const out = await model.forward({ input_ids: [[2, 5, 6, 3]] });
      assert.ok(out[output as keyof ModelOutput], `${folder}: ${output}`);
      await model.dispose();
    }
    // A base model can be loaded from a task checkpoint (the head is dropped, as in transformers).
    const base = await AutoModel.fromPretrained(sharedPath(MODELS, 'bert-seqcls'), {
      cacheDir: false,
      threads: 1,
    });
    const [baseOut, seqOut] = await Promise.all([
      base.forward({ input_ids: [[2, 5, 6, 3]] }),
      seq.forward({ input_ids: [[2, 5, 6, 3]] }),
    ]);
    assert.deepEqual(baseOut.last_hidden_state!.dims, [1, 4, 32]);
    assert.deepEqual(seqOut.logits!.dims, [1, 3]);
  });

  test('BatchEncoding-like (camelCase), typed tensors and Encoding lists give the same outputs', async () => {
    const model = await AutoModelForSequenceClassification.fromPretrained(sharedPath(MODELS, 'bert-seqcls'), {
      cacheDir: false,
      threads: 1,
    });
    const ids = [
      [2, 10, 11, 12, 3],
      [2, 20, 21, 3, 0],
    ];
    const mask = [
      [1, 1, 1, 1, 1],
      [1, 1, 1, 1, 0],
    ];
    const types = [
      [0, 0, 0, 1, 1],
      [0, 0, 0, 0, 0],
    ];
    const reference = await model.forward({ input_ids: ids, attention_mask: mask, token_type_ids: types });
    const camel = await model.forward({ inputIds: ids, attentionMask: mask, tokenTypeIds: types });
    const typed = await model.forward({
      input_ids: { data: BigInt64Array.from(ids.flat(), BigInt), dims: [2, 5] },
      attention_mask: { data: Int32Array.from(mask.flat()), dims: [2, 5] },
      token_type_ids: { data: types.flat(), dims: [2, 5] },
    });
    const encodings = await model.forward(
      ids.map((row, i) => ({ ids: row, attentionMask: mask[i]!, typeIds: types[i]! })),
    );
    for (const out of [camel, typed, encodings]) assert.deepEqual(out.logits!.data, reference.logits!.data);
    // One row given flat is a batch of one.
    const single = await model.forward({ input_ids: ids[0]!, token_type_ids: types[0]! });
    assert.deepEqual([...single.logits!.data], [...reference.logits!.data.subarray(0, 3)]);
    assert.deepEqual(single.logits!.toArray(), [[...reference.logits!.data.subarray(0, 3)]]);
    await model.dispose();
  });
});

describe('inputs are validated before ONNX Runtime', { skip: skipUnlessShared(MODELS) }, () => {
  const rejectsWith = async (promise: Promise<unknown>, argument: string, pattern: RegExp) =>
    assert.rejects(promise, (e: unknown) => {
      assert.ok(e instanceof InputError, String(e));
      assert.equal(e.argument, argument);
      assert.match(e.message, pattern);
      return true;
    });

  test('ids, masks, type ids, positions, lengths and labels', async () => {
    const bert = await AutoModelForSequenceClassification.fromPretrained(sharedPath(MODELS, 'bert-seqcls'), {
      cacheDir: false,
      threads: 1,
    });
    await rejectsWith(
      bert.forward({ input_ids: [[2, 99, 3]] }),
      'input_ids',
      /\[0\]\[1\] = 99 is out of range \[0, 99\)/,
    );
    await rejectsWith(bert.forward({ input_ids: [[2, -1, 3]] }), 'input_ids', /= -1 is out of range/);
    await rejectsWith(bert.forward({ input_ids: [[2, 1.5, 3]] }), 'input_ids', /not an integer/);
    await rejectsWith(
      bert.forward({
        input_ids: [
          [2, 5, 3],
          [2, 3],
        ],
      }),
      'input_ids',
      /same length/,
    );
    await rejectsWith(bert.forward({ input_ids: [['2' as never]] }), 'input_ids', /expected a number/);
    await rejectsWith(bert.forward({ input_ids: [[]] }), 'input_ids', /empty batch/);
    await rejectsWith(bert.forward({ input_ids: [[[2]]] as never }), 'input_ids', /\[batch, sequence\]/);
    await rejectsWith(
      bert.forward({ input_ids: [[2, 5, 3]], attention_mask: [[1, 1]] }),
      'attention_mask',
      /shape \[1, 2\] does not match input_ids \[1, 3\]/,
    );
    await rejectsWith(
      bert.forward({ input_ids: [[2, 5, 3]], attention_mask: [[1, 2, 1]] }),
      'attention_mask',
      /0 or 1/,
    );
    await rejectsWith(
      bert.forward({ input_ids: [[2, 5, 3]], token_type_ids: [[0, 2, 0]] }),
      'token_type_ids',
      /type_vocab_size 2/,
    );
    await rejectsWith(
      bert.forward({ input_ids: [[2, 5, 3]], position_ids: [[0, 1, 64]] }),
      'position_ids',
      /max_position_embeddings 64/,
    );
    await rejectsWith(
      bert.forward({ input_ids: [new Array(65).fill(5)] }),
      'input_ids',
      /longer than the model allows \(64 tokens/,
    );
    await rejectsWith(
      bert.forward({ input_ids: [[2, 5, 3]], labels: [3] }),
      'labels',
      /class 3 .* out of range \[0, 3\)/,
    );
    await rejectsWith(
      bert.forward({ input_ids: [[2, 5, 3]], labels: [0, 1] }),
      'labels',
      /expected 1 class ids/,
    );
    await rejectsWith(
      bert.forward({ input_ids: [[2, 5, 3]], start_positions: [0] }),
      'start_positions',
      /question answering/,
    );
    await rejectsWith(bert.forward({} as never), 'input_ids', /required/);
    await bert.dispose();

    // RoBERTa numbers positions from pad+1: 62 real tokens fit in 64 rows, 63 do not, and pads do not count.
    const roberta = await AutoModel.fromPretrained(sharedPath(MODELS, 'roberta-model'), {
      cacheDir: false,
      threads: 1,
    });
    await roberta.forward({ input_ids: [new Array(62).fill(5).concat([1, 1, 1])] });
    await rejectsWith(
      roberta.forward({ input_ids: [new Array(63).fill(5)] }),
      'input_ids',
      /allows \(62 tokens/,
    );
    await rejectsWith(
      roberta.forward({ input_ids: [[0, 5, 2]], labels: [0] }),
      'labels',
      /base model has no head/,
    );
    await roberta.dispose();

    const distil = await AutoModelForSequenceClassification.fromPretrained(
      sharedPath(MODELS, 'distilbert-seqcls'),
      {
        cacheDir: false,
        threads: 1,
      },
    );
    await rejectsWith(
      distil.forward({ input_ids: [[2, 5, 3]], token_type_ids: [[0, 0, 0]] }),
      'token_type_ids',
      /no token type/,
    );
    await rejectsWith(
      distil.forward({ input_ids: [[2, 5, 3]], position_ids: [[0, 1, 2]] }),
      'position_ids',
      /no position_ids/,
    );
    await distil.dispose();

    const qa = await AutoModelForQuestionAnswering.fromPretrained(sharedPath(MODELS, 'bert-qa'), {
      cacheDir: false,
      threads: 1,
    });
    await rejectsWith(
      qa.forward({ input_ids: [[2, 5, 3]], start_positions: [1] }),
      'end_positions',
      /together/,
    );
    await rejectsWith(qa.forward({ input_ids: [[2, 5, 3]], labels: [1] }), 'labels', /start_positions/);
    await qa.dispose();
  });

  test('runtime options are checked before loading', async () => {
    await rejectsWith(
      AutoModel.fromPretrained(sharedPath(MODELS, 'bert-model'), { threads: 0 }),
      'threads',
      /positive integer/,
    );
    await rejectsWith(
      AutoModel.fromPretrained(sharedPath(MODELS, 'bert-model'), { graphOptimizationLevel: 'max' as never }),
      'graphOptimizationLevel',
      /one of disabled, basic, extended, all/,
    );
  });
});

describe('the graph cache', { skip: skipUnlessShared(MODELS) }, () => {
  test('a second load comes from the cache; config, weights or option changes rebuild', async () => {
    const dir = join(cacheDir, 'checkpoint');
    cpSync(sharedPath(MODELS, 'distilbert-seqcls'), dir, { recursive: true });
    const cache = join(cacheDir, 'cache');
    const load = (options = {}) =>
      AutoModelForSequenceClassification.fromPretrained(dir, { cacheDir: cache, ...options });
    const input = { input_ids: [[2, 7, 8, 9, 3]] };

    const first = await load();
    assert.equal(first.loadedFromCache, false);
    const reference = await first.forward(input);
    const second = await load();
    assert.equal(second.loadedFromCache, true);
    assert.equal(second.graphPath, first.graphPath);
    assert.deepEqual((await second.forward(input)).logits!.data, reference.logits!.data);

    const options = await load({ outputHiddenStates: true });
    assert.equal(options.loadedFromCache, false, 'a different option is a different graph');

    const config = JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8'));
    writeFileSync(
      join(dir, 'config.json'),
      JSON.stringify({ ...config, id2label: { 0: 'neg', 1: 'pos', 2: 'mixed' } }),
    );
    const relabelled = await load();
    assert.equal(relabelled.loadedFromCache, false, 'config.json content is part of the key');
    assert.deepEqual(relabelled.id2label, { 0: 'neg', 1: 'pos', 2: 'mixed' });

    const weights = readFileSync(join(dir, 'model.safetensors'));
    weights[weights.length - 1] ^= 0x01; // flip one bit of the last float
    writeFileSync(join(dir, 'model.safetensors'), weights);
    const reweighted = await load();
    assert.equal(reweighted.loadedFromCache, false, 'weights content is part of the key');
    for (const m of [first, second, options, relabelled, reweighted]) await m.dispose();
  });

  test('a hit serves the cached graph without building; a corrupt entry is rebuilt', async () => {
    const dir = join(cacheDir, 'checkpoint-hit');
    cpSync(sharedPath(MODELS, 'bert-tokcls'), dir, { recursive: true });
    const cache = join(cacheDir, 'cache-hit');
    const first = await AutoModelForTokenClassification.fromPretrained(dir, { cacheDir: cache });
    const expected = await first.forward({ input_ids: [[2, 7, 8, 3]] });
    await first.dispose();
    // Swap another model's graph into the entry: a hit must run exactly what is cached, nothing rebuilt.
    const other = await AutoModel.fromPretrained(sharedPath(MODELS, 'bert-model'), { cacheDir: cache });
    await other.dispose();
    copyFileSync(other.graphPath!, first.graphPath!);
    // ... with its recorded digest, or the hit would (rightly) count the entry as damaged.
    const metaOf = (graphPath: string) => join(graphPath, '..', 'meta.json');
    const firstMeta = JSON.parse(readFileSync(metaOf(first.graphPath!), 'utf8')) as Record<string, unknown>;
    const otherMeta = JSON.parse(readFileSync(metaOf(other.graphPath!), 'utf8')) as Record<string, unknown>;
    writeFileSync(
      metaOf(first.graphPath!),
      JSON.stringify({ ...firstMeta, modelSha256: otherMeta.modelSha256 }),
    );
    process.env.SEQBATCH_CACHE = cache; // the default location
    try {
      const swapped = await AutoModelForTokenClassification.fromPretrained(dir);
      assert.equal(swapped.loadedFromCache, true);
      const out = await swapped.forward({ input_ids: [[2, 7, 8, 3]] });
      assert.equal(out.logits, undefined);
      assert.deepEqual(out.last_hidden_state!.dims, [1, 4, 32]);
      await swapped.dispose();

      writeFileSync(first.graphPath!, 'not an onnx graph');
      const rebuilt = await AutoModelForTokenClassification.fromPretrained(dir);
      assert.equal(rebuilt.loadedFromCache, false);
      assert.deepEqual(
        (await rebuilt.forward({ input_ids: [[2, 7, 8, 3]] })).logits!.data,
        expected.logits!.data,
      );
      await rebuilt.dispose();
      const again = await AutoModelForTokenClassification.fromPretrained(dir);
      assert.equal(again.loadedFromCache, true, 'the rebuilt graph replaced the corrupt entry');
      await again.dispose();
    } finally {
      delete process.env.SEQBATCH_CACHE;
    }
  });

  test('an unwritable cache folder warns and the model still loads', async () => {
    const notAFolder = join(cacheDir, 'plain-file');
    writeFileSync(notAFolder, 'in the way');
    const warnings: string[] = [];
    const onWarning = (w: Error) => warnings.push(w.message);
    process.on('warning', onWarning);
    try {
      const model = await AutoModel.fromPretrained(sharedPath(MODELS, 'electra-model'), {
        cacheDir: notAFolder,
        threads: 1,
      });
      assert.equal(model.loadedFromCache, false);
      assert.equal(model.graphPath, undefined);
      assert.deepEqual((await model.forward({ input_ids: [[2, 5, 3]] })).last_hidden_state!.dims, [1, 3, 32]);
      await model.dispose();
      await new Promise((resolve) => setImmediate(resolve)); // warnings are emitted on the next tick
      assert.ok(
        warnings.some((m) => m.includes('could not cache the graph')),
        warnings.join('; '),
      );
    } finally {
      process.off('warning', onWarning);
    }
  });
});
