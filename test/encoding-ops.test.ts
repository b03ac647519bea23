/**
 * Encoding operations in isolation, on small hand-built encodings whose expected results are worked out by hand
 * (window arithmetic, the LongestFirst rule from the Rust core's own unit-test table, padding, window
 * combinations), plus the error paths.
 */
import assert from 'node:assert/strict';
import test from 'node:test';
import { BatchEncoding } from '../src/encoding/batch-encoding.js';
import { Encoding } from '../src/encoding/encoding.js';
import { padEncoding, padEncodings, roundUpToMultiple } from '../src/encoding/padding.js';
import {
  longestFirstLengths,
  truncateEncoding,
  truncateEncodings,
  windowRanges,
} from '../src/encoding/truncation.js';
import { rowsToTensor } from '../src/encoding/tensors.js';
import { ConfigError, InputError, TruncationError } from '../src/errors.js';
import {
  BertProcessing,
  ByteLevelProcessing,
  postProcessorFromJSON,
  RobertaProcessing,
  TemplateProcessing,
  trimByteLevelOffsets,
} from '../src/tokenizers/post-processors/index.js';

/** n tokens t0..t(n-1) with ids start.., one word each, offsets [2i, 2i+1). */
function tokens(n: number, start = 10, typeId = 0): Encoding {
  const ids = Array.from({ length: n }, (_, i) => start + i);
  return new Encoding(
    ids,
    ids.map(() => typeId),
    ids.map((id) => `t${id}`),
    ids.map((_, i) => i),
    ids.map((_, i) => [2 * i, 2 * i + 1] as [number, number]),
    ids.map(() => 0),
    ids.map(() => 1),
  );
}

const bert = new BertProcessing({ token: '[SEP]', id: 2 }, { token: '[CLS]', id: 1 });

test('windowRanges: right windows step by W−S until one reaches the end', () => {
  assert.deepEqual(windowRanges(10, 4, 1, 'right'), [
    [0, 4],
    [3, 7],
    [6, 10],
  ]);
  assert.deepEqual(windowRanges(11, 4, 1, 'right'), [
    [0, 4],
    [3, 7],
    [6, 10],
    [9, 11],
  ]);
  assert.deepEqual(windowRanges(5, 8, 2, 'right'), [[0, 5]]);
  assert.deepEqual(windowRanges(6, 3, 0, 'right'), [
    [0, 3],
    [3, 6],
  ]);
});

test('windowRanges: left windows are the mirror image, the kept one last in the text', () => {
  assert.deepEqual(windowRanges(10, 4, 1, 'left'), [
    [6, 10],
    [3, 7],
    [0, 4],
  ]);
  assert.deepEqual(windowRanges(11, 4, 1, 'left'), [
    [7, 11],
    [4, 8],
    [1, 5],
    [0, 2],
  ]);
});

test('windowRanges: a stride not smaller than the window is an InputError naming stride', () => {
  assert.throws(
    () => windowRanges(10, 4, 4, 'right'),
    (e: unknown) => e instanceof InputError && e.argument === 'stride' && /stride \(4\)/.test(e.message),
  );
});

test('truncateEncoding keeps word ids and offsets of the untruncated text in every window', () => {
  const cut = truncateEncoding(tokens(7), 3, 1, 'right');
  assert.deepEqual(cut.ids, [10, 11, 12]);
  assert.deepEqual(
    cut.overflowing.map((w) => w.words),
    [
      [2, 3, 4],
      [4, 5, 6],
    ],
  );
  assert.deepEqual(cut.overflowing[1].offsets, [
    [8, 9],
    [10, 11],
    [12, 13],
  ]);
  const noWindows = truncateEncoding(tokens(7), 3, 1, 'left', false);
  assert.deepEqual(noWindows.ids, [14, 15, 16]);
  assert.deepEqual(noWindows.overflowing, []);
});

test('longestFirstLengths reproduces the Rust core unit-test table (max_length 7)', () => {
  // Lengths: empty 0, short 2, medium 4, long 8 (tokenizers/src/utils/truncation.rs tests).
  const table: [number, number, number, number][] = [
    [0, 0, 0, 0],
    [0, 2, 0, 2],
    [0, 4, 0, 4],
    [0, 8, 0, 7],
    [2, 0, 2, 0],
    [2, 2, 2, 2],
    [2, 4, 2, 4],
    [2, 8, 2, 5],
    [4, 0, 4, 0],
    [4, 2, 4, 2],
    [4, 4, 3, 4],
    [4, 8, 3, 4],
    [8, 0, 7, 0],
    [8, 2, 5, 2],
    [8, 4, 4, 3],
    [8, 8, 3, 4],
  ];
  for (const [a, b, na, nb] of table) assert.deepEqual(longestFirstLengths(a, b, 7), [na, nb], `${a}+${b}`);
});

