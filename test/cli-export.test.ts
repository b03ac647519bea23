import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import {
  AutoModelForQuestionAnswering as TjsQuestionAnswering,
  AutoModelForSequenceClassification as TjsSequenceClassification,
  AutoTokenizer as TjsTokenizer,
  env,
  Tensor,
} from '@huggingface/transformers';
import { exportModel } from '../src/cli/commands/export.js';
import { readSafetensorsHeader } from '../src/weights/index.js';
import { ConfigError, WeightsError } from '../src/errors.js';
import { AutoModelForSequenceClassification } from '../src/models/auto.js';
import { AutoConfig } from '../src/models/config.js';
import { defaultModelInput } from '../src/models/model-inputs.js';
import { toIntMatrix, toNumericTensor, type IntMatrix } from '../src/runtime/inputs.js';
import * as ort from 'onnxruntime-node';
import { makeRandomCheckpoint } from '../scripts/make-random-checkpoint.js';
import { REPO_ROOT, readSharedJson, sharedPath, skipUnlessShared } from './helpers/shared.js';
import { runCliSync } from './helpers/cli-process.js';
import { modelFixtures } from './helpers/model-fixtures.js';

const REFERENCE = 'reference/distilbert-base-uncased-finetuned-sst-2-english';
const MODELS = 'fixtures/models';
const tmp = mkdtempSync(join(tmpdir(), 'seqbatch-cli-export-'));
after(() => rmSync(tmp, { recursive: true, force: true }));

/** transformers.js, offline, reading the export folder by its path. */
function tjsOptions(dir: string) {
  env.allowRemoteModels = false;
  env.allowLocalModels = true;
  env.localModelPath = `${dirname(dir)}/`;
  return { name: basename(dir), options: { local_files_only: true, dtype: 'fp32' as const } };
}

const flatten = (x: unknown): number[] => (Array.isArray(x) ? x.flatMap(flatten) : [x as number]);

const int64 = (rows: number[][]) =>
  new Tensor('int64', BigInt64Array.from(rows.flat(), BigInt), [rows.length, rows[0]!.length]);

function assertClose(got: ArrayLike<number>, expected: ArrayLike<number>, what: string, tol = 1e-4): void {
  assert.equal(got.length, expected.length, `${what}: length`);
  for (let i = 0; i < expected.length; i++) {
    assert.ok(Math.abs(got[i]! - expected[i]!) <= tol, `${what}[${i}]: ${got[i]} vs ${expected[i]}`);
  }
}

