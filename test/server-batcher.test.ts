import assert from 'node:assert/strict';
import test from 'node:test';
import { DynamicBatcher, QueueFullError, type BatchStats, type BatcherOptions } from '../src/server/index.js';

const defaults: BatcherOptions = {
  maxBatchTokens: 1000,
  maxBatchSize: 8,
  maxWaitMs: 0,
  maxQueue: 100,
  concurrency: 1,
};

/** A runner that records each batch it gets and echoes `input * 10`. */
function recordingRunner(delayMs = 5) {
  const batches: number[][] = [];
  const run = async (inputs: number[]) => {
    batches.push([...inputs]);
    await new Promise((resolve) => setTimeout(resolve, delayMs));
    return inputs.map((x) => x * 10);
  };
  return { batches, run };
}

const items = (values: number[], tokens = 10) => values.map((input) => ({ input, tokens }));

test('concurrent submissions are batched together and each caller gets its own outputs in order', async () => {
  const stats: BatchStats[] = [];
  const batcher = new DynamicBatcher({ ...defaults, maxWaitMs: 20 }, (s) => stats.push(s));
  const { batches, run } = recordingRunner();
  const results = await Promise.all([
    batcher.submit('k', items([1, 2]), run),
    batcher.submit('k', items([3]), run),
    batcher.submit('k', items([4, 5, 6]), run),
  ]);
  assert.deepEqual(results, [[10, 20], [30], [40, 50, 60]]);
  assert.deepEqual(batches, [[1, 2, 3, 4, 5, 6]]);
  assert.equal(stats[0]!.size, 6);
  assert.equal(stats[0]!.paddedTokens, 60);
});

test('maxBatchSize and the padded-token budget (size x longest) cut batches; an oversize item runs alone', async () => {
  const batcher = new DynamicBatcher({ ...defaults, maxBatchSize: 3, maxBatchTokens: 100, maxWaitMs: 10 });
  const { batches, run } = recordingRunner();
  await Promise.all([batcher.submit('k', items([1, 2, 3, 4, 5]), run)]);
  assert.deepEqual(batches, [
    [1, 2, 3],
    [4, 5],
  ]);

  const budget = new DynamicBatcher({ ...defaults, maxBatchTokens: 100, maxWaitMs: 10 });
  const recorded = recordingRunner();
  const stats: BatchStats[] = [];
  const withStats = new DynamicBatcher({ ...defaults, maxBatchTokens: 100, maxWaitMs: 10 }, (s) =>
    stats.push(s),
  );
  // 30 + 30 + 30 fits (3 x 30 = 90); a 40-token item would make it 4 x 40 = 160, so it starts the next batch.
  const input = [
    { input: 1, tokens: 30 },
    { input: 2, tokens: 10 },
    { input: 3, tokens: 30 },
    { input: 4, tokens: 40 },
    { input: 5, tokens: 150 },
    { input: 6, tokens: 5 },
  ];
  await budget.submit('k', input, recorded.run);
  assert.deepEqual(recorded.batches, [[1, 2, 3], [4], [5], [6]]);
  await withStats.submit('k', input.slice(0, 3), recordingRunner().run);
  assert.deepEqual(
    stats.map((s) => [s.size, s.realTokens, s.paddedTokens]),
    [[3, 70, 90]],
  );
});

test('inputs with different keys (task or options) never share a batch, and the oldest key goes first', async () => {
  const batcher = new DynamicBatcher({ ...defaults, maxWaitMs: 10 });
  const seen: string[] = [];
  const runFor = (key: string) => async (inputs: number[]) => {
    seen.push(`${key}:${inputs.join(',')}`);
    return inputs;
  };
  await Promise.all([
    batcher.submit('a', items([1]), runFor('a')),
    batcher.submit('b', items([2]), runFor('b')),
    batcher.submit('a', items([3]), runFor('a')),
  ]);
  assert.deepEqual(seen, ['a:1,3', 'b:2']);
});

