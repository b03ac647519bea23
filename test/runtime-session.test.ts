import assert from 'node:assert/strict';
import { test } from 'node:test';
import { InferenceError, InputError } from '../src/errors.js';
import { GraphBuilder } from '../src/onnx/graph-builder.js';
import { toIntMatrix, toNumericTensor, validateModelInputs } from '../src/runtime/inputs.js';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { OnnxSession, sessionOptions } from '../src/runtime/session.js';
import { FloatTensor } from '../src/runtime/tensor.js';
import { pipeline } from '../src/pipelines/index.js';
import { REPO_ROOT } from './helpers/shared.js';

const DEMO = join(REPO_ROOT, 'models', 'seqbatch-demo-sst2');

/** A one-op graph: out = Gather(table, ids), table = [[0, 1], [10, 11], [20, 21]]. */
function gatherGraph(): Uint8Array {
  const g = new GraphBuilder();
  const ids = g.input('input_ids', 'int64', ['batch', 'sequence']);
  const table = g.initializer('table', Float32Array.from([0, 1, 10, 11, 20, 21]), [3, 2]);
  g.output(g.op('Gather', [table, ids], { axis: 0 }), 'rows', 'float32', ['batch', 'sequence', 2]);
  return g.toBytes();
}

test('session options: defaults 2 intra-op / 1 inter-op threads, level all; bad values name the option', () => {
  assert.deepEqual(sessionOptions(), {
    intraOpNumThreads: 2,
    interOpNumThreads: 1,
    graphOptimizationLevel: 'all',
    executionMode: 'sequential',
    extra: { optimization: { disable_specified_optimizers: 'SkipLayerNormFusion' } },
  });
  assert.equal(
    sessionOptions({ threads: 1, graphOptimizationLevel: 'basic' }).graphOptimizationLevel,
    'basic',
  );
  for (const [options, argument] of [
    [{ threads: 0 }, 'threads'],
    [{ threads: 1.5 }, 'threads'],
    [{ interOpThreads: -1 }, 'interOpThreads'],
    [{ graphOptimizationLevel: 'O3' }, 'graphOptimizationLevel'],
    [{ profileFilePrefix: '' }, 'profileFilePrefix'],
    [{ profileFilePrefix: 3 }, 'profileFilePrefix'],
  ] as const) {
    assert.throws(
      () => sessionOptions(options as never),
      (e: unknown) => e instanceof InputError && e.argument === argument,
    );
  }
});