describe(
  'export of a random DistilBERT checkpoint, run by transformers.js',
  { skip: skipUnlessShared(REFERENCE) },
  () => {
    const checkpoint = join(tmp, 'random-distilbert');
    const exported = join(tmp, 'exported');
    // DistilBERT-base layout and real vocabulary/tokenizer, fewer and narrower layers to keep the test fast.
    before(() =>
      makeRandomCheckpoint(checkpoint, { seed: 7, layers: 2, hidden: 64, heads: 4, intermediate: 128 }),
    );

    test('folder layout: onnx/model.onnx beside config and tokenizer files', async () => {
      const result = await exportModel(checkpoint, exported);
      assert.equal(result.modelPath, join(exported, 'onnx', 'model.onnx'));
      assert.equal(result.task, 'sequence-classification');
      assert.deepEqual(result.inputNames, ['input_ids', 'attention_mask']);
      assert.deepEqual(result.outputNames, ['logits']);
      for (const file of [
        'onnx/model.onnx',
        'config.json',
        'tokenizer.json',
        'tokenizer_config.json',
        'vocab.txt',
      ]) {
        assert.ok(existsSync(join(exported, file)), file);
      }
      assert.deepEqual(result.copied, [
        'config.json',
        'tokenizer.json',
        'tokenizer_config.json',
        'vocab.txt',
      ]);
    });

    test('transformers.js tokenizer + model on the export give our logits (1e-4)', async () => {
      const texts = ["I've been waiting for a HuggingFace course my whole life.", 'I hate this so much!'];
      const { name, options } = tjsOptions(exported);
      const tokenizer = await TjsTokenizer.from_pretrained(name, options);
      const model = await TjsSequenceClassification.from_pretrained(name, options);
      const batch = tokenizer(texts, { padding: true, truncation: true });
      const theirs = (await model(batch)).logits;

      const ids = batch.input_ids.tolist().map((row: bigint[]) => row.map(Number));
      const mask = batch.attention_mask.tolist().map((row: bigint[]) => row.map(Number));
      // The course's published ids for these sentences (same tokenizer): the export was fed real token ids.
      const published = readSharedJson<{ cases: Array<{ name: string; input_ids: number[][] }> }>(
        'reference/distilbert-sst2.course-published-outputs.json',
      ).cases.find((c) => c.name === 'pipeline_two_sentences')!;
      assert.deepEqual(ids, published.input_ids);

      const ours = await AutoModelForSequenceClassification.fromPretrained(checkpoint, {
        cacheDir: false,
        threads: 1,
      });
      const out = await ours.forward({ input_ids: ids, attention_mask: mask });
      assert.deepEqual(out.logits!.dims, theirs.dims);
      assertClose(out.logits!.data, theirs.data as Float32Array, 'logits');
      // Random weights still give distinct rows (the comparison is not trivially between constants).
      assert.notEqual(out.logits!.at(0, 0), out.logits!.at(1, 0));
      await ours.dispose();
      await model.dispose();
    });

    test('--dtype int8 writes onnx/model_quantized.onnx, which transformers.js runs as q8 with our int8 logits', async () => {
      const quantized = join(tmp, 'exported-int8');
      const result = await exportModel(checkpoint, quantized, { dtype: 'int8' });
      assert.equal(result.modelPath, join(quantized, 'onnx', 'model_quantized.onnx'));
      assert.equal(existsSync(join(quantized, 'onnx', 'model.onnx')), false);
      assert.ok(readFileSync(result.modelPath).includes('MatMulIntegerToFloat'));
      const rows = [
        [101, 2023, 2003, 2307, 999, 102],
        [101, 2919, 102, 0, 0, 0],
      ];
      const mask = rows.map((r) => r.map((id) => (id === 0 ? 0 : 1)));
      const { name } = tjsOptions(quantized);
      const model = await TjsSequenceClassification.from_pretrained(name, {
        local_files_only: true,
        dtype: 'q8',
      });
      const theirs = (await model({ input_ids: int64(rows), attention_mask: int64(mask) })).logits;
      await model.dispose();
      const ours = await AutoModelForSequenceClassification.fromPretrained(checkpoint, {
        cacheDir: false,
        dtype: 'int8',
        packed: false,
      });
      const out = await ours.forward({ input_ids: rows, attention_mask: mask });
      await ours.dispose();
      assertClose(out.logits!.data, theirs.data as Float32Array, 'int8 logits', 1e-5);
    });

    test('--standard-ops export has no com.microsoft nodes and gives the same logits', async () => {
      const portable = join(tmp, 'exported-portable');
      await exportModel(checkpoint, portable, { standardOps: true });
      const bytes = readFileSync(join(portable, 'onnx', 'model.onnx'));
      assert.equal(bytes.includes('com.microsoft'), false);
      assert.equal(readFileSync(join(exported, 'onnx', 'model.onnx')).includes('com.microsoft'), true);
      const rows = [
        [101, 2023, 2003, 2307, 999, 102],
        [101, 2919, 102, 0, 0, 0],
      ];
      const mask = rows.map((r) => r.map((id) => (id === 0 ? 0 : 1)));
      const logits: Float32Array[] = [];
      for (const dir of [exported, portable]) {
        const { name, options } = tjsOptions(dir);
        const model = await TjsSequenceClassification.from_pretrained(name, options);
        logits.push(
          (await model({ input_ids: int64(rows), attention_mask: int64(mask) })).logits.data as Float32Array,
        );
        await model.dispose();
      }
      assertClose(logits[0]!, logits[1]!, 'contrib vs standard ops', 1e-5);
    });
  },
);

