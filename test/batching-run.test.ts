import assert from 'node:assert/strict';
import test from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { InputError } from '../src/errors.js';
import {
  BatchError,
  runBatched,
  streamBatched,
  type BatchEvent,
  type BatchInfo,
  type BatchRunStats,
  type RunBatchedOptions,
} from '../src/batching/index.js';
import { mulberry32 as random } from './helpers/random.js';

interface Item {
  id: number;
  length: number;
}

const lengthOf = (item: Item) => item.length;

/** An async source that records how far it has been read and whether it was closed. */
function trackedSource(items: Item[]) {
  const state = { reads: 0, closed: false, finished: false };
  async function* generate(): AsyncGenerator<Item> {
    try {
      for (const item of items) {
        state.reads++;
        yield item;
      }
      state.finished = true;
    } finally {
      state.closed = true;
    }
  }
  return { state, source: generate() };
}

function makeItems(n: number, next: () => number, maxLength = 60): Item[] {
  return Array.from({ length: n }, (_, id) => ({ id, length: Math.floor(next() * maxLength) }));
}

async function drain<R>(results: AsyncIterable<R>): Promise<R[]> {
  const out: R[] = [];
  for await (const r of results) out.push(r);
  return out;
}

test('results come back in input order, batches respect the caps and stay inside their window', async () => {
  const next = random(11);
  for (let trial = 0; trial < 25; trial++) {
    const n = Math.floor(next() * 400);
    const items = makeItems(n, next);
    const windowSize = 1 + Math.floor(next() * 150);
    const batchSize = 1 + Math.floor(next() * 20);
    const maxBatchTokens = 60 + Math.floor(next() * 400);
    const padToMultipleOf = next() < 0.5 ? 1 : 8;
    const concurrency = 1 + Math.floor(next() * 3);
    let running = 0;
    let maxRunning = 0;
    const runBatch = async (batch: Item[], info: BatchInfo) => {
      running++;
      maxRunning = Math.max(maxRunning, running);
      assert.ok(batch.length <= batchSize);
      const longest = Math.max(...batch.map((x) => x.length));
      assert.equal(info.paddedLength, Math.ceil(longest / padToMultipleOf) * padToMultipleOf);
      assert.ok(batch.length * info.paddedLength <= Math.max(maxBatchTokens, info.paddedLength));
      assert.deepEqual(
        info.indices,
        batch.map((x) => x.id),
      );
      const window = Math.floor(batch[0]!.id / windowSize);
      assert.ok(
        batch.every((x) => Math.floor(x.id / windowSize) === window),
        'batch crosses a window',
      );
      // A random number of event-loop turns, so that concurrent batches finish out of order.
      for (let turns = Math.floor(next() * 4); turns > 0; turns--) await new Promise(setImmediate);
      running--;
      return batch.map((x) => `${x.id}:${x.length}`);
    };
    const options = {
      lengthOf,
      runBatch,
      windowSize,
      batchSize,
      maxBatchTokens,
      padToMultipleOf,
      concurrency,
      oversize: 'alone',
    } as const;
    const expected = items.map((x) => `${x.id}:${x.length}`);
    const { source } = trackedSource(items);
    assert.deepEqual(await drain(runBatched(source, options)), expected);
    assert.deepEqual(await runBatched(items, options), expected);
    assert.ok(maxRunning <= concurrency);
  }
});

test('sync iterables stream too; an array within windowSize is planned as one window', async () => {
  const items = makeItems(300, random(5));
  const runBatch = (batch: Item[]) => batch.map((x) => x.id * 2);
  function* generate() {
    yield* items;
  }
  const streamed = await drain(runBatched(generate(), { lengthOf, runBatch, windowSize: 100 }));
  assert.deepEqual(
    streamed,
    items.map((x) => x.id * 2),
  );
  // One window: sorting may group items from anywhere in the array, not only from the same 100-item block.
  let widestSpan = 0;
  await runBatched(items, {
    lengthOf,
    batchSize: 4,
    runBatch: (batch: Item[]) => {
      const ids = batch.map((x) => x.id);
      widestSpan = Math.max(widestSpan, Math.max(...ids) - Math.min(...ids));
      return batch.map(() => 0);
    },
  });
  assert.ok(widestSpan >= 100, `widest batch span ${widestSpan}`);
  // streamBatched also accepts arrays and yields one by one.
  assert.deepEqual(
    await drain(streamBatched(items, { lengthOf, runBatch })),
    items.map((x) => x.id * 2),
  );
});