/** The op types ORT ran for one call of `LayerNorm(x + residual)` on [1, tokens, 8], read from its profile. */
async function kernelsRunForResidualNorm(options: ort.InferenceSession.SessionOptions): Promise<Set<string>> {
  const g = new GraphBuilder();
  const x = g.input('x', 'float32', [1, 'tokens', 8]);
  const residual = g.input('residual', 'float32', [1, 'tokens', 8]);
  const gamma = g.initializer('gamma', new Float32Array(8).fill(1), [8]);
  const beta = g.initializer('beta', new Float32Array(8), [8]);
  const sum = g.op('Add', [x, residual]);
  g.output(g.op('LayerNormalization', [sum, gamma, beta], { axis: -1 }), 'y', 'float32', [1, 'tokens', 8]);
  const dir = mkdtempSync(join(tmpdir(), 'seqbatch-prof-'));
  try {
    const session = await ort.InferenceSession.create(g.toBytes(), {
      ...options,
      enableProfiling: true,
      profileFilePrefix: join(dir, 'run'),
    });
    const feed = new ort.Tensor(
      'float32',
      Float32Array.from({ length: 24 }, (_, i) => i),
      [1, 3, 8],
    );
    await session.run({ x: feed, residual: feed });
    session.endProfiling();
    await session.release();
    const events = JSON.parse(readFileSync(join(dir, readdirFirst(dir)), 'utf8')) as {
      cat: string;
      args?: { op_name?: string };
    }[];
    return new Set(events.filter((e) => e.cat === 'Node' && e.args?.op_name).map((e) => e.args!.op_name!));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function readdirFirst(dir: string): string {
  const [name] = readdirSync(dir);
  assert.ok(name, `no profile written in ${dir}`);
  return name;
}

test('session options keep residual Add + LayerNormalization unfused (SkipLayerNormalization is slower on CPU)', async () => {
  const ours = await kernelsRunForResidualNorm(sessionOptions());
  assert.ok(ours.has('LayerNormalization') && ours.has('Add'), [...ours].join(', '));
  assert.ok(!ours.has('SkipLayerNormalization'), [...ours].join(', '));
  // Without the setting, ORT does fuse this shape: the check above is not vacuous.
  const { extra: _, ...stock } = sessionOptions();
  assert.ok((await kernelsRunForResidualNorm(stock)).has('SkipLayerNormalization'));
});

test("profileFilePrefix: a pipeline leaves ORT's per-operator profile of its runs, complete on dispose", async () => {
  const dir = mkdtempSync(join(tmpdir(), 'seqbatch-profile-'));
  try {
    const classify = await pipeline('text-classification', DEMO, {
      cacheDir: false,
      threads: 1,
      profileFilePrefix: join(dir, 'demo'),
    });
    await classify.run(['a charming film', 'a tedious mess']);
    await classify.dispose();
    const files = readdirSync(dir);
    assert.equal(files.length, 1);
    assert.match(files[0]!, /^demo.*\.json$/);
    const events = JSON.parse(readFileSync(join(dir, files[0]!), 'utf8')) as {
      cat?: string;
      name: string;
      args?: { op_name?: string };
    }[];
    assert.equal(events.filter((e) => e.cat === 'Session' && e.name === 'model_run').length, 1);
    const ops = new Set(events.filter((e) => e.cat === 'Node').map((e) => e.args?.op_name));
    assert.ok(ops.has('MatMul') && ops.has('LayerNormalization'), [...ops].join(', '));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a session runs named tensors and returns named outputs', async () => {
  const session = await OnnxSession.create(gatherGraph(), { threads: 1 }, 'gather-test');
  assert.deepEqual(session.inputNames, ['input_ids']);
  assert.deepEqual(session.outputNames, ['rows']);
  const out = await session.run({
    input_ids: { type: 'int64', data: BigInt64Array.from([2n, 0n]), dims: [1, 2] },
  });
  assert.deepEqual(out.rows!.dims, [1, 2, 2]);
  assert.deepEqual([...out.rows!.data], [20, 21, 0, 1]);
  await session.release();
});

test('ORT failures become InferenceError with the model and the input shapes', async () => {
  await assert.rejects(OnnxSession.create(Uint8Array.from([1, 2, 3]), {}, 'models/broken'), (e: unknown) => {
    assert.ok(e instanceof InferenceError);
    assert.equal(e.file, 'models/broken');
    assert.match(e.message, /models\/broken: ONNX Runtime could not load/);
    return true;
  });
  const session = await OnnxSession.create(gatherGraph(), { threads: 1 }, 'models/gather');
  // An out-of-range index is an ORT run-time error: the message says which model and what shapes it was fed.
  await assert.rejects(
    session.run({ input_ids: { type: 'int64', data: BigInt64Array.from([7n]), dims: [1, 1] } }),
    (e: unknown) =>
      e instanceof InferenceError &&
      /models\/gather: inference failed for inputs input_ids \[1, 1\]/.test(e.message),
  );
  await assert.rejects(
    session.run({}),
    (e: unknown) => e instanceof InferenceError && /needs inputs input_ids/.test(e.message),
  );
  await session.release();
});

test('input conversion: nested arrays, flat tensors, ragged rows', () => {
  assert.deepEqual(
    toIntMatrix(
      [
        [1, 2],
        [3, 4],
      ],
      'x',
    ),
    { data: BigInt64Array.from([1n, 2n, 3n, 4n]), dims: [2, 2] },
  );
  assert.deepEqual(toIntMatrix([5n, 6n], 'x').dims, [1, 2]);
  const int64 = BigInt64Array.from([1n, 2n]);
  assert.equal(
    toIntMatrix({ data: int64, dims: [1, 2] }, 'x').data,
    int64,
    'int64 tensors are used without a copy',
  );
  assert.deepEqual(toIntMatrix({ data: Int32Array.from([1, 2, 3]), dims: [3, 1] }, 'x').dims, [3, 1]);
  assert.throws(
    () => toIntMatrix({ data: [1, 2, 3], dims: [2, 2] }, 'x'),
    /dims \[2, 2\] do not match 3 values/,
  );
  assert.throws(
    () => toIntMatrix([[1, 2], [3]], 'ids'),
    (e: unknown) =>
      e instanceof InputError &&
      e.argument === 'ids' &&
      /\[1\]: rows must all have the same length/.test(e.message),
  );
  assert.throws(() => toIntMatrix('abc' as never, 'ids'), /expected an array/);
  assert.throws(() => toIntMatrix([[2 ** 60]], 'ids'), /not an integer/);
  assert.deepEqual(
    toNumericTensor(
      [
        [0.5, 1],
        [0, 1],
      ],
      'labels',
    ),
    { data: Float64Array.from([0.5, 1, 0, 1]), dims: [2, 2] },
  );
  assert.deepEqual(toNumericTensor(3, 'labels'), { data: Float64Array.from([3]), dims: [] });
});

test('explicit positions are checked against the table; default positions decide the length limit', () => {
  const limits = { vocabSize: 10, typeVocabSize: 2, maxPositionEmbeddings: 4, maxSequenceLength: 4 };
  const ids = toIntMatrix([[1, 2, 3, 4, 5]], 'input_ids');
  assert.throws(
    () => validateModelInputs({ input_ids: ids }, limits),
    /longer than the model allows \(4 tokens/,
  );
  // With explicit positions inside the table a 5-column batch is fine.
  validateModelInputs(
    { input_ids: ids, position_ids: toIntMatrix([[0, 1, 2, 3, 3]], 'position_ids') },
    limits,
  );
  // RoBERTa-style default positions: pads keep the pad position, so only real tokens count.
  const padAware = toIntMatrix([[2, 3, 1, 1, 1]], 'positions');
  validateModelInputs({ input_ids: ids }, limits, padAware);
});

test('FloatTensor indexing and nesting', () => {
  const t = new FloatTensor(Float32Array.from([1, 2, 3, 4, 5, 6]), [2, 3]);
  assert.equal(t.at(1, 2), 6);
  assert.deepEqual(t.toArray(), [
    [1, 2, 3],
    [4, 5, 6],
  ]);
  assert.equal(JSON.stringify({ t }), '{"t":[[1,2,3],[4,5,6]]}');
  assert.throws(() => t.at(2, 0), RangeError);
  assert.equal(new FloatTensor(Float32Array.of(7), []).toArray(), 7);
});