describe(
  'exports of fixture checkpoints reproduce PyTorch in transformers.js',
  { skip: skipUnlessShared(MODELS) },
  () => {
    interface Case {
      name: string;
      inputs: Record<string, number[][]>;
      outputs: Record<string, number[][]>;
    }
    const caseOf = (folder: string, name: string) =>
      readSharedJson<{ cases: Case[] }>(MODELS, folder, 'expected.json').cases.find((c) => c.name === name)!;

    test('BERT with token type ids (pair batch)', async () => {
      const out = join(tmp, 'bert-seqcls');
      const result = await exportModel(sharedPath(MODELS, 'bert-seqcls'), out);
      assert.deepEqual(result.inputNames, ['input_ids', 'attention_mask', 'token_type_ids']);
      const c = caseOf('bert-seqcls', 'pair_batch');
      const { name, options } = tjsOptions(out);
      const model = await TjsSequenceClassification.from_pretrained(name, options);
      const logits = (
        await model({
          input_ids: int64(c.inputs.input_ids!),
          attention_mask: int64(c.inputs.attention_mask!),
          token_type_ids: int64(c.inputs.token_type_ids!),
        })
      ).logits;
      assertClose(logits.data as Float32Array, c.outputs.logits!.flat(), 'logits');
      await model.dispose();
    });

    test('RoBERTa question answering (pad-aware positions inside the graph)', async () => {
      const out = join(tmp, 'roberta-qa');
      await exportModel(sharedPath(MODELS, 'roberta-qa'), out);
      const c = caseOf('roberta-qa', 'batch_padded');
      const { name, options } = tjsOptions(out);
      const model = await TjsQuestionAnswering.from_pretrained(name, options);
      const result = await model({
        input_ids: int64(c.inputs.input_ids!),
        attention_mask: int64(c.inputs.attention_mask!),
      });
      assertClose(result.start_logits.data as Float32Array, c.outputs.start_logits!.flat(), 'start_logits');
      assertClose(result.end_logits.data as Float32Array, c.outputs.end_logits!.flat(), 'end_logits');
      await model.dispose();
    });

    test('every fixture folder of models/ and models-2/ exports a graph that reproduces PyTorch', async (t) => {
      for (const { label, name, dir, skip } of modelFixtures()) {
        await t.test(label, { skip }, async () => {
          const out = join(tmp, 'all', name);
          const result = await exportModel(dir, out);
          const c = (
            JSON.parse(readFileSync(join(dir, 'expected.json'), 'utf8')) as { cases: Case[] }
          ).cases.find((c) => c.name === 'batch_padded')!;
          const session = await ort.InferenceSession.create(result.modelPath, { intraOpNumThreads: 1 });
          // Sequences as rows (multiple choice's [batch, choices, seq] flattened); fed in the case's own shape.
          const dims = toNumericTensor(c.inputs.input_ids, 'input_ids').dims;
          const rows = (input: string): IntMatrix => {
            const { data } = toNumericTensor(c.inputs[input], input);
            return toIntMatrix({ data, dims: [data.length / dims.at(-1)!, dims.at(-1)!] }, input);
          };
          const ids = rows('input_ids');
          const config = AutoConfig.fromPretrained(dir);
          const feeds: Record<string, ort.Tensor> = {};
          for (const input of result.inputNames) {
            // Inputs the case leaves out (token types, Longformer's global mask) get the model API's HF defaults.
            const matrix = c.inputs[input] ? rows(input) : defaultModelInput(input, ids, config, result.task);
            feeds[input] = new ort.Tensor('int64', matrix.data, dims);
          }
          const got = await session.run(feeds);
          // The export's outputs are the head's (no hidden states or attentions; losses are not in graphs).
          const mainOutputs = Object.entries(c.outputs).filter(
            ([key]) => !['hidden_states', 'attentions', 'global_attentions'].includes(key),
          );
          assert.ok(mainOutputs.length > 0, `${label}: outputs compared`);
          for (const [key, expected] of mainOutputs) {
            assert.ok(got[key], `${label}: output ${key}`);
            const want = flatten(expected);
            const values = got[key].data as Float32Array;
            assert.equal(values.length, want.length, `${label} ${key}: length`);
            want.forEach((e, i) =>
              assert.ok(
                Math.abs(values[i]! - e) <= 1e-4 + 1e-4 * Math.abs(e),
                `${label} ${key}[${i}]: ${values[i]} vs ${e}`,
              ),
            );
          }
          await session.release();
        });
      }
    });

    test('refusals: pickle-only folders and unsupported model types', async () => {
      const pickle = join(tmp, 'pickle-only');
      mkdirSync(pickle);
      writeFileSync(
        join(pickle, 'config.json'),
        readFileSync(sharedPath(MODELS, 'bert-model', 'config.json')),
      );
      writeFileSync(join(pickle, 'pytorch_model.bin'), 'never parsed');
      await assert.rejects(
        exportModel(pickle, join(tmp, 'nowhere')),
        (e: unknown) => e instanceof WeightsError,
      );
      const gpt2 = join(tmp, 'gpt2');
      mkdirSync(gpt2);
      writeFileSync(join(gpt2, 'config.json'), '{"model_type": "gpt2"}');
      await assert.rejects(
        exportModel(gpt2, join(tmp, 'nowhere')),
        (e: unknown) => e instanceof ConfigError && e.field === 'model_type',
      );
      assert.equal(existsSync(join(tmp, 'nowhere')), false, 'nothing is written when the export fails');
    });

    test('the command line writes the folder and says what it wrote', () => {
      const out = join(tmp, 'cli-export');
      const run = runCliSync(['export', '--model', sharedPath(MODELS, 'distilbert-tokcls'), '--out', out], {
        cwd: REPO_ROOT,
      });
      assert.equal(run.status, 0, run.stderr);
      assert.match(
        run.stdout,
        /wrote .*onnx\/model\.onnx \(token-classification; inputs input_ids, attention_mask; outputs logits\)/,
      );
      assert.ok(existsSync(join(out, 'onnx', 'model.onnx')));
    });
  },
);