test('truncateEncodings: only_* errors are TruncationErrors with the Rust messages', () => {
  const params = { maxLength: 5, stride: 0, side: 'right' as const };
  assert.throws(
    () => truncateEncodings(tokens(8), null, { ...params, strategy: 'only_second' }),
    (e: unknown) =>
      e instanceof TruncationError && e.message === 'Truncation error: Second sequence not provided',
  );
  assert.throws(
    () => truncateEncodings(tokens(2), tokens(8), { ...params, strategy: 'only_first' }),
    (e: unknown) =>
      e instanceof TruncationError &&
      e.message === 'Truncation error: Sequence to truncate too short to respect the provided max_length',
  );
  // Fitting inputs are never an error, whatever the strategy.
  const [a, b] = truncateEncodings(tokens(2), null, { ...params, strategy: 'only_second' });
  assert.equal(a.length, 2);
  assert.equal(b, null);
  const [c, d] = truncateEncodings(tokens(2), tokens(8), { ...params, strategy: 'only_second' });
  assert.deepEqual([c.length, d?.length], [2, 3]);
});

test('padEncoding: right and left pads, sequence ranges shifted, windows padded too', () => {
  const pad = { id: 0, token: '[PAD]', typeId: 0 };
  const right = bert.process(tokens(2), null, true);
  padEncoding(right, 6, pad, 'right');
  assert.deepEqual(right.ids, [1, 10, 11, 2, 0, 0]);
  assert.deepEqual(right.attentionMask, [1, 1, 1, 1, 0, 0]);
  assert.deepEqual(right.specialTokensMask, [1, 0, 0, 1, 1, 1]);
  assert.deepEqual(right.getSequenceIds(), [null, 0, 0, null, null, null]);
  const left = bert.process(truncateEncoding(tokens(5), 3, 0, 'right'), null, true);
  padEncoding(left, 6, pad, 'left');
  assert.deepEqual(left.ids, [0, 1, 10, 11, 12, 2]);
  assert.deepEqual(left.getSequenceIds(), [null, null, 0, 0, 0, null]);
  assert.deepEqual(left.words, [null, null, 0, 1, 2, null]);
  assert.deepEqual(left.offsets[0], [0, 0]);
  // The overflow window [13, 14] is padded to the same length.
  assert.deepEqual(left.overflowing[0].ids, [0, 0, 1, 13, 14, 2]);
  // Longer encodings are left alone.
  const long = tokens(8);
  padEncoding(long, 4, pad, 'right');
  assert.equal(long.length, 8);
});

test('padEncodings: longest or fixed target, rounded up to the multiple', () => {
  const pad = { id: 0, token: '[PAD]', typeId: 0 };
  const batch = [tokens(3), tokens(5)];
  assert.equal(padEncodings(batch, { target: 'longest', multipleOf: 4, side: 'right', pad }), 8);
  assert.deepEqual(
    batch.map((e) => e.length),
    [8, 8],
  );
  assert.equal(padEncodings([tokens(3)], { target: 6, multipleOf: null, side: 'right', pad }), 6);
  assert.equal(roundUpToMultiple(25, 8), 32);
  assert.equal(roundUpToMultiple(24, 8), 24);
  assert.equal(roundUpToMultiple(5, null), 5);
});

test('post-processors: windows are combined in the Rust core order, each with its own special tokens', () => {
  const a = truncateEncoding(tokens(4, 10), 2, 0, 'right'); // windows [10 11] [12 13]
  const b = truncateEncoding(tokens(4, 20, 1), 2, 0, 'right'); // windows [20 21] [22 23]
  const merged = bert.process(a, b, true);
  const rows = [merged, ...merged.overflowing].map((e) => e.ids);
  assert.deepEqual(rows, [
    [1, 10, 11, 2, 20, 21, 2],
    [1, 12, 13, 2, 20, 21, 2],
    [1, 12, 13, 2, 22, 23, 2],
    [1, 10, 11, 2, 22, 23, 2],
  ]);
  for (const row of [merged, ...merged.overflowing]) {
    assert.deepEqual(row.typeIds, [0, 0, 0, 0, 1, 1, 1]);
    assert.deepEqual(row.getSequenceIds(), [null, 0, 0, null, 1, 1, null]);
  }
  // The inputs are not modified by processing.
  assert.deepEqual(a.ids, [10, 11]);
});

test('RobertaProcessing: </s></s> between texts, type ids 0, offsets trimmed past Ġ', () => {
  const roberta = new RobertaProcessing({ token: '</s>', id: 2 }, { token: '<s>', id: 0 }, true, false);
  const first = new Encoding(
    [5, 6],
    [0, 0],
    ['Hi', 'Ġthere'],
    [0, 1],
    [
      [0, 2],
      [2, 8],
    ],
    [0, 0],
    [1, 1],
  );
  const second = new Encoding([7], [1], ['Ġyes'], [0], [[0, 4]], [0], [1]);
  const merged = roberta.process(first, second, true);
  assert.deepEqual(merged.ids, [0, 5, 6, 2, 2, 7, 2]);
  assert.deepEqual(merged.typeIds, [0, 0, 0, 0, 0, 0, 0]);
  assert.deepEqual(merged.offsets, [
    [0, 0],
    [0, 2],
    [3, 8],
    [0, 0],
    [0, 0],
    [1, 4],
    [0, 0],
  ]);
  assert.deepEqual(merged.getSequenceIds(), [null, 0, 0, null, null, 1, null]);
  assert.equal(roberta.addedTokens(true), 4);
});