test('the concurrency option runs that many batches at once, never more', async () => {
  for (const concurrency of [1, 3]) {
    let running = 0;
    let maxRunning = 0;
    const items = makeItems(200, random(concurrency));
    const results = await runBatched(items, {
      lengthOf,
      batchSize: 5,
      concurrency,
      runBatch: async (batch: Item[]) => {
        running++;
        maxRunning = Math.max(maxRunning, running);
        await sleep(1);
        running--;
        return batch.map((x) => x.id);
      },
    });
    assert.deepEqual(
      results,
      items.map((x) => x.id),
    );
    assert.equal(maxRunning, concurrency);
  }
});

test('backpressure: the source is never read beyond the window holding the next result', async () => {
  const windowSize = 50;
  const items = makeItems(500, random(9));
  const { state, source } = trackedSource(items);
  const stream = runBatched(source, { lengthOf, windowSize, runBatch: (b: Item[]) => b.map((x) => x.id) });
  let taken = 0;
  for await (const id of stream) {
    assert.equal(id, taken);
    const windowEnd = (Math.floor(taken / windowSize) + 1) * windowSize;
    assert.ok(state.reads <= windowEnd, `read ${state.reads} items after ${taken + 1} results`);
    taken++;
    if (taken % 97 === 0) {
      // A slow consumer: nothing is read while it does not pull.
      const before = state.reads;
      await sleep(5);
      assert.equal(state.reads, before);
    }
  }
  assert.equal(taken, 500);
  assert.ok(state.finished);
});

test('a consumer stopping early stops reading, closes the source and aborts in-flight batches', async () => {
  const items = makeItems(10_000, random(2));
  const { state, source } = trackedSource(items);
  let calls = 0;
  let running = 0;
  const signals: AbortSignal[] = [];
  const dispatched: number[] = [];
  const stream = runBatched(source, {
    lengthOf,
    windowSize: 100,
    batchSize: 10,
    concurrency: 2,
    runBatch: async (batch: Item[], info: BatchInfo) => {
      calls++;
      running++;
      signals.push(info.signal);
      dispatched.push(...info.indices);
      await sleep(1);
      running--;
      return batch.map((x) => x.id);
    },
  });
  let taken = 0;
  for await (const id of stream) {
    assert.equal(id, taken);
    if (++taken === 15) break;
  }
  assert.equal(state.reads, 100, 'only the first window was read');
  assert.ok(state.closed && !state.finished, 'source closed before its end');
  assert.equal(running, 0, 'batches in flight have finished when the loop exits');
  const callsAtBreak = calls;
  await sleep(10);
  assert.equal(calls, callsAtBreak, 'no batch starts after the consumer stopped');
  assert.ok(dispatched.length < 100, 'the rest of the window was never dispatched');
  assert.ok(signals.every((s) => s.aborted));
});

test('an AbortSignal cancels an array run: no new batch, in-flight batches see the abort, the reason rejects', async () => {
  const items = makeItems(500, random(6));
  const controller = new AbortController();
  let calls = 0;
  let running = 0;
  const seenSignals: AbortSignal[] = [];
  const run = runBatched(items, {
    lengthOf,
    batchSize: 10,
    windowSize: 100,
    signal: controller.signal,
    runBatch: async (batch: Item[], info: BatchInfo) => {
      calls++;
      running++;
      seenSignals.push(info.signal);
      if (calls === 3) controller.abort(new Error('user cancelled'));
      await sleep(1);
      running--;
      return batch.map((x) => x.id);
    },
  });
  await assert.rejects(run, /user cancelled/);
  assert.equal(calls, 3, 'nothing is dispatched after the abort');
  assert.equal(running, 0, 'the in-flight batch finished before the rejection');
  assert.ok(seenSignals.every((signal) => signal.aborted));

  // Already aborted: rejects before reading anything.
  const { state, source } = trackedSource(items);
  await assert.rejects(
    drain(runBatched(source, { lengthOf, runBatch: (b: Item[]) => b, signal: AbortSignal.abort() })),
    (error: unknown) => error instanceof Error && error.name === 'AbortError',
  );
  assert.equal(state.reads, 0);
  // The array form reports bad options as a rejection, the stream form throws at call time.
  await assert.rejects(
    runBatched(items, { lengthOf, runBatch: (b: Item[]) => b, signal: {} as AbortSignal }),
    (error: unknown) => error instanceof InputError && error.argument === 'signal',
  );
});

