/**
 * dtype 'int8': the weight and activation quantization against plain references, every fixture architecture in int8 against its
 * own fp32 outputs (the documented tolerance), packed == padded in int8, a row of a batch == the row alone, the
 * option checks, and the demo model's labels on SST-2 dev and embeddings on STS-B against fp32.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import * as ort from 'onnxruntime-node';
import { compareEmbeddings, compareLabels } from '../src/cli/commands/bench-dtype.js';
import { dtypeFlags } from '../src/cli/commands/shared-model.js';
import { InputError } from '../src/errors.js';
import { PreTrainedModel, type FromPretrainedOptions, type ModelOutput } from '../src/models/auto.js';
import { buildModelGraph, type ModelTask } from '../src/models/index.js';
import {
  excludedFromInt8,
  INT8_WEIGHT_SCHEMES,
  quantizeLinearWeights,
  quantizeRows,
} from '../src/models/layers/int8.js';
import { GraphBuilder } from '../src/onnx/graph-builder.js';
import { FloatTensor } from '../src/runtime/tensor.js';
import { loadWeights } from '../src/weights/load.js';
import { supportedModelFixtures } from './helpers/model-fixtures.js';
import {
  INT8_MAX_SHARE,
  INT8_MEAN_SHARE,
  outputDifference as difference,
} from './helpers/output-difference.js';
import { mulberry32 as random } from './helpers/random.js';
import { pipeline } from '../src/pipelines/index.js';
import { REPO_ROOT, sharedPath, skipUnlessShared, sst2Sentences } from './helpers/shared.js';

const DEMO = join(REPO_ROOT, 'models', 'seqbatch-demo-sst2');

/** The plain reference: per output channel, scale = max |w| / 127 and q = round(w / scale), written out. */
function referenceQuantize(w: number[][]): { q: number[][]; scales: number[] } {
  const scales = w.map((row) => Math.max(...row.map(Math.abs)) / 127);
  const q = w.map((row, o) => row.map((v) => (scales[o] === 0 ? 0 : Math.round(v / scales[o]!))));
  return { q, scales };
}