describe(
  'the full-size random DistilBERT-base checkpoint (268 MB, made by scripts/make-random-checkpoint.ts)',
  {
    skip:
      process.env.SEQBATCH_SKIP_FULL_CHECKPOINT === '1'
        ? 'skipped: SEQBATCH_SKIP_FULL_CHECKPOINT=1'
        : skipUnlessShared('reference', 'distilbert-base-uncased-finetuned-sst-2-english', 'config.json'),
  },
  () => {
    // A fresh checkpoint in this test's own folder: no race with other test files, nothing left behind.
    const FULL_DIR = join(tmp, 'distilbert-base-random');
    before(async () => {
      await makeRandomCheckpoint(FULL_DIR);
    });
    test("it has DistilBERT-SST-2's 66,955,010 parameters", async () => {
      const header = await readSafetensorsHeader(join(FULL_DIR, 'model.safetensors'));
      assert.equal(
        header.tensors.reduce((n, t) => n + t.size, 0),
        66_955_010,
      );
    });
    test('loads, runs, caches, exports; transformers.js on the export gives the same logits', async () => {
      const cacheDir = join(tmp, 'full-cache');
      const texts = ["I've been waiting for a HuggingFace course my whole life.", 'I hate this so much!'];
      const out = join(tmp, 'full-export');
      await exportModel(FULL_DIR, out);
      const { name, options } = tjsOptions(out);
      const tokenizer = await TjsTokenizer.from_pretrained(name, options);
      const batch = tokenizer(texts, { padding: true, truncation: true });
      const ids = batch.input_ids.tolist().map((row: bigint[]) => row.map(Number));
      const mask = batch.attention_mask.tolist().map((row: bigint[]) => row.map(Number));
      const theirs = await TjsSequenceClassification.from_pretrained(name, options);
      const expected = (await theirs({ input_ids: int64(ids), attention_mask: int64(mask) })).logits
        .data as Float32Array;
      await theirs.dispose();
      for (const fromCache of [false, true]) {
        const model = await AutoModelForSequenceClassification.fromPretrained(FULL_DIR, { cacheDir });
        assert.equal(model.loadedFromCache, fromCache);
        const logits = (await model.forward({ input_ids: ids, attention_mask: mask })).logits!;
        assertClose(logits.data, expected, `logits (cache ${fromCache})`);
        await model.dispose();
      }
    });
  },
);
