/**
 * The one-pass row build (`assembleRow`) against the step-by-step build it replaces (post-processor `process`,
 * `Encoding.concat`, `padEncoding`, which the fixture tests check against transformers), for every processor
 * with a layout, single texts and pairs, both padding sides, with and without special tokens, flat and pair
 * offsets; the lazily materialised offsets of `Encoding.withFlatOffsets`; and the batch layer's budget rules on
 * the Rust binding.
 */
import assert from 'node:assert/strict';
import test from 'node:test';
import { Tokenizer as RustTokenizer } from 'tokenizers';
import { assembleRow, layoutLength } from '../src/encoding/assemble.js';
import { Encoding } from '../src/encoding/encoding.js';
import { padEncoding, type PadToken } from '../src/encoding/padding.js';
import { sequenceEncoding, type SequenceTokens } from '../src/encoding/sequence-tokens.js';
import type { Side } from '../src/encoding/truncation.js';
import { InputError } from '../src/errors.js';
import {
  BertProcessing,
  NoPostProcessor,
  RobertaProcessing,
  TemplateProcessing,
  type PostProcessor,
} from '../src/tokenizers/post-processors/index.js';
import { Tokenizer } from '../src/tokenizers/tokenizer.js';
import { sharedPath, skipUnlessShared } from './helpers/shared.js';

/** n tokens with ids start.., words 0.., offsets [3i, 3i+2). */
function text(n: number, start: number): SequenceTokens {
  const ids = Array.from({ length: n }, (_, i) => start + i);
  return {
    ids,
    tokens: ids.map((id) => `t${id}`),
    words: ids.map((_, i) => i),
    offsets: ids.flatMap((_, i) => [3 * i, 3 * i + 2]),
  };
}

/** The Encoding the single-sequence stage makes of `tokens`: flat offsets, or the same offsets as pairs. */
function encodingOf(tokens: SequenceTokens, typeId: number, flat: boolean): Encoding {
  const encoding = sequenceEncoding(tokens, typeId);
  if (!flat) encoding.offsets = encoding.offsets.map(([s, e]) => [s, e]);
  return encoding;
}

function fields(e: Encoding) {
  return {
    ids: e.ids,
    typeIds: e.typeIds,
    tokens: e.tokens,
    words: e.words,
    offsets: e.offsets,
    specialTokensMask: e.specialTokensMask,
    attentionMask: e.attentionMask,
    sequenceIds: e.getSequenceIds(),
    sequenceRanges: [...e.sequenceRanges],
    overflowing: e.overflowing.length,
  };
}

const processors: [string, PostProcessor][] = [
  ['BertProcessing', new BertProcessing({ token: '[SEP]', id: 102 }, { token: '[CLS]', id: 101 })],
  [
    'TemplateProcessing (multi-token special, type ids 2/3)',
    new TemplateProcessing(
      [
        { kind: 'special', name: 'S', typeId: 2 },
        { kind: 'sequence', sequence: 0, typeId: 2 },
        { kind: 'special', name: 'E', typeId: 2 },
      ],
      [
        { kind: 'special', name: 'S', typeId: 2 },
        { kind: 'sequence', sequence: 0, typeId: 2 },
        { kind: 'special', name: 'E', typeId: 2 },
        { kind: 'sequence', sequence: 1, typeId: 3 },
        { kind: 'special', name: 'E', typeId: 3 },
      ],
      new Map([
        ['S', { ids: [1, 2], tokens: ['<a>', '<b>'] }],
        ['E', { ids: [3], tokens: ['</e>'] }],
      ]),
    ),
  ],
  [
    'RobertaProcessing without trimming',
    new RobertaProcessing({ token: '</s>', id: 2 }, { token: '<s>', id: 0 }, false, true),
  ],
  ['no post-processor', new NoPostProcessor()],
];

const pad: PadToken = { id: 0, token: '[PAD]', typeId: 5 };

for (const [name, processor] of processors) {
  test(`assembleRow equals process + pad: ${name}`, () => {
    for (const isPair of [false, true]) {
      for (const addSpecialTokens of [true, false]) {
        const layout = processor.layout?.(isPair, addSpecialTokens);
        assert.ok(layout, `${name} has a layout`);
        for (const side of ['right', 'left'] as Side[]) {
          for (const target of [0, 9, 14]) {
            for (const flat of [true, false]) {
              const where = `pair=${isPair} special=${addSpecialTokens} ${side} target=${target} flat=${flat}`;
              const a = text(4, 10);
              const b = isPair ? text(3, 20) : null;
              const expected = processor.process(
                encodingOf(text(4, 10), 0, flat),
                b && encodingOf(text(3, 20), 1, flat),
                addSpecialTokens,
              );
              assert.equal(layoutLength(layout, a, b), expected.length, `${where}: length`);
              padEncoding(expected, target, pad, side);
              const actual = assembleRow(layout, a, b, target, pad, side);
              assert.notEqual(actual.flatOffsets(), null, `${where}: offsets stay flat until read`);
              assert.deepEqual(fields(actual), fields(expected), where);
            }
          }
        }
      }
    }
  });
}