describe('int8 weight quantization', () => {
  test('per output channel, symmetric, transposed to [in, out]: equals the plain reference', () => {
    const rand = random(3);
    const [out, inFeatures] = [5, 7];
    const rows = Array.from({ length: out }, (_, o) =>
      Array.from({ length: inFeatures }, () => (rand() - 0.5) * (o + 1)),
    );
    rows[2] = rows[2]!.map(() => 0); // an all-zero channel
    const { weight, scales } = quantizeLinearWeights(
      [{ outFeatures: out, read: () => Float32Array.from(rows.flat()) }],
      inFeatures,
    );
    const f32 = rows.map((row) => row.map(Math.fround));
    const reference = referenceQuantize(f32);
    for (let o = 0; o < out; o++) {
      assert.ok(Math.abs(scales[o]! - reference.scales[o]!) <= 1e-7 * reference.scales[o]!, `scale ${o}`);
      for (let i = 0; i < inFeatures; i++) {
        assert.ok(Math.abs(weight[i * out + o]! - reference.q[o]![i]!) <= 1, `q[${o}][${i}] within one step`);
        // Dequantized, every weight is within half a step of the original.
        assert.ok(Math.abs(weight[i * out + o]! * scales[o]! - f32[o]![i]!) <= scales[o]! * 0.5 + 1e-9);
      }
      const max = Math.max(...weight.filter((_, k) => k % out === o).map(Math.abs));
      assert.equal(max, o === 2 ? 0 : 127, `channel ${o} uses the full range`);
    }
  });

  test('per output channel, asymmetric: equals the plain reference (scale, zero point, values)', () => {
    const rand = random(4);
    const [out, inFeatures] = [6, 9];
    // Skewed channels (mostly positive, mostly negative), a symmetric one, an all-zero one, one of a single sign.
    const rows = Array.from({ length: out }, (_, o) =>
      Array.from({ length: inFeatures }, () => (rand() - [0.9, 0.1, 0.5, 0.5, 1, 0][o]!) * (o + 1)),
    );
    rows[3] = rows[3]!.map(() => 0);
    const f32 = rows.map((row) => row.map(Math.fround));
    const { weight, scales, zeroPoints } = quantizeLinearWeights(
      [{ outFeatures: out, read: () => Float32Array.from(rows.flat()) }],
      inFeatures,
      'asymmetric',
    );
    assert.ok(zeroPoints);
    for (let o = 0; o < out; o++) {
      // The reference, written out: the range widened to hold 0, 255 steps, zero point −128 − min / scale.
      const min = Math.min(0, ...f32[o]!);
      const max = Math.max(0, ...f32[o]!);
      const scale = (max - min) / 255;
      const zero = scale === 0 ? 0 : Math.min(127, Math.max(-128, Math.round(-128 - min / scale)));
      assert.ok(Math.abs(scales[o]! - scale) <= 1e-7 * scale, `scale ${o}: ${scales[o]} vs ${scale}`);
      assert.equal(zeroPoints[o], zero, `zero point ${o}`);
      for (let i = 0; i < inFeatures; i++) {
        const q = weight[i * out + o]!;
        const expected =
          scale === 0 ? 0 : Math.min(127, Math.max(-128, Math.round(f32[o]![i]! / scale) + zero));
        assert.ok(Math.abs(q - expected) <= 1, `q[${o}][${i}] ${q} vs ${expected}`);
        // Dequantized, every weight is within half a step of the original, and 0 maps back to exactly 0.
        assert.ok(Math.abs((q - zero) * scales[o]! - f32[o]![i]!) <= scales[o]! * 0.5 + 1e-9);
      }
      // The channel's range spans the 8-bit range: its largest value is near 127, its smallest near −128.
      const column = (i: number) => weight[i * out + o]!;
      const argmax = f32[o]!.indexOf(Math.max(...f32[o]!));
      const argmin = f32[o]!.indexOf(Math.min(...f32[o]!));
      if (max > 0) assert.ok(column(argmax) >= 126, `channel ${o}: its max quantizes to ${column(argmax)}`);
      if (min < 0) assert.ok(column(argmin) <= -127, `channel ${o}: its min quantizes to ${column(argmin)}`);
    }
    // A skewed channel gets finer steps than the symmetric scheme gives it.
    const symmetric = quantizeLinearWeights(
      [{ outFeatures: out, read: () => Float32Array.from(rows.flat()) }],
      inFeatures,
    );
    assert.equal(symmetric.zeroPoints, null);
    assert.ok(scales[0]! < 0.7 * symmetric.scales[0]!);
  });

  test('stacked parts (the fused Q/K/V product) are the parts quantized side by side', () => {
    const rand = random(5);
    const part = () => Float32Array.from({ length: 3 * 4 }, () => rand() - 0.5);
    const [a, b] = [part(), part()];
    for (const scheme of INT8_WEIGHT_SCHEMES) {
      const stacked = quantizeLinearWeights(
        [
          { outFeatures: 3, read: () => a },
          { outFeatures: 3, read: () => b },
        ],
        4,
        scheme,
      );
      const alone = [a, b].map((w) => quantizeLinearWeights([{ outFeatures: 3, read: () => w }], 4, scheme));
      for (let i = 0; i < 4; i++) {
        for (let o = 0; o < 6; o++) {
          const p = alone[Math.floor(o / 3)]!;
          assert.equal(stacked.weight[i * 6 + o], p.weight[i * 3 + (o % 3)]);
          assert.equal(stacked.scales[o], p.scales[o % 3]);
          assert.equal(stacked.zeroPoints?.[o], p.zeroPoints?.[o % 3]);
        }
      }
    }
  });

  test('activations: each row quantized on its own, as the plain reference (round half to even, + 128)', async () => {
    const [rows, k] = [4, 9];
    const rand = random(11);
    const x = Float32Array.from({ length: rows * k }, () => (rand() - 0.5) * 6);
    // Row 1 has max |x| 127 (scale 1) and values on exact halves: ties round to even. Row 2 is all zeros.
    for (let i = 0; i < k; i++) x[k + i] = i === 0 ? -127 : i - 4.5;
    x.fill(0, 2 * k, 3 * k);
    x[3 * k] = 1e4; // one large row beside small ones: its scale must not reach them
    const g = new GraphBuilder();
    const input = g.input('x', 'float32', ['rows', k]);
    const quantized = quantizeRows(g, input, g.constant(new Uint8Array([128]), []));
    g.output(quantized.rows, 'q', 'uint8', ['rows', k]);
    g.output(quantized.scale, 'scale', 'float32', ['rows', 1]);
    const session = await ort.InferenceSession.create(g.toBytes());
    const out = await session.run({ x: new ort.Tensor('float32', x, [rows, k]) });
    const [q, scales] = [out.q!.data as Uint8Array, out.scale!.data as Float32Array];
    const roundHalfEven = (v: number) => (Math.abs(v % 1) === 0.5 ? 2 * Math.round(v / 2) : Math.round(v));
    for (let r = 0; r < rows; r++) {
      const row = Array.from(x.subarray(r * k, (r + 1) * k));
      const scale = Math.max(Math.fround(Math.max(...row.map(Math.abs)) / 127), 1e-30);
      assert.ok(Math.abs(scales[r]! - scale) <= 1e-7 * scale, `row ${r} scale`);
      for (let i = 0; i < k; i++) {
        const expected = Math.min(255, Math.max(0, roundHalfEven(Math.fround(row[i]! / scales[r]!)) + 128));
        assert.equal(q[r * k + i], expected, `q[${r}][${i}] of ${row[i]}`);
      }
    }
    assert.deepEqual([...q.subarray(k, 2 * k)], [1, 124, 126, 126, 128, 128, 130, 130, 132]);
    await session.release();
  });

  test('int8Exclude entries match whole dot-separated segments of a layer name', () => {
    assert.ok(excludedFromInt8('classifier', ['classifier']));
    assert.ok(excludedFromInt8('roberta.classifier.dense', ['classifier']));
    assert.ok(!excludedFromInt8('pre_classifier', ['classifier']));
    assert.ok(excludedFromInt8('bert.encoder.layer.3.attention.output.dense', ['attention.output.dense']));
    assert.ok(!excludedFromInt8('bert.encoder.layer.3.output.dense', ['attention.output.dense']));
    assert.ok(!excludedFromInt8('classifier', []));
  });
});

