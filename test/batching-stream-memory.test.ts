import assert from 'node:assert/strict';
import test from 'node:test';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { runBatched } from '../src/batching/index.js';

// A real gc() makes heap measurements mean something; the flag can be turned on from inside the process.
setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

function heapAfterGc(): number {
  gc();
  gc();
  return process.memoryUsage().heapUsed;
}

interface Measurement {
  count: number;
  checksum: number;
  expectedChecksum: number;
  maxReadAhead: number;
  peakGrowth: number;
  seconds: number;
}

const total = 1_000_000;
const windowSize = 4096;

async function streamMillion(): Promise<Measurement> {
  let reads = 0;
  // Each item is a fresh object holding a fresh string (≈ 80 bytes): holding all of them, or all results,
  // would grow the heap by tens of megabytes.
  async function* texts(): AsyncGenerator<{ text: string }> {
    for (let i = 0; i < total; i++) {
      reads++;
      yield { text: `sentence number ${i} ${'x'.repeat(i % 23)}` };
    }
  }

  const baseline = heapAfterGc();
  let peakGrowth = 0;
  let count = 0;
  let checksum = 0;
  let expectedChecksum = 0;
  let maxReadAhead = 0;
  const started = performance.now();
  const results = runBatched(texts(), {
    lengthOf: (item: { text: string }) => 1 + (item.text.length >> 2),
    runBatch: (batch: { text: string }[]) => batch.map((item) => item.text.length),
    windowSize,
    batchSize: 64,
  });
  for await (const length of results) {
    // Input order is checked arithmetically: item i's text length is known in closed form.
    expectedChecksum += `sentence number ${count} `.length + (count % 23);
    checksum += length;
    // Items read beyond the end of the window holding this result (must never be positive).
    maxReadAhead = Math.max(maxReadAhead, reads - (Math.floor(count / windowSize) + 1) * windowSize);
    count++;
    if (count % 200_000 === 0) peakGrowth = Math.max(peakGrowth, heapAfterGc() - baseline);
  }
  return {
    count,
    checksum,
    expectedChecksum,
    maxReadAhead,
    peakGrowth,
    seconds: (performance.now() - started) / 1000,
  };
}

// Run before any test starts: inside a test callback the runner's async-context tracking makes every promise
// several times slower (measured: ~1.7 s of CPU here becomes ~8 s), and this run awaits millions of them.
const measured = await streamMillion().then(
  (measurement) => ({ measurement }),
  (error: unknown) => ({ error }),
);

test('a stream of 1,000,000 items keeps memory bounded and order intact', (t) => {
  if ('error' in measured) throw measured.error;
  const { count, checksum, expectedChecksum, maxReadAhead, peakGrowth, seconds } = measured.measurement;
  assert.equal(count, total);
  assert.equal(checksum, expectedChecksum);
  assert.ok(maxReadAhead <= 0, `source read ${maxReadAhead} items beyond the current window`);
  const mb = (bytes: number) => `${(bytes / 2 ** 20).toFixed(1)} MB`;
  t.diagnostic(`1,000,000 items in ${seconds.toFixed(2)} s, peak heap growth ${mb(peakGrowth)}`);
  assert.ok(peakGrowth < 16 * 2 ** 20, `heap grew by ${mb(peakGrowth)}`);
});
