import assert from 'node:assert/strict';
import { test } from 'node:test';
import { InputError } from '../src/errors.js';
import {
  bceWithLogits,
  crossEntropy,
  inferProblemType,
  meanSquaredError,
  questionAnsweringLoss,
  sequenceClassificationLoss,
  tokenLoss,
} from '../src/runtime/losses.js';

const close = (a: number, b: number) => assert.ok(Math.abs(a - b) < 1e-12, `${a} vs ${b}`);
const tensor = (data: number[], dims: number[]) => ({ data: Float64Array.from(data), dims });

test('cross-entropy by hand: uniform logits give ln(classes); -100 rows are skipped', () => {
  close(crossEntropy([0, 0, 0], 3, [1]), Math.log(3));
  // Row 1: logits [ln 1, ln 3] → p(class 1) = 3/4. Row 2 ignored.
  close(crossEntropy([0, Math.log(3), 5, -5], 2, [1, -100]), -Math.log(3 / 4));
  // Large logits stay finite (log-sum-exp is shifted by the max).
  close(crossEntropy([1000, 0], 2, [0]), Math.log1p(Math.exp(-1000)));
  assert.ok(Number.isNaN(crossEntropy([1, 2], 2, [-100])), 'all ignored → NaN, as PyTorch');
  assert.throws(
    () => crossEntropy([1, 2], 2, [2]),
    (e: unknown) => e instanceof InputError && /class 2/.test(e.message),
  );
});

test('MSE and BCE-with-logits by hand', () => {
  close(meanSquaredError([1, 2], [0, 4]), (1 + 4) / 2);
  // x = 0 → ln 2 whatever the target; x = 2, y = 1 → ln(1 + e^-2); x = -3, y = 0 → ln(1 + e^-3).
  close(
    bceWithLogits([0, 2, -3], [0.3, 1, 0]),
    (Math.log(2) + Math.log1p(Math.exp(-2)) + Math.log1p(Math.exp(-3))) / 3,
  );
  close(bceWithLogits([-800], [1]), 800); // stable for large magnitudes
});

test('problem type inference follows transformers', () => {
  assert.equal(inferProblemType(1, tensor([0.5], [1])), 'regression');
  assert.equal(inferProblemType(3, tensor([2, 0], [2])), 'single_label_classification');
  assert.equal(inferProblemType(3, tensor([1, 0, 1], [1, 3])), 'multi_label_classification');
  assert.equal(inferProblemType(3, tensor([0.5, 0, 1], [1, 3])), 'multi_label_classification');
});

test('sequence classification losses: squeeze for 1 label, CE, BCE, shape errors name labels', () => {
  const logits1 = { data: Float32Array.from([0.5, -1]), dims: [2, 1] };
  close(sequenceClassificationLoss(logits1, tensor([1, 1], [2]), 1, undefined), (0.25 + 4) / 2);
  const logits2 = { data: Float32Array.from([0, 0, 0, Math.fround(Math.log(3))]), dims: [2, 2] };
  const ce = sequenceClassificationLoss(logits2, tensor([0, 1], [2]), 2, undefined);
  const x = Math.fround(Math.log(3)); // the float32 logit ORT would hand us
  // Row 0: [0, 0], class 0 → ln 2. Row 1: [0, x], class 1 → ln(1 + e^x) − x.
  close(ce, (Math.log(2) + Math.log1p(Math.exp(x)) - x) / 2);
  close(
    sequenceClassificationLoss(logits2, tensor([1, 0, 0, 1], [2, 2]), 2, 'multi_label_classification'),
    bceWithLogits(logits2.data, [1, 0, 0, 1]),
  );
  assert.throws(
    () => sequenceClassificationLoss(logits2, tensor([1, 0, 1], [3]), 2, undefined),
    (e: unknown) => e instanceof InputError && e.argument === 'labels',
  );
  assert.throws(
    () => sequenceClassificationLoss(logits1, tensor([1], [1]), 1, undefined),
    /regression needs 2 values/,
  );
});

test('token loss: per position, -100 ignored, label shape must match positions', () => {
  const logits = { data: Float32Array.from([0, 0, 1, 0, 0, 1]), dims: [1, 3, 2] };
  // [0, 0] class 1 → ln 2; [1, 0] ignored; [0, 1] class 0 → ln(1 + e).
  close(tokenLoss(logits, tensor([1, -100, 0], [1, 3])), (Math.log(2) + Math.log1p(Math.E)) / 2);
  assert.throws(() => tokenLoss(logits, tensor([1, 0], [1, 2])), /one label per token/);
});

test('QA loss: positions clamped to [0, seq_len], seq_len ignored, mean of start and end', () => {
  const start = { data: Float32Array.from([0, 0, 0, 0]), dims: [2, 2] };
  const end = { data: Float32Array.from([0, 0, 0, 0]), dims: [2, 2] };
  // Uniform logits: every counted position costs ln 2. Row 1's start (9 → 2 = seq_len) is ignored;
  // row 0's end (-4 → 0) is clamped to 0 and counted.
  close(questionAnsweringLoss(start, end, tensor([1, 9], [2]), tensor([-4, 1], [2])), Math.log(2));
  const skewed = { data: Float32Array.from([0, Math.fround(Math.log(3)), 0, 0]), dims: [2, 2] };
  // start: row 0 [0, x] at position 1 → ln(1 + e^x) − x; row 1 ignored. end: rows 0 and 1 → ln 2 each.
  const y = Math.fround(Math.log(3));
  close(
    questionAnsweringLoss(skewed, end, tensor([1, 2], [2]), tensor([0, 1], [2])),
    (Math.log1p(Math.exp(y)) - y + Math.log(2)) / 2,
  );
  assert.throws(
    () => questionAnsweringLoss(start, end, tensor([0], [1]), tensor([0, 1], [2])),
    (e: unknown) => e instanceof InputError && e.argument === 'start_positions',
  );
  assert.ok(Number.isNaN(questionAnsweringLoss(start, end, tensor([5, 5], [2]), tensor([5, 5], [2]))));
});