interface FixtureCase {
  name: string;
  inputs: Record<string, unknown>;
}

describe('int8 on every fixture architecture', { skip: skipUnlessShared('fixtures', 'models') }, () => {
  for (const fixture of supportedModelFixtures()) {
    test(`${fixture.label}: int8 (symmetric and asymmetric weights) within the documented tolerance of fp32; packed == padded`, async () => {
      const { cases } = JSON.parse(readFileSync(join(fixture.dir, 'expected.json'), 'utf8')) as {
        cases: FixtureCase[];
      };
      const task = fixture.task!;
      const fp32 = await PreTrainedModel.fromPretrained(fixture.dir, task, { cacheDir: false });
      const schemes = await Promise.all(
        INT8_WEIGHT_SCHEMES.map((int8Weights) =>
          PreTrainedModel.fromPretrained(fixture.dir, task, { cacheDir: false, dtype: 'int8', int8Weights }),
        ),
      );
      try {
        let packedChecked = 0;
        for (const c of cases) {
          const inputs = c.inputs as never;
          const want = await fp32.forward(inputs, { packed: false });
          const padded: ModelOutput[] = [];
          for (const [s, model] of schemes.entries()) {
            const out = await model.forward(inputs, { packed: false });
            padded.push(out);
            const { max, mean, scale } = difference(want, out);
            const what = `${c.name} (${INT8_WEIGHT_SCHEMES[s]})`;
            assert.ok(max > 0, `${what}: int8 differs from fp32 at all (the products are quantized)`);
            assert.ok(
              max <= INT8_MAX_SHARE * scale,
              `${what}: max |Δ| ${max} over ${INT8_MAX_SHARE}·${scale}`,
            );
            assert.ok(mean <= INT8_MEAN_SHARE * scale, `${what}: mean |Δ| ${mean}`);
          }
          // Multiple-choice inputs are [batch, choices, seq]: their rows are the flattened choices.
          const mask = (c.inputs.attention_mask as unknown[] | undefined)?.flat(
            Array.isArray((c.inputs.attention_mask as unknown[][] | undefined)?.[0]?.[0]) ? 1 : 0,
          ) as number[][] | undefined;
          const packable = !fixture.name.startsWith('longformer') && c.inputs.start_positions === undefined;
          if (packable && Array.isArray(mask?.[0]) && mask.every((row) => row[0] === 1)) {
            for (const [s, model] of schemes.entries()) {
              const packed = await model.forward(inputs, { packed: true });
              const what = `${c.name} packed (${INT8_WEIGHT_SCHEMES[s]})`;
              assertRealPositionsEqual(task, padded[s]!, packed, mask, what);
            }
            packedChecked++;
          }
        }
        if (!fixture.name.startsWith('longformer'))
          assert.ok(packedChecked > 0 || cases.every((c) => c.inputs.start_positions !== undefined));
      } finally {
        await fp32.dispose();
        for (const model of schemes) await model.dispose();
      }
    });
  }
});