test('a lone input waits maxWaitMs for company, then runs; a full batch does not wait', async () => {
  const batcher = new DynamicBatcher({ ...defaults, maxWaitMs: 60, maxBatchSize: 2 });
  const { run } = recordingRunner(0);
  let started = performance.now();
  await batcher.submit('k', items([1]), run);
  const lone = performance.now() - started;
  assert.ok(lone >= 55, `lone input ran after ${lone} ms, expected about 60`);
  started = performance.now();
  await batcher.submit('k', items([1, 2]), run);
  const full = performance.now() - started;
  assert.ok(full < 40, `full batch ran after ${full} ms, expected no wait`);
});

test('a full queue refuses the whole request at once with a Retry-After estimate', async () => {
  const batcher = new DynamicBatcher({ ...defaults, maxQueue: 3, maxBatchSize: 1 });
  let release!: () => void;
  const gate = new Promise<void>((resolve) => (release = resolve));
  const run = async (inputs: number[]) => {
    await gate;
    return inputs;
  };
  const first = batcher.submit('k', items([1]), run); // dispatched at once: running, not queued
  await new Promise((resolve) => setImmediate(resolve));
  const queued = batcher.submit('k', items([2, 3]), run);
  assert.equal(batcher.depth, 2);
  assert.throws(
    () => batcher.submit('k', items([4, 5]), run),
    (error: unknown) =>
      error instanceof QueueFullError && error.retryAfterSeconds >= 1 && /capacity 3/.test(error.message),
  );
  assert.equal(batcher.depth, 2, 'nothing of the refused request was queued');
  const fits = batcher.submit('k', items([6]), run);
  release();
  assert.deepEqual(await Promise.all([first, queued, fits]), [[1], [2, 3], [6]]);
});

test('an engine failure fails only the request that caused it, even inside a shared batch', async () => {
  const batcher = new DynamicBatcher({ ...defaults, maxBatchSize: 8, maxWaitMs: 5 });
  const batches: number[][] = [];
  const run = async (inputs: number[]) => {
    batches.push([...inputs]);
    if (inputs.includes(13)) throw new Error('unlucky input');
    return inputs;
  };
  const [bad, good, alsoGood] = await Promise.allSettled([
    batcher.submit('k', items([1, 13]), run),
    batcher.submit('k', items([2]), run),
    batcher.submit('k', items([3, 4]), run),
  ]);
  assert.equal(bad.status, 'rejected');
  assert.match(String((bad as PromiseRejectedResult).reason), /unlucky input/);
  assert.deepEqual(good, { status: 'fulfilled', value: [2] });
  assert.deepEqual(alsoGood, { status: 'fulfilled', value: [3, 4] });
  // The shared batch failed, then each request was re-run alone.
  assert.deepEqual(batches, [[1, 13, 2, 3, 4], [1, 13], [2], [3, 4]]);
});

test('an engine returning the wrong number of outputs is an error for its request', async () => {
  const batcher = new DynamicBatcher(defaults);
  await assert.rejects(
    batcher.submit('k', items([3, 4]), async (inputs: number[]) => inputs.slice(1)),
    /engine returned 1 outputs for 2 inputs/,
  );
});

test('drain runs queued work without waiting for maxWaitMs and resolves when idle', async () => {
  const batcher = new DynamicBatcher({ ...defaults, maxWaitMs: 10_000 });
  const { run } = recordingRunner(5);
  const pending = batcher.submit('k', items([1, 2]), run);
  const started = performance.now();
  await batcher.drain();
  assert.ok(performance.now() - started < 1000);
  assert.deepEqual(await pending, [10, 20]);
  assert.equal(batcher.depth, 0);
});

/**
 * An engine like the ONNX Runtime thread: batches handed over while another computes wait for it, then compute
 * for `msPerItem` per input. Records when each batch was handed over and when it computed.
 */
function serialEngine(msPerItem: number, fixedMs = 0) {
  const log: { inputs: number[]; handed: number; start: number; end: number }[] = [];
  let busyUntil = Promise.resolve();
  const run = (inputs: number[]) => {
    const entry = { inputs: [...inputs], handed: performance.now(), start: 0, end: 0 };
    log.push(entry);
    const done = busyUntil.then(async () => {
      entry.start = performance.now();
      await new Promise((resolve) => setTimeout(resolve, fixedMs + msPerItem * inputs.length));
      entry.end = performance.now();
      return inputs.map((x) => x * 10);
    });
    busyUntil = done.then(() => undefined);
    return done;
  };
  return { log, run };
}

