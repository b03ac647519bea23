import assert from 'node:assert/strict';
import { test } from 'node:test';
import { InferenceError, InputError } from '../src/errors.js';
import { GraphBuilder } from '../src/onnx/graph-builder.js';
import { OrtThread } from '../src/runtime/ort-thread.js';
import { OnnxSession, sessionOptions, type RunOn } from '../src/runtime/session.js';
import { join } from 'node:path';
import { pipeline } from '../src/pipelines/index.js';
import { mulberry32 } from './helpers/random.js';
import { REPO_ROOT } from './helpers/shared.js';

/** Seeded values uniform in [-1, 1). */
function randomValues(count: number, seed: number): Float32Array {
  const next = mulberry32(seed);
  return Float32Array.from({ length: count }, () => 2 * next() - 1);
}

const SIZE = 384;
const STEPS = 12;

/** y = x·W·W·…·W (STEPS products of SIZE×SIZE): enough work that a run takes a visible while. */
function chainGraph(weight: Float32Array): Uint8Array {
  const g = new GraphBuilder();
  let x = g.input('x', 'float32', ['rows', SIZE]);
  const w = g.initializer('w', weight, [SIZE, SIZE]);
  for (let i = 0; i < STEPS; i++) x = g.op('MatMul', [x, w]);
  g.output(x, 'y', 'float32', ['rows', SIZE]);
  return g.toBytes();
}

/** Plain JS reference of chainGraph for one row. */
function chainReference(row: Float32Array, weight: Float32Array): Float64Array {
  let x = Float64Array.from(row);
  for (let s = 0; s < STEPS; s++) {
    const next = new Float64Array(SIZE);
    for (let k = 0; k < SIZE; k++) {
      const xk = x[k]!;
      for (let j = 0; j < SIZE; j++) next[j]! += xk * weight[k * SIZE + j]!;
    }
    x = next;
  }
  return x;
}

function weights(): Float32Array {
  // Scaled so repeated products neither blow up nor vanish.
  return randomValues(SIZE * SIZE, 7).map((v) => v * Math.sqrt(3 / SIZE));
}

const ROWS = 512;

async function settlesWithinTwoTurns(runOn: RunOn): Promise<{ settled: boolean; result: Float32Array }> {
  const weight = weights();
  const session = await OnnxSession.create(chainGraph(weight), { threads: 1, runOn }, `chain-${runOn}`);
  const x = randomValues(ROWS * SIZE, 3);
  let settled = false;
  const pending = session.run({ x: { type: 'float32', data: x, dims: [ROWS, SIZE] } }).then((out) => {
    settled = true;
    return out;
  });
  // Two turns of the event loop. On the main thread ORT's run is one synchronous call scheduled with
  // setImmediate, so it has finished (and resolved) before our second turn; on the worker thread it is still busy.
  await new Promise((resolve) => setImmediate(resolve));
  await new Promise((resolve) => setImmediate(resolve));
  const observed = settled;
  const out = await pending;
  const reference = chainReference(x.subarray(0, SIZE), weight);
  const got = (out.y!.data as Float32Array).subarray(0, SIZE);
  for (let j = 0; j < SIZE; j++) {
    assert.ok(Math.abs(got[j]! - reference[j]!) <= 1e-3 * (1 + Math.abs(reference[j]!)), `y[0][${j}]`);
  }
  await session.release();
  return { settled: observed, result: out.y!.data as Float32Array };
}

test('on the worker thread a run leaves the event loop free; on the main thread it blocks it', async () => {
  const worker = await settlesWithinTwoTurns('worker');
  assert.equal(worker.settled, false, 'the worker run must still be computing after two event-loop turns');
  const main = await settlesWithinTwoTurns('main');
  assert.equal(main.settled, true, 'the main-thread run blocks the loop and has settled by then');
  assert.deepEqual(worker.result, main.result, 'both places compute the same numbers');
});

test('runOn is validated and named', () => {
  assert.throws(
    () => sessionOptions({ runOn: 'gpu' as never }),
    (e: unknown) =>
      e instanceof InputError && e.argument === 'runOn' && /worker, own-worker, main/.test(e.message),
  );
});

test('concurrent runs on the worker thread all complete, in order, with their own results', async () => {
  const g = new GraphBuilder();
  const x = g.input('x', 'float32', ['n']);
  g.output(g.op('Mul', [x, g.scalar(2)]), 'y', 'float32', ['n']);
  const session = await OnnxSession.create(g.toBytes(), { threads: 1 }, 'double');
  const runs = Array.from({ length: 20 }, (_, i) =>
    session.run({ x: { type: 'float32', data: Float32Array.from([i, i + 0.5]), dims: [2] } }),
  );
  const results = await Promise.all(runs);
  results.forEach((out, i) => assert.deepEqual([...out.y!.data], [2 * i, 2 * i + 1]));
  await session.release();
  await assert.rejects(
    session.run({ x: { type: 'float32', data: Float32Array.from([1]), dims: [1] } }),
    (e: unknown) => e instanceof InferenceError && /double: inference failed .*released/.test(e.message),
  );
});