/** Packed results equal padded ones on real positions within 1e-5 (per-sequence outputs everywhere). */
function assertRealPositionsEqual(
  task: ModelTask,
  padded: ModelOutput,
  packed: ModelOutput,
  mask: number[][],
  what: string,
): void {
  const [batch, seq] = [mask.length, mask[0]!.length];
  for (const key of Object.keys(padded) as (keyof ModelOutput)[]) {
    const a = padded[key];
    if (!(a instanceof FloatTensor)) continue;
    const b = packed[key] as FloatTensor;
    const perSequence =
      key === 'pooler_output' ||
      (key === 'logits' && (task === 'sequence-classification' || task === 'multiple-choice'));
    const perToken = !perSequence && a.dims[0] === batch && a.dims[1] === seq;
    const width = perToken ? a.data.length / (batch * seq) : 0;
    for (let i = 0; i < a.data.length; i++) {
      if (perToken) {
        const position = Math.floor(i / width);
        if (mask[Math.floor(position / seq)]![position % seq] !== 1) continue;
      }
      assert.ok(
        Math.abs(a.data[i]! - b.data[i]!) <= 1e-5,
        `${what} ${key}[${i}]: ${a.data[i]} vs ${b.data[i]}`,
      );
    }
  }
}

describe('int8 rows are independent of their batch', () => {
  test('demo model: each row of mixed-length batches equals the row alone within 1e-5 (padded and packed, both weight schemes)', async () => {
    const rand = random(19);
    for (const [packed, int8Weights] of [
      [false, 'symmetric'],
      [true, 'symmetric'],
      [false, 'asymmetric'],
      [true, 'asymmetric'],
    ] as const) {
      const model = await PreTrainedModel.fromPretrained(DEMO, 'sequence-classification', {
        cacheDir: false,
        dtype: 'int8',
        int8Weights,
        packed,
      });
      try {
        const lengths = Array.from({ length: 6 }, () => 3 + Math.floor(rand() * 40));
        const seq = Math.max(...lengths);
        const rows = lengths.map((n) =>
          Array.from({ length: n }, (_, j) =>
            j === 0 ? 2 : j === n - 1 ? 3 : 5 + Math.floor(rand() * 2000),
          ),
        );
        const batch = await model.forward({
          input_ids: rows.map((r) => [...r, ...Array(seq - r.length).fill(0)]),
          attention_mask: rows.map((r) => r.map(() => 1).concat(Array(seq - r.length).fill(0))),
        });
        for (const [i, row] of rows.entries()) {
          const alone = await model.forward({ input_ids: [row], attention_mask: [row.map(() => 1)] });
          for (let j = 0; j < 2; j++) {
            const [x, y] = [batch.logits!.data[i * 2 + j]!, alone.logits!.data[j]!];
            assert.ok(Math.abs(x - y) <= 1e-5, `${int8Weights}, packed ${packed}, row ${i}: ${x} vs ${y}`);
          }
        }
      } finally {
        await model.dispose();
      }
    }
  });
});