test('assembleRow: no padding without a pad token; rows longer than the target are left as they are', () => {
  const processor = processors[0]![1];
  const layout = processor.layout!(false, true)!;
  const row = assembleRow(layout, text(4, 10), null, 20, null, 'right');
  assert.equal(row.length, 6);
  const long = assembleRow(layout, text(4, 10), null, 3, pad, 'left');
  assert.deepEqual(long.ids, [101, 10, 11, 12, 13, 102]);
  assert.deepEqual(long.attentionMask, [1, 1, 1, 1, 1, 1]);
});

test('RobertaProcessing with trim_offsets has no layout (it rewrites offsets)', () => {
  const roberta = new RobertaProcessing({ token: '</s>', id: 2 }, { token: '<s>', id: 0 }, true, true);
  assert.equal(roberta.layout(false, true), null);
});

test('Encoding.withFlatOffsets: pairs made on first read, kept after; setting offsets replaces them', () => {
  const e = sequenceEncoding(text(3, 10), 0);
  assert.deepEqual(e.flatOffsets(), [0, 2, 3, 5, 6, 8]);
  const pairs = e.offsets;
  assert.deepEqual(pairs, [
    [0, 2],
    [3, 5],
    [6, 8],
  ]);
  assert.equal(e.flatOffsets(), null);
  pairs[1]![0] = 4; // the materialised pairs are the encoding's own, as with pairs given up front
  assert.deepEqual(e.offsets[1], [4, 5]);
  e.offsets = [
    [1, 1],
    [2, 2],
    [3, 3],
  ];
  assert.deepEqual(e.offsets[2], [3, 3]);
  const copy = sequenceEncoding(text(3, 10), 0).withoutOverflow();
  assert.deepEqual(copy.offsets, [
    [0, 2],
    [3, 5],
    [6, 8],
  ]);
  assert.deepEqual(sequenceEncoding(text(2, 10), 0).slice(1, 2).offsets, [[3, 5]]);
});

const bertDir = ['tokenizers', 'bert-base-uncased'] as const;

test(
  'no special tokens + truncation to 1 (fill-mask targets): allowed, cut like the Rust binding',
  { skip: skipUnlessShared(...bertDir) },
  async () => {
    const tokenizer = Tokenizer.fromPretrainedSync(sharedPath(...bertDir));
    const rust = RustTokenizer.fromFile(sharedPath(...bertDir, 'tokenizer.json'));
    for (const [text, maxLength] of [
      ['unbelievably good', 1],
      ['hello world', 1],
      ['hello world', 2],
      ['a', 1],
    ] as const) {
      rust.setTruncation(maxLength);
      const expected = await rust.encode(text, null, { addSpecialTokens: false });
      const actual = tokenizer.encode(text, null, {
        addSpecialTokens: false,
        truncation: true,
        maxLength,
        verbose: false,
      });
      assert.deepEqual(actual.ids, expected.getIds(), `${text} / ${maxLength}`);
      assert.deepEqual(actual.offsets, expected.getOffsets(), `${text} / ${maxLength}: offsets`);
      const batch = tokenizer.call([text, 'x y z w'], {
        addSpecialTokens: false,
        truncation: true,
        maxLength,
        padding: true,
      });
      assert.deepEqual(batch.input_ids[0], expected.getIds());
      assert.equal(batch.input_ids[1]!.length, maxLength);
    }
    // With special tokens the budget is still checked: transformers would underflow, seqbatch says why.
    assert.throws(
      () => tokenizer.encode('hello', null, { truncation: true, maxLength: 1 }),
      (error: unknown) => error instanceof InputError && error.argument === 'maxLength',
    );
    // The stride rule stays Rust's: max_length minus the special tokens even when they are not added (the Rust
    // binding aborts the process on this call, so its message is checked by hand).
    assert.throws(
      () =>
        tokenizer.encode('hello world foo', null, {
          addSpecialTokens: false,
          truncation: true,
          maxLength: 2,
          stride: 1,
        }),
      /tokenizer stride set to 1, which is greater than or equal to its effective max length of 0 \(= 2 original max length - 2 added special tokens\)/,
    );
  },
);
