import assert from 'node:assert/strict';
import test from 'node:test';
import { InputError } from '../src/errors.js';
import {
  DEFAULT_BATCH_OVERHEAD_TOKENS,
  planBatches,
  summarizePlan,
  type PlannedBatch,
  type PlanOptions,
} from '../src/batching/index.js';
import { readSharedJson, skipUnlessShared } from './helpers/shared.js';
import { mulberry32 as random } from './helpers/random.js';

const ceilTo = (n: number, m: number) => Math.ceil(n / m) * m;

/** Checks a plan against the caps from first principles; returns nothing, throws on a violation. */
function assertValidPlan(lengths: number[], batches: PlannedBatch[], options: Required<PlanOptions>): void {
  const seen = new Array<number>(lengths.length).fill(0);
  for (const batch of batches) {
    assert.ok(batch.indices.length >= 1, 'no empty batch');
    for (let k = 1; k < batch.indices.length; k++) assert.ok(batch.indices[k - 1]! < batch.indices[k]!);
    for (const i of batch.indices) seen[i]!++;
    const longest = Math.max(...batch.indices.map((i) => lengths[i]!));
    assert.equal(batch.paddedLength, ceilTo(longest, options.padToMultipleOf));
    assert.equal(
      batch.realTokens,
      batch.indices.reduce((sum, i) => sum + lengths[i]!, 0),
    );
    assert.ok(batch.indices.length <= options.batchSize, 'batchSize cap');
    const fits = batch.indices.length * batch.paddedLength <= options.maxBatchTokens;
    const allowedOversize =
      options.oversize === 'alone' &&
      batch.indices.length === 1 &&
      batch.paddedLength > options.maxBatchTokens;
    assert.ok(fits || allowedOversize, `token cap: ${batch.indices.length} × ${batch.paddedLength}`);
  }
  assert.deepEqual(seen, new Array<number>(lengths.length).fill(1), 'every index exactly once');
}

function objective(batches: PlannedBatch[], overhead: number): number {
  const { paddedTokens } = summarizePlan(batches);
  return paddedTokens + overhead * batches.length;
}

/** Minimum of Σ rows × padded(max) + overhead × batches over EVERY set partition that respects the caps. */
function bruteForceMinimum(lengths: number[], options: Required<PlanOptions>): number {
  let best = Number.POSITIVE_INFINITY;
  const groups: number[][] = [];
  const visit = (i: number): void => {
    if (i === lengths.length) {
      let cost = 0;
      for (const g of groups) {
        const width = ceilTo(Math.max(...g.map((k) => lengths[k]!)), options.padToMultipleOf);
        if (g.length > options.batchSize || g.length * width > options.maxBatchTokens) return;
        cost += g.length * width + options.batchOverheadTokens;
      }
      best = Math.min(best, cost);
      return;
    }
    for (const g of groups) {
      g.push(i);
      visit(i + 1);
      g.pop();
    }
    groups.push([i]);
    visit(i + 1);
    groups.pop();
  };
  visit(0);
  return best;
}

function randomOptions(next: () => number): Required<PlanOptions> {
  return {
    batchSize: 1 + Math.floor(next() * 6),
    maxBatchTokens: 40 + Math.floor(next() * 200),
    padToMultipleOf: [1, 1, 4, 8][Math.floor(next() * 4)]!,
    oversize: 'error',
    sortByLength: true,
    batchOverheadTokens: [0, 5, 32, 500][Math.floor(next() * 4)]!,
  };
}

test('sorted plans are optimal: they match a brute force over all groupings (n ≤ 7)', () => {
  const next = random(7);
  for (let trial = 0; trial < 150; trial++) {
    const options = randomOptions(next);
    const n = 1 + Math.floor(next() * 7);
    const lengths = Array.from({ length: n }, () => Math.floor(next() * 40));
    const plan = planBatches(lengths, options);
    assertValidPlan(lengths, plan, options);
    assert.equal(
      objective(plan, options.batchOverheadTokens),
      bruteForceMinimum(lengths, options),
      JSON.stringify({ lengths, options }),
    );
  }
});

/** Fewest batches of any set partition that respects the caps (brute force, n ≤ 7). */
function bruteForceFewestBatches(lengths: number[], options: Required<PlanOptions>): number {
  // With a per-batch cost far above any padding, the cheapest partition is one with the fewest batches.
  const huge = 1e6;
  return Math.floor(bruteForceMinimum(lengths, { ...options, batchOverheadTokens: huge }) / huge);
}