describe('int8 options', () => {
  test('the graph cache keys int8 by dtype, exclusions and weight scheme: a second load reuses it, fp32 is another entry', async () => {
    const cacheDir = mkdtempSync(join(tmpdir(), 'seqbatch-int8-cache-'));
    try {
      const load = (options: FromPretrainedOptions) =>
        PreTrainedModel.fromPretrained(DEMO, 'sequence-classification', {
          cacheDir,
          packed: false,
          ...options,
        });
      const paths: (string | undefined)[] = [];
      for (const [options, fromCache] of [
        [{ dtype: 'int8' }, false],
        [{ dtype: 'int8' }, true],
        [{}, false],
        [{ dtype: 'int8', int8Exclude: ['classifier'] }, false],
        [{ dtype: 'int8', int8Weights: 'asymmetric' }, false],
        [{ dtype: 'int8', int8Weights: 'asymmetric' }, true],
      ] as [FromPretrainedOptions, boolean][]) {
        const model = await load(options);
        assert.equal(model.loadedFromCache, fromCache, JSON.stringify(options));
        paths.push(model.graphPath);
        await model.dispose();
      }
      assert.equal(paths[0], paths[1]);
      assert.equal(paths[4], paths[5]);
      assert.equal(new Set(paths).size, 4);
    } finally {
      rmSync(cacheDir, { recursive: true, force: true });
    }
  });

  test('dtype and int8Exclude are checked, named in the InputError', async () => {
    const config = JSON.parse(readFileSync(join(DEMO, 'config.json'), 'utf8')) as Record<string, unknown>;
    const weights = await loadWeights(DEMO);
    const build = (extra: Record<string, unknown>) =>
      buildModelGraph(config, weights, { task: 'sequence-classification', ...extra });
    assert.throws(
      () => build({ dtype: 'fp16' }),
      (e: unknown) => e instanceof InputError && e.argument === 'dtype' && /fp32, int8/.test(e.message),
    );
    assert.throws(
      () => build({ dtype: 'int8', int8Exclude: 'classifier' }),
      (e: unknown) => e instanceof InputError && e.argument === 'int8Exclude',
    );
    assert.throws(
      () => build({ dtype: 'int8', int8Weights: 'minmax' }),
      (e: unknown) =>
        e instanceof InputError && e.argument === 'int8Weights' && /symmetric, asymmetric/.test(e.message),
    );
    await assert.rejects(
      PreTrainedModel.fromPretrained(DEMO, 'base', { cacheDir: false, dtype: 'int4' as never }),
      (e: unknown) => e instanceof InputError && e.argument === 'dtype',
    );
  });

  test('the CLI flags --int8-exclude and --int8-weights become the loading options, only with --dtype int8', () => {
    assert.deepEqual(dtypeFlags({ dtype: 'int8', int8Weights: 'asymmetric', int8Exclude: 'pooler,ffn' }), {
      dtype: 'int8',
      int8Exclude: ['pooler', 'ffn'],
      int8Weights: 'asymmetric',
    });
    assert.deepEqual(dtypeFlags({ dtype: 'fp32' }), {});
    for (const [flag, options] of [
      ['--int8-weights', { dtype: 'fp32', int8Weights: 'asymmetric' }],
      ['--int8-exclude', { int8Exclude: 'pooler' }],
    ] as const) {
      assert.throws(
        () => dtypeFlags(options),
        (e: unknown) => e instanceof InputError && e.argument === flag && /only meaningful/.test(e.message),
      );
    }
  });

  test('int8Exclude keeps the named layers in fp32 (fewer int8 products in the graph)', async () => {
    const config = JSON.parse(readFileSync(join(DEMO, 'config.json'), 'utf8')) as Record<string, unknown>;
    const weights = await loadWeights(DEMO);
    const count = (extra: Record<string, unknown>): number => {
      const bytes = buildModelGraph(config, weights, { task: 'sequence-classification', ...extra }).bytes;
      return Buffer.from(bytes).toString('latin1').split('MatMulIntegerToFloat').length - 1;
    };
    const all = count({ dtype: 'int8', int8Exclude: [] });
    assert.ok(all > 0);
    assert.equal(count({}), 0, 'fp32 has no int8 product');
    const layers = Number(config.n_layers);
    assert.equal(
      count({ dtype: 'int8', int8Exclude: ['ffn'] }),
      all - 2 * layers,
      'lin1 and lin2 of each layer',
    );
    assert.equal(count({ dtype: 'int8', int8Exclude: ['classifier', 'pre_classifier'] }), all - 2);
  });
});

