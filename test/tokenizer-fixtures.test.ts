/**
 * The whole Tokenizer (loaded from the real folders in ../shared/tokenizers) against every case of the tokenizer
 * fixtures: cases.json (all fields, decoded text, error cases, and the all-MiniLM "as loaded" cases through the
 * explicit `tokenizerJsonBlocks: 'apply'` option) and overflow.json (windows with stride).
 */
import assert from 'node:assert/strict';
import test from 'node:test';
import type { EncodeOptions } from '../src/encoding/call-options.js';
import type { Encoding } from '../src/encoding/encoding.js';
import { TruncationError } from '../src/errors.js';
import { Tokenizer } from '../src/tokenizers/tokenizer.js';
import { codePointOffsetsToUtf16, readSharedJson, sharedPath, skipUnlessShared } from './helpers/shared.js';

interface FixtureRow {
  input_ids: number[];
  attention_mask: number[];
  token_type_ids: number[];
  special_tokens_mask: number[];
  tokens: string[];
  offsets: [number, number][];
  word_ids: (number | null)[];
  sequence_ids: (number | null)[];
}

interface FixtureCase {
  name: string;
  texts: string[];
  text_pairs?: string[];
  options: Record<string, unknown>;
  tokenizer_json_blocks?: string;
  expected?: FixtureRow[] | { windows: FixtureRow[]; overflow_to_sample_mapping: number[] };
  decoded?: string[];
  error?: string;
}

const TOKENIZERS = [
  'bert-base-uncased',
  'bert-base-cased',
  'roberta-base',
  't5-small-unigram',
  'all-MiniLM-L6-v2',
];

function toOptions(o: Record<string, unknown>): EncodeOptions {
  return {
    padding: o.padding as EncodeOptions['padding'],
    truncation: o.truncation as EncodeOptions['truncation'],
    maxLength: o.max_length as number | null,
    padToMultipleOf: o.pad_to_multiple_of as number | null,
    paddingSide: o.padding_side as 'left' | 'right',
    truncationSide: (o.truncation_side as 'left' | 'right' | undefined) ?? 'right',
    stride: o.stride as number,
    addSpecialTokens: o.add_special_tokens as boolean,
    returnOverflowingTokens: o.return_overflowing_tokens as boolean | undefined,
  };
}

function assertRow(
  actual: Encoding,
  expected: FixtureRow,
  text: string,
  pair: string | undefined,
  where: string,
) {
  assert.deepEqual(actual.ids, expected.input_ids, `${where}: input_ids`);
  assert.deepEqual(actual.tokens, expected.tokens, `${where}: tokens`);
  assert.deepEqual(actual.typeIds, expected.token_type_ids, `${where}: token_type_ids`);
  assert.deepEqual(actual.attentionMask, expected.attention_mask, `${where}: attention_mask`);
  assert.deepEqual(actual.specialTokensMask, expected.special_tokens_mask, `${where}: special_tokens_mask`);
  assert.deepEqual(actual.words, expected.word_ids, `${where}: word_ids`);
  assert.deepEqual(actual.getSequenceIds(), expected.sequence_ids, `${where}: sequence_ids`);
  const expectedOffsets = expected.offsets.map((o, i) => {
    const seq = expected.sequence_ids[i];
    return seq === null ? o : codePointOffsetsToUtf16(seq === 1 ? (pair as string) : text, [o])[0];
  });
  assert.deepEqual(actual.offsets, expectedOffsets, `${where}: offsets`);
}

function runCase(tokenizer: Tokenizer, c: FixtureCase): void {
  const options = c.tokenizer_json_blocks === 'as_loaded' ? { addSpecialTokens: true } : toOptions(c.options);
  const run = () => tokenizer.call(c.texts, c.text_pairs ?? null, options);
  if (c.error) {
    assert.throws(run, (e: unknown) => e instanceof TruncationError && e.message === c.error, c.name);
    return;
  }
  const batch = run();
  const expected = c.expected as NonNullable<FixtureCase['expected']>;
  const rows = Array.isArray(expected) ? expected : expected.windows;
  const mapping = Array.isArray(expected) ? rows.map((_, i) => i) : expected.overflow_to_sample_mapping;
  assert.equal(batch.length, rows.length, `${c.name}: rows`);
  if (!Array.isArray(expected))
    assert.deepEqual(batch.overflow_to_sample_mapping, mapping, `${c.name}: mapping`);
  rows.forEach((row, r) =>
    assertRow(batch.encodings[r], row, c.texts[mapping[r]], c.text_pairs?.[mapping[r]], `${c.name} row ${r}`),
  );
  if (c.decoded) {
    const decoded = tokenizer.batchDecode(batch.input_ids, {
      skipSpecialTokens: true,
      cleanUpTokenizationSpaces: false,
    });
    assert.deepEqual(decoded, c.decoded, `${c.name}: decoded`);
  }
}

for (const name of TOKENIZERS) {
  test(
    `${name}: every cases.json case`,
    { skip: skipUnlessShared('fixtures', 'tokenizers', name) },
    async () => {
      const { cases } = readSharedJson<{ cases: FixtureCase[] }>(
        'fixtures',
        'tokenizers',
        name,
        'cases.json',
      );
      const warnings: string[] = [];
      const tokenizer = await Tokenizer.fromPretrained(sharedPath('tokenizers', name), {
        onWarning: (m) => warnings.push(m),
      });
      for (const c of cases.filter((c) => c.tokenizer_json_blocks !== 'as_loaded')) runCase(tokenizer, c);
      const asLoaded = cases.filter((c) => c.tokenizer_json_blocks === 'as_loaded');
      if (asLoaded.length > 0) {
        const rustLike = await Tokenizer.fromPretrained(sharedPath('tokenizers', name), {
          tokenizerJsonBlocks: 'apply',
          onWarning: (m) => warnings.push(m),
        });
        for (const c of asLoaded) runCase(rustLike, c);
        // By default the blocks are ignored, like transformers: the long text is neither truncated nor padded.
        const plain = tokenizer.call(asLoaded.find((c) => c.name === 'as_loaded/long_text')!.texts);
        const unblocked = cases.find((c) => c.name === 'long/none')!.expected as FixtureRow[];
        assert.deepEqual(plain.input_ids, [unblocked[0].input_ids]);
      }
      assert.deepEqual(warnings, []);
    },
  );
}

for (const name of ['bert-base-uncased', 'roberta-base']) {
  test(
    `${name}: every overflow.json case`,
    { skip: skipUnlessShared('fixtures', 'tokenizers', name) },
    async () => {
      const { cases } = readSharedJson<{ cases: FixtureCase[] }>(
        'fixtures',
        'tokenizers',
        name,
        'overflow.json',
      );
      const tokenizer = await Tokenizer.fromPretrained(sharedPath('tokenizers', name));
      for (const c of cases) runCase(tokenizer, c);
    },
  );
}