test('batchOverheadTokens: Infinity plans the fewest batches the caps allow (brute force, n ≤ 7)', () => {
  const next = random(11);
  for (let trial = 0; trial < 150; trial++) {
    const options = { ...randomOptions(next), batchOverheadTokens: Number.POSITIVE_INFINITY };
    const n = 1 + Math.floor(next() * 7);
    const lengths = Array.from({ length: n }, () => Math.floor(next() * 40));
    const plan = planBatches(lengths, options);
    assertValidPlan(lengths, plan, options);
    assert.equal(
      plan.length,
      bruteForceFewestBatches(lengths, options),
      JSON.stringify({ lengths, options }),
    );
  }
  // Where padding is free, a batch of mixed lengths stays whole: the default cost would cut it by length.
  const mixed = [3, 40, 5, 38, 4, 41, 6, 39];
  assert.equal(planBatches(mixed, { batchOverheadTokens: Number.POSITIVE_INFINITY }).length, 1);
  assert.ok(planBatches(mixed).length > 1);
});

test('every batch respects both caps, for random inputs and both orders', () => {
  const next = random(42);
  for (let trial = 0; trial < 200; trial++) {
    const options = { ...randomOptions(next), sortByLength: next() < 0.7 };
    if (next() < 0.3) options.batchSize = Number.POSITIVE_INFINITY;
    const lengths = Array.from({ length: Math.floor(next() * 300) }, () => Math.floor(next() * 40));
    const sorted = planBatches(lengths, options);
    assertValidPlan(lengths, sorted, options);
    // The input-order cut is one admissible grouping, so the optimal sorted cut can never cost more.
    const inputOrder = planBatches(lengths, { ...options, sortByLength: false });
    assertValidPlan(lengths, inputOrder, options);
    if (options.sortByLength) {
      assert.ok(
        objective(sorted, options.batchOverheadTokens) <= objective(inputOrder, options.batchOverheadTokens),
      );
    }
  }
});

test('input order is cut into consecutive runs, each as full as the caps allow', () => {
  const lengths = [5, 9, 3, 3, 12, 1, 1];
  const batches = planBatches(lengths, { sortByLength: false, batchSize: 3, maxBatchTokens: 24 });
  // [5, 9] then 3 would make 3 × 9 = 27 > 24; [3, 3] then 12 would make 3 × 12 = 36; [12, 1] then 3 × 12.
  assert.deepEqual(
    batches.map((b) => b.indices),
    [[0, 1], [2, 3], [4, 5], [6]],
  );
});

test('a sequence over maxBatchTokens is an InputError naming the option, or its own batch', () => {
  const lengths = [10, 600, 20, 700];
  assert.throws(
    () => planBatches(lengths, { maxBatchTokens: 512 }),
    (error: unknown) =>
      error instanceof InputError &&
      error.argument === 'maxBatchTokens' &&
      /item 3 has 700 tokens/.test(error.message) &&
      /oversize: 'alone'/.test(error.message),
  );
  // Rounded up to exactly the budget it still fits.
  assert.deepEqual(planBatches([500], { maxBatchTokens: 512, padToMultipleOf: 64 }), [
    { indices: [0], paddedLength: 512, realTokens: 500 },
  ]);
  // Rounded up to 576 it no longer fits: the padded length is what counts.
  assert.throws(
    () => planBatches([520], { maxBatchTokens: 540, padToMultipleOf: 64 }),
    /item 0 has 520 tokens \(576 once padded to a multiple of 64\)/,
  );
  const options = {
    maxBatchTokens: 512,
    oversize: 'alone',
    batchSize: 8,
    padToMultipleOf: 1,
    sortByLength: true,
    batchOverheadTokens: 32,
  } as const;
  const batches = planBatches(lengths, options);
  assertValidPlan(lengths, batches, options);
  assert.deepEqual(
    batches.map((b) => b.indices),
    [[3], [1], [0, 2]],
  );
  const unsorted = planBatches(lengths, { ...options, sortByLength: false });
  assert.deepEqual(
    unsorted.map((b) => b.indices),
    [[0], [1], [2], [3]],
  );
});

test('empty input plans no batch; zero-length sequences batch by count', () => {
  assert.deepEqual(planBatches([]), []);
  assert.deepEqual(summarizePlan([]), {
    sequences: 0,
    batches: 0,
    realTokens: 0,
    paddedTokens: 0,
    paddingRatio: 0,
  });
  const zeros = planBatches([0, 0, 0, 0, 0], { batchSize: 2 });
  assert.equal(zeros.length, 3);
  assert.ok(zeros.every((b) => b.indices.length <= 2 && b.paddedLength === 0));
  assert.deepEqual(zeros.flatMap((b) => b.indices).sort(), [0, 1, 2, 3, 4]);
});