describe('int8 accuracy on the demo model', () => {
  test('comparison arithmetic: agreement, accuracy by index or name, |Δ|, cosine', () => {
    const fp32 = [
      [1, 0],
      [0, 2],
      [3, 1],
    ];
    const int8 = [
      [0.5, 0.75],
      [0, 1.5],
      [3, 1],
    ];
    const names = { 0: 'NEGATIVE', 1: 'POSITIVE' };
    const c = compareLabels(fp32, int8, names, ['0', 'POSITIVE', '']);
    assert.equal(c.agreement, 2 / 3);
    assert.deepEqual([c.accuracyFp32, c.accuracyInt8], [1, 0.5]);
    assert.equal(c.maxAbsLogitDelta, 0.75);
    assert.equal(c.meanAbsLogitDelta, (0.5 + 0.75 + 0 + 0.5) / 6);
    const e = compareEmbeddings(
      [
        [1, 0],
        [1, 1],
      ],
      [
        [0, 1],
        [2, 2],
      ],
    );
    assert.equal(e.minCosine, 0);
    assert.ok(Math.abs(e.meanCosine - 0.5) < 1e-12);
  });

  test(
    'SST-2 dev: int8 labels agree with fp32 on >= 99% of the 872 sentences, accuracy drops <= 0.5 points',
    { skip: skipUnlessShared('datasets', 'sst2', 'dev.tsv') },
    async () => {
      const lines = readFileSync(sharedPath('datasets', 'sst2', 'dev.tsv'), 'utf8')
        .split('\n')
        .slice(1);
      const labels = lines.filter((l) => l.trim() !== '').map((l) => l.split('\t')[1]!);
      const texts = sst2Sentences('dev');
      assert.equal(texts.length, 872);
      const logits: number[][][] = [];
      for (const dtype of ['fp32', 'int8'] as const) {
        const classify = await pipeline('text-classification', DEMO, { cacheDir: false, dtype });
        try {
          const out = await classify.run(texts, { returnLogits: true });
          logits.push(out.map((r) => (r as { logits: number[] }).logits));
        } finally {
          await classify.dispose();
        }
      }
      const c = compareLabels(logits[0]!, logits[1]!, { 0: 'NEGATIVE', 1: 'POSITIVE' }, labels);
      assert.ok(c.agreement >= 0.99, `agreement ${c.agreement}`);
      assert.ok(c.accuracyFp32! - c.accuracyInt8! <= 0.005, `accuracy ${c.accuracyFp32} → ${c.accuracyInt8}`);
      assert.ok(c.accuracyFp32! > 0.8, 'the demo model scores about 84% in fp32');
    },
  );

  test(
    'STS-B sentences: mean-pooled int8 embeddings have mean cosine >= 0.99 to fp32',
    { skip: skipUnlessShared('datasets', 'stsb', 'dev.tsv') },
    async () => {
      // sentence1 and sentence2 of the first 500 pairs (the file's quotes are not CSV quoting: split on tabs).
      const texts = readFileSync(sharedPath('datasets', 'stsb', 'dev.tsv'), 'utf8')
        .split('\n')
        .slice(1, 501)
        .flatMap((line) => line.split('\t').slice(7, 9));
      assert.equal(texts.length, 1000);
      const vectors: number[][][] = [];
      for (const dtype of ['fp32', 'int8'] as const) {
        const embed = await pipeline('feature-extraction', DEMO, { cacheDir: false, dtype, pooling: 'mean' });
        try {
          vectors.push((await embed.run(texts)) as number[][]);
        } finally {
          await embed.dispose();
        }
      }
      const e = compareEmbeddings(vectors[0]!, vectors[1]!);
      assert.ok(e.meanCosine >= 0.99, `mean cosine ${e.meanCosine}`);
      assert.ok(e.minCosine < 1, 'int8 changes the vectors at all');
    },
  );
});