test('a failing batch rejects with a BatchError naming its input positions, keeping the cause', async () => {
  const items = makeItems(1000, random(4));
  const { state, source } = trackedSource(items);
  const boom = new Error('onnx run failed');
  let running = 0;
  const stream = runBatched(source, {
    lengthOf,
    windowSize: 200,
    concurrency: 2,
    runBatch: async (batch: Item[]) => {
      running++;
      await sleep(1);
      running--;
      if (batch.some((x) => x.id === 345)) throw boom;
      return batch.map((x) => x.id);
    },
  });
  const seen: number[] = [];
  await assert.rejects(
    async () => {
      for await (const id of stream) seen.push(id);
    },
    (error: unknown) => {
      assert.ok(error instanceof BatchError);
      assert.equal(error.code, 'ERR_BATCH');
      assert.equal(error.cause, boom);
      assert.ok(error.indices.includes(345));
      assert.ok(
        error.indices.every((i) => i >= 200 && i < 400),
        'indices are global input positions',
      );
      assert.match(error.message, /^runBatch failed on batch \d+ \(items \d+, .*\): onnx run failed$/);
      return true;
    },
  );
  assert.deepEqual(
    seen,
    Array.from({ length: seen.length }, (_, i) => i),
  );
  assert.ok(seen.length < 345);
  assert.equal(running, 0, 'in-flight batches settle before the error surfaces');
  assert.ok(state.closed && !state.finished);
  assert.ok(state.reads <= 400);
});

test('runBatch returning the wrong number of results, or a bad length, is a typed error', async () => {
  const items = makeItems(20, random(8));
  await assert.rejects(
    runBatched(items, { lengthOf, batchSize: 4, runBatch: (b: Item[]) => b.slice(1) }),
    (error: unknown) => {
      assert.ok(error instanceof BatchError);
      const [, got, size] = /returned (\d+) results for batch \d+ of (\d+) items/.exec(error.message) ?? [];
      assert.equal(Number(got), Number(size) - 1);
      assert.equal(error.indices.length, Number(size));
      return true;
    },
  );
  await assert.rejects(
    runBatched(items, { lengthOf, runBatch: () => undefined as unknown as number[] }),
    /runBatch returned undefined for batch 0 of \d+ items/,
  );
  await assert.rejects(
    runBatched(items, { lengthOf: (x: Item) => (x.id === 13 ? -1 : x.length), runBatch: (b: Item[]) => b }),
    (error: unknown) =>
      error instanceof InputError &&
      error.argument === 'lengthOf' &&
      /item 13 .* got number -1/.test(error.message),
  );
  // A throwing callback propagates as is.
  const full = new Error('disk full');
  await assert.rejects(
    runBatched(items, {
      lengthOf,
      runBatch: (b: Item[]) => b,
      onBatch: () => {
        throw full;
      },
    }),
    (error: unknown) => error === full,
  );
  const oops = new RangeError('cannot measure');
  await assert.rejects(
    runBatched(items, {
      lengthOf: () => {
        throw oops;
      },
      runBatch: (b: Item[]) => b,
    }),
    (error: unknown) => error === oops,
  );
});

test('maxBatchTokens smaller than one sequence: InputError with the global index, or a batch of its own', async () => {
  const items = [5, 7, 3, 9, 40, 2].map((length, id) => ({ id, length }));
  const { state, source } = trackedSource(items);
  await assert.rejects(
    drain(runBatched(source, { lengthOf, maxBatchTokens: 16, windowSize: 3, runBatch: (b: Item[]) => b })),
    (error: unknown) =>
      error instanceof InputError &&
      error.argument === 'maxBatchTokens' &&
      /item 4 has 40 tokens/.test(error.message),
  );
  assert.ok(state.closed);
  const shapes: number[][] = [];
  const results = await runBatched(items, {
    lengthOf,
    maxBatchTokens: 16,
    oversize: 'alone',
    runBatch: (batch: Item[]) => {
      shapes.push(batch.map((x) => x.id));
      return batch.map((x) => -x.id);
    },
  });
  assert.deepEqual(results, [-0, -1, -2, -3, -4, -5]);
  assert.deepEqual(
    shapes.filter((ids) => ids.includes(4)),
    [[4]],
  );
  // Everything else still obeys the budget: 9 tokens fit once in 16, the rest in pairs at most.
  assert.ok(
    shapes.every((ids) => ids.length * Math.max(...ids.map((id) => items[id]!.length)) <= 16 || ids[0] === 4),
  );
});