test('bad lengths and options are InputErrors naming the argument', () => {
  const cases: [unknown, PlanOptions, string, RegExp][] = [
    [[3, -1], {}, 'lengths', /item 1 must be a non-negative integer, got number -1/],
    [[2.5], {}, 'lengths', /item 0 .* got number 2.5/],
    [[Number.NaN], {}, 'lengths', /got number NaN/],
    [['7'], {}, 'lengths', /got string "7"/],
    ['1,2', {}, 'lengths', /expected an array/],
    [[1], { batchSize: 0 }, 'batchSize', /positive integer or Infinity, got number 0/],
    [[1], { maxBatchTokens: 1.5 }, 'maxBatchTokens', /got number 1.5/],
    [[1], { padToMultipleOf: 0 }, 'padToMultipleOf', /positive integer, got number 0/],
    [[1], { oversize: 'split' as never }, 'oversize', /'error' or 'alone', got string "split"/],
    [[1], { sortByLength: 'yes' as never }, 'sortByLength', /expected a boolean/],
    [[1], { batchOverheadTokens: -1 }, 'batchOverheadTokens', /finite number ≥ 0 or Infinity/],
    [
      [1],
      { batchOverheadTokens: Number.NaN },
      'batchOverheadTokens',
      /finite number ≥ 0 or Infinity, got number NaN/,
    ],
  ];
  for (const [lengths, options, argument, message] of cases) {
    assert.throws(
      () => planBatches(lengths as number[], options),
      (error: unknown) =>
        error instanceof InputError && error.argument === argument && message.test(error.message),
      `${argument}: ${JSON.stringify(lengths)} ${JSON.stringify(options)}`,
    );
  }
});

test('huge unbounded plans fall back to a greedy cut that still respects the caps', () => {
  // 30,000 sequences with no row cap would need ~4.5e8 candidate runs; the planner must stay fast and valid.
  const next = random(3);
  const lengths = Array.from({ length: 30_000 }, () => 1 + Math.floor(next() * 60));
  const options = {
    batchSize: Number.POSITIVE_INFINITY,
    maxBatchTokens: 1_000_000,
    padToMultipleOf: 1,
    oversize: 'error',
    sortByLength: true,
    batchOverheadTokens: DEFAULT_BATCH_OVERHEAD_TOKENS,
  } as const;
  const started = performance.now();
  const batches = planBatches(lengths, options);
  assert.ok(performance.now() - started < 2000, 'fallback keeps planning fast');
  assertValidPlan(lengths, batches, options);
});

test(
  'SST-2 dev: length-sorted batches waste ≤ 2% of computed tokens, input order wastes far more',
  { skip: skipUnlessShared('fixtures/pipeline/sst2-dev-ids.json') },
  (t) => {
    const fixture = readSharedJson<{ rows: { input_ids: number[] }[] }>(
      'fixtures/pipeline/sst2-dev-ids.json',
    );
    const lengths = fixture.rows.map((row) => row.input_ids.length);
    assert.equal(lengths.length, 872);
    for (const options of [
      {},
      { batchSize: 16 },
      { batchSize: 64, maxBatchTokens: 2048 },
      { padToMultipleOf: 8 },
    ]) {
      const sorted = summarizePlan(planBatches(lengths, options));
      const inputOrder = summarizePlan(planBatches(lengths, { ...options, sortByLength: false }));
      assert.equal(sorted.sequences, 872);
      assert.equal(
        sorted.realTokens,
        lengths.reduce((a, b) => a + b, 0),
      );
      const pct = (r: number) => `${(100 * r).toFixed(2)}%`;
      t.diagnostic(
        `${JSON.stringify(options)}: sorted padding ${pct(sorted.paddingRatio)} in ${sorted.batches} batches, ` +
          `input order ${pct(inputOrder.paddingRatio)} in ${inputOrder.batches} batches`,
      );
      assert.ok(inputOrder.paddingRatio > 0.3, 'input order pads heavily on SST-2');
      if (!('padToMultipleOf' in options)) assert.ok(sorted.paddingRatio <= 0.02, pct(sorted.paddingRatio));
      assert.ok(sorted.paddedTokens < inputOrder.paddedTokens * 0.7);
    }
  },
);