test('a stopped ORT thread fails its sessions with a clear error, and the next session starts a new thread', async () => {
  const g = new GraphBuilder();
  const x = g.input('x', 'float32', ['n']);
  g.output(g.op('Neg', [x]), 'y', 'float32', ['n']);
  const bytes = g.toBytes();
  const before = await OnnxSession.create(bytes, { threads: 1 }, 'negate');
  const thread = OrtThread.shared();
  await thread.terminate();
  assert.equal(thread.alive, false);
  await assert.rejects(
    before.run({ x: { type: 'float32', data: Float32Array.from([1]), dims: [1] } }),
    (e: unknown) => e instanceof InferenceError && /negate: .*worker thread stopped/.test(e.message),
  );
  await before.release(); // nothing left to free; must not throw
  const after = await OnnxSession.create(bytes, { threads: 1 }, 'negate');
  assert.notEqual(OrtThread.shared(), thread);
  const out = await after.run({ x: { type: 'float32', data: Float32Array.from([3, -4]), dims: [2] } });
  assert.deepEqual([...out.y!.data], [-3, 4]);
  await after.release();
});

test('transferBytes moves the graph bytes to the worker; without it the caller keeps them', async () => {
  const g = new GraphBuilder();
  const x = g.input('x', 'float32', ['n']);
  g.output(g.op('Abs', [x]), 'y', 'float32', ['n']);
  const kept = new Uint8Array(g.toBytes());
  const keptSession = await OnnxSession.create(kept, { threads: 1 }, 'abs');
  assert.ok(kept.byteLength > 0, 'copied, not detached');
  const moved = new Uint8Array(g.toBytes());
  const movedSession = await OnnxSession.create(moved, { threads: 1 }, 'abs', { transferBytes: true });
  assert.equal(moved.byteLength, 0, 'detached: the worker owns them now');
  for (const session of [keptSession, movedSession]) {
    const out = await session.run({ x: { type: 'float32', data: Float32Array.from([-2]), dims: [1] } });
    assert.deepEqual([...out.y!.data], [2]);
    await session.release();
  }
});

test("sessions on threads of their own ('own-worker') run side by side; releasing one stops only its thread", async () => {
  const weight = weights();
  const bytes = chainGraph(weight);
  const big = { x: { type: 'float32' as const, data: randomValues(4096 * SIZE, 5), dims: [4096, SIZE] } };
  const small = { x: { type: 'float32' as const, data: randomValues(SIZE, 6), dims: [1, SIZE] } };

  /** Which of a long run on one session and a short run on another, asked for just after it, settles first. */
  async function order(runOn: RunOn): Promise<string[]> {
    const slow = await OnnxSession.create(bytes, { threads: 1, runOn }, 'slow');
    const quick = await OnnxSession.create(bytes, { threads: 1, runOn }, 'quick');
    const settled: string[] = [];
    await Promise.all([
      slow.run(big).then(() => settled.push('slow')),
      quick.run(small).then(() => settled.push('quick')),
    ]);
    await slow.release();
    await quick.release();
    return settled;
  }
  // The shared thread runs them in request order; threads of their own let the short run finish first.
  assert.deepEqual(await order('worker'), ['slow', 'quick']);
  assert.deepEqual(await order('own-worker'), ['quick', 'slow']);

  const own = await OnnxSession.create(bytes, { threads: 1, runOn: 'own-worker' }, 'own');
  const shared = await OnnxSession.create(bytes, { threads: 1 }, 'shared');
  const [a, b] = await Promise.all([own.run(small), shared.run(small)]);
  assert.deepEqual(a.y!.data, b.y!.data, 'the same numbers on either thread');
  await own.release();
  await assert.rejects(
    own.run(small),
    (e: unknown) => e instanceof InferenceError && /own: .*worker thread stopped/.test(e.message),
  );
  assert.equal(OrtThread.shared().alive, true, 'the shared thread is not stopped with it');
  assert.deepEqual((await shared.run(small)).y!.data, b.y!.data);
  await shared.release();
});

test("pipelines pass runOn to their sessions: an 'own-worker' pipeline outlives the shared thread", async () => {
  const model = join(REPO_ROOT, 'models', 'seqbatch-demo-sst2');
  const own = await pipeline('text-classification', model, {
    cacheDir: false,
    threads: 1,
    runOn: 'own-worker',
  });
  const shared = await pipeline('text-classification', model, { cacheDir: false, threads: 1 });
  const text = 'A charming, funny and deeply moving film.';
  const before = await own.run(text);
  await OrtThread.shared().terminate();
  await assert.rejects(shared.run(text), /worker thread stopped/);
  assert.deepEqual(await own.run(text), before);
  await own.dispose();
  await shared.dispose();
});