test('prepareAheadMs hands the next batch over before the running one ends, so the engine never waits for it', async () => {
  for (const prepareAheadMs of [30, 0]) {
    const stats: BatchStats[] = [];
    const batcher = new DynamicBatcher({ ...defaults, prepareAheadMs }, (s) => stats.push(s));
    const engine = serialEngine(25);
    await batcher.submit('k', items([1, 2, 3, 4]), engine.run); // measures the time per token: 100 ms / 40
    const running = batcher.submit('k', items([5, 6, 7, 8]), engine.run);
    await new Promise((resolve) => setTimeout(resolve, 10));
    const next = await batcher.submit('k', items([9, 10, 11, 12]), engine.run);
    await running;
    assert.deepEqual(next, [90, 100, 110, 120]);
    const [, second, third] = engine.log;
    assert.deepEqual(third!.inputs, [9, 10, 11, 12]);
    if (prepareAheadMs > 0) {
      // Due at 90% of the 100 ms estimate less 30 ms: about 60 ms into the second batch.
      assert.ok(
        third!.handed < second!.end - 15,
        `handed ${(second!.end - third!.handed).toFixed(1)} ms before the end`,
      );
      assert.ok(third!.handed > second!.start + 30, 'not handed over before it was due');
      // Its time is counted from when it took the slot (the second batch's end), not from when it was handed over.
      const counted = stats[2]!.seconds * 1000;
      assert.ok(
        Math.abs(counted - (third!.end - second!.end)) < 10,
        `third batch counted ${counted.toFixed(1)} ms, ran ${(third!.end - second!.end).toFixed(1)} ms after the second`,
      );
      assert.ok(counted < third!.end - third!.handed - 15, 'not counted from the handover');
    } else {
      assert.ok(third!.handed >= second!.end, 'without prepareAheadMs the next batch waits for a free slot');
    }
  }
});

test('prepareAheadMs does not hand over a batch much smaller than the running one', async () => {
  const batcher = new DynamicBatcher({ ...defaults, prepareAheadMs: 1000 });
  const engine = serialEngine(10);
  await batcher.submit('k', items([1, 2, 3, 4, 5, 6, 7, 8]), engine.run);
  const running = batcher.submit('k', items([1, 2, 3, 4, 5, 6, 7, 8]), engine.run);
  await new Promise((resolve) => setTimeout(resolve, 10));
  const small = batcher.submit('k', items([9]), engine.run);
  await Promise.all([running, small]);
  const [, second, third] = engine.log;
  assert.deepEqual(third!.inputs, [9]);
  assert.ok(third!.handed >= second!.end, 'the one-input batch waited for the batch of 8 to end');
});

test('closed-loop clients that start unevenly settle into batches of similar size', async () => {
  // 16 clients, each sending its next input 1 ms after its answer. The first arrives alone; with each batch
  // taking everything queued, sizes would alternate 1 and 15 for ever.
  const batcher = new DynamicBatcher({ ...defaults, maxBatchSize: 64, maxWaitMs: 2, prepareAheadMs: 5 });
  const engine = serialEngine(2, 5);
  let stop = false;
  const client = async () => {
    while (!stop) {
      await batcher.submit('k', items([1]), engine.run);
      await new Promise((resolve) => setTimeout(resolve, 1));
    }
  };
  const clients = [client()];
  while (engine.log.length === 0) await new Promise((resolve) => setTimeout(resolve, 1));
  for (let i = 1; i < 16; i++) clients.push(client());
  while (engine.log.length < 20) await new Promise((resolve) => setTimeout(resolve, 10));
  stop = true;
  await Promise.all(clients);
  const sizes = engine.log.map((batch) => batch.inputs.length);
  assert.equal(sizes[0], 1, `the first input ran alone (sizes ${sizes.join(' ')})`);
  for (let i = 10; i < 20; i++) {
    assert.ok(
      sizes[i]! >= 0.8 * sizes[i - 1]! - 1,
      `batch ${i} of ${sizes[i]} after ${sizes[i - 1]} (sizes ${sizes.join(' ')})`,
    );
  }
});