test('empty input gives empty output without calling runBatch', async () => {
  let calls = 0;
  const progress: BatchRunStats[] = [];
  const options: RunBatchedOptions<Item, number> = {
    lengthOf,
    runBatch: () => {
      calls++;
      return [];
    },
    onProgress: (s) => progress.push(s),
  };
  assert.deepEqual(await runBatched([], options), []);
  assert.deepEqual(await drain(runBatched(trackedSource([]).source, options)), []);
  assert.equal(calls, 0);
  assert.equal(progress.length, 2);
  assert.ok(
    progress.every((s) => s.done && s.sequences === 0 && s.paddedTokens === 0 && s.paddingRatio === 0),
  );
});

test('statistics add up to what runBatch was given', async () => {
  const items = makeItems(700, random(21));
  const events: BatchEvent[] = [];
  const progress: BatchRunStats[] = [];
  let computed = 0;
  await runBatched(items, {
    lengthOf,
    windowSize: 256,
    batchSize: 16,
    runBatch: async (batch: Item[]) => {
      computed += batch.length * Math.max(...batch.map((x) => x.length));
      await sleep(0);
      return batch.map((x) => x.id);
    },
    onBatch: (e) => events.push(e),
    onProgress: (s) => progress.push(s),
  });
  const real = items.reduce((sum, x) => sum + x.length, 0);
  const final = progress.at(-1)!;
  assert.equal(final.done, true);
  assert.equal(progress.length, events.length + 1);
  assert.equal(final.sequences, 700);
  assert.equal(final.batches, events.length);
  assert.equal(final.realTokens, real);
  assert.equal(final.paddedTokens, computed);
  assert.ok(Math.abs(final.paddingRatio - (computed - real) / computed) < 1e-12);
  assert.ok(Math.abs(final.tokensPerSecond - (real * 1000) / final.elapsedMs) < 1e-6 * final.tokensPerSecond);
  assert.ok(Math.abs(final.sequencesPerSecond - 700_000 / final.elapsedMs) < 1e-6 * final.sequencesPerSecond);
  assert.ok(final.runBatchMs > 0 && final.runBatchMs <= final.elapsedMs + 1);
  assert.equal(
    events.reduce((sum, e) => sum + e.paddedTokens, 0),
    computed,
  );
  events.forEach((e, k) => {
    assert.equal(e.stats.batches, k + 1);
    assert.equal(e.paddedTokens, e.indices.length * e.paddedLength);
  });
  assert.ok(progress.every((s, k) => k === 0 || s.sequences >= progress[k - 1]!.sequences));
});

test('bad options and inputs are InputErrors naming the argument, raised before reading', () => {
  const { state, source } = trackedSource(makeItems(10, random(1)));
  const base = { lengthOf, runBatch: (b: Item[]) => b };
  const cases: [unknown, string][] = [
    [{ ...base, windowSize: 0 }, 'windowSize'],
    [{ ...base, windowSize: Number.POSITIVE_INFINITY }, 'windowSize'],
    [{ ...base, concurrency: 1.5 }, 'concurrency'],
    [{ ...base, batchSize: -2 }, 'batchSize'],
    [{ ...base, oversize: 'drop' }, 'oversize'],
    [{ ...base, onProgress: 'bar' }, 'onProgress'],
    [{ lengthOf }, 'runBatch'],
    [{ runBatch: base.runBatch }, 'lengthOf'],
    [null, 'options'],
  ];
  for (const [options, argument] of cases) {
    assert.throws(
      () => runBatched(source, options as RunBatchedOptions<Item, Item>),
      (error: unknown) => error instanceof InputError && error.argument === argument,
      argument,
    );
  }
  assert.equal(state.reads, 0);
  assert.throws(
    () => runBatched(42 as unknown as Item[], base),
    (error: unknown) => error instanceof InputError && error.argument === 'items',
  );
});