test('trimByteLevelOffsets keeps the prefix space it added on the first token only', () => {
  const e = new Encoding(
    [1, 2],
    [0, 0],
    ['Ġa', 'Ġb'],
    [0, 1],
    [
      [0, 2],
      [2, 4],
    ],
    [0, 0],
    [1, 1],
  );
  trimByteLevelOffsets(e, true);
  assert.deepEqual(e.offsets, [
    [0, 2],
    [3, 4],
  ]);
  const space = new Encoding([3], [0], ['Ġ'], [0], [[4, 5]], [0], [1]);
  trimByteLevelOffsets(space, false);
  assert.deepEqual(space.offsets, [[5, 5]]);
  assert.equal(new ByteLevelProcessing(true, false).addedTokens(), 0);
});

test('TemplateProcessing reads both JSON and string pieces; multi-token specials count in addedTokens', () => {
  const template = postProcessorFromJSON({
    type: 'TemplateProcessing',
    single: '[CLS] $A [SEP]',
    pair: [
      { SpecialToken: { id: '[CLS]', type_id: 0 } },
      { Sequence: { id: 'A', type_id: 0 } },
      { SpecialToken: { id: '[SEP]', type_id: 0 } },
      { Sequence: { id: 'B', type_id: 1 } },
      { SpecialToken: { id: '[SEP]', type_id: 1 } },
    ],
    special_tokens: {
      '[CLS]': { id: '[CLS]', ids: [1, 9], tokens: ['[CLS]', '[X]'] },
      '[SEP]': { id: '[SEP]', ids: [2], tokens: ['[SEP]'] },
    },
  }) as TemplateProcessing;
  assert.equal(template.addedTokens(false), 3);
  assert.equal(template.addedTokens(true), 4);
  const single = template.process(tokens(1), null, true);
  assert.deepEqual(single.ids, [1, 9, 10, 2]);
  assert.deepEqual(single.specialTokensMask, [1, 1, 0, 1]);
  const noSpecials = template.process(tokens(1), tokens(1, 20), false);
  assert.deepEqual(noSpecials.ids, [10, 20]);
  assert.deepEqual(noSpecials.typeIds, [0, 1]);
});

test('post-processor JSON errors are ConfigErrors naming the field', () => {
  const cases: [unknown, string][] = [
    [{ type: 'Nope' }, 'post_processor.type'],
    [{ type: 'BertProcessing', sep: ['[SEP]'], cls: ['[CLS]', 1] }, 'post_processor.sep'],
    [
      {
        type: 'TemplateProcessing',
        single: '$A [SEP]',
        pair: '$A $A',
        special_tokens: { '[SEP]': { ids: [1], tokens: ['[SEP]'] } },
      },
      'post_processor.pair',
    ],
    [
      { type: 'TemplateProcessing', single: '$A [SEP]', pair: '$A $B', special_tokens: {} },
      'post_processor.special_tokens',
    ],
    [{ type: 'TemplateProcessing', single: '$C', pair: '$A $B' }, 'post_processor.single[0]'],
    [
      {
        type: 'TemplateProcessing',
        single: '$A',
        pair: '$A $B',
        special_tokens: { x: { ids: [1, 2], tokens: ['x'] } },
      },
      'post_processor.special_tokens.x',
    ],
  ];
  for (const [json, fieldName] of cases) {
    assert.throws(
      () => postProcessorFromJSON(json),
      (e: unknown) => e instanceof ConfigError && e.field === fieldName,
      JSON.stringify(json),
    );
  }
});

test('BatchEncoding.toTensors: int64 and int32 [batch, seq] in row-major order; ragged rows are an InputError', () => {
  const batch = new BatchEncoding([
    bert.process(tokens(2), null, true),
    bert.process(tokens(2, 30), null, true),
  ]);
  const tensors = batch.toTensors('int64', ['input_ids', 'attention_mask']);
  assert.deepEqual(tensors.input_ids?.dims, [2, 4]);
  assert.deepEqual([...(tensors.input_ids?.data as BigInt64Array)], [1n, 10n, 11n, 2n, 1n, 30n, 31n, 2n]);
  assert.equal(tensors.input_ids?.type, 'int64');
  const int32 = batch.toTensors('int32');
  assert.deepEqual([...(int32.token_type_ids?.data as Int32Array)], [0, 0, 0, 0, 0, 0, 0, 0]);
  assert.deepEqual(
    [...(rowsToTensor([[-1, 2 ** 31 - 1]], 'int64', 'x').data as BigInt64Array)],
    [-1n, 2147483647n],
  );
  const ragged = new BatchEncoding([tokens(2), tokens(3)]);
  assert.throws(
    () => ragged.toTensors(),
    (e: unknown) => e instanceof InputError && /row 1 has 3/.test(e.message) && /padding/.test(e.message),
  );
  assert.deepEqual(ragged.row(1).input_ids, [10, 11, 12]);
  assert.throws(() => ragged.row(5), InputError);
});
