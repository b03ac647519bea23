import assert from 'node:assert/strict';
import test from 'node:test';
import { comparePaddingStrategies } from '../src/viz/padding.js';

test('padding strategies count real and computed tokens', () => {
  // Lengths 5, 2, 9, 3 in batches of 2, model maximum 10.
  const [none, longest, maxLength, sorted] = comparePaddingStrategies([5, 2, 9, 3], {
    batchSize: 2,
    maxLength: 10,
  });
  assert.equal(none!.computedTokens, 19);
  assert.equal(none!.paddingRatio, 0);
  // Input order: [5,2] → 2×5, [9,3] → 2×9.
  assert.equal(longest!.computedTokens, 10 + 18);
  assert.equal(maxLength!.computedTokens, 40);
  // Sorted: [2,3] → 2×3, [5,9] → 2×9.
  assert.deepEqual(
    sorted!.batches.map((b) => b.rows),
    [
      [1, 3],
      [0, 2],
    ],
  );
  assert.equal(sorted!.computedTokens, 6 + 18);
  assert.ok(Math.abs(longest!.paddingRatio - (1 - 19 / 28)) < 1e-12);
});

test('rows longer than the model maximum count as truncated', () => {
  const [, , maxLength] = comparePaddingStrategies([12, 4], { batchSize: 8, maxLength: 8 });
  assert.equal(maxLength!.realTokens, 12);
  assert.equal(maxLength!.computedTokens, 16);
});

test('batch size must be positive', () => {
  assert.throws(() => comparePaddingStrategies([1], { batchSize: 0, maxLength: 8 }), /batchSize/);
});
