/**
 * The tokenizer fixtures (../shared/fixtures/tokenizers/<name>/cases.json and overflow.json, recorded from Python
 * transformers): their types, their option names mapped to ours, and the row-by-row comparison every test that
 * replays them makes. Offsets in the fixtures count code points of the row's own text (or pair text).
 */
import assert from 'node:assert/strict';
import type { BatchEncoding } from '../../src/encoding/batch-encoding.js';
import type { EncodeOptions } from '../../src/encoding/call-options.js';
import type { Encoding } from '../../src/encoding/encoding.js';
import { codePointOffsetsToUtf16, readSharedJson } from './shared.js';

/** The tokenizers the fixtures cover, each a folder of ../shared/tokenizers. */
export const FIXTURE_TOKENIZERS = [
  'bert-base-uncased',
  'bert-base-cased',
  'roberta-base',
  't5-small-unigram',
  'all-MiniLM-L6-v2',
];

export interface FixtureRow {
  input_ids: number[];
  attention_mask: number[];
  token_type_ids: number[];
  special_tokens_mask: number[];
  tokens: string[];
  offsets: [number, number][];
  word_ids: (number | null)[];
  sequence_ids: (number | null)[];
}

export interface FixtureCase {
  name: string;
  texts: string[];
  text_pairs?: string[];
  options: Record<string, unknown>;
  tokenizer_json_blocks?: string;
  /** One row per text, or overflow windows with the sample each came from. */
  expected?: FixtureRow[] | { windows: FixtureRow[]; overflow_to_sample_mapping: number[] };
  decoded?: string[];
  /** The message of the error Python raised instead. */
  error?: string;
}

export interface FixtureFile {
  pad: { padId: number; padToken: string };
  cases: FixtureCase[];
}

/** ../shared/fixtures/tokenizers/<name>/<file>: `cases.json` (every tokenizer) or `overflow.json` (some). */
export function readFixtureFile(name: string, file: 'cases.json' | 'overflow.json'): FixtureFile {
  return readSharedJson<FixtureFile>('fixtures', 'tokenizers', name, file);
}

/** HF `__call__` option names → ours. */
export function fixtureCallOptions(o: Record<string, unknown>): EncodeOptions {
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

/** Every field of one row against the fixture, offsets converted token by token to UTF-16 of its own text. */
export function assertFixtureRow(
  actual: Encoding,
  expected: FixtureRow,
  text: string,
  pair: string | undefined,
  where: string,
): void {
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

/**
 * Replays one case: `run` must throw the fixture's error when it has one (`isExpectedError` says which errors
 * count), else give its rows (or overflow windows and their sample mapping). Returns the batch, or null for an
 * error case.
 */
export function assertFixtureCase(
  c: FixtureCase,
  run: () => BatchEncoding,
  isExpectedError: (error: unknown) => boolean,
): BatchEncoding | null {
  if (c.error) {
    assert.throws(run, (e: unknown) => isExpectedError(e) && (e as Error).message === c.error, c.name);
    return null;
  }
  const batch = run();
  const expected = c.expected as NonNullable<FixtureCase['expected']>;
  const rows = Array.isArray(expected) ? expected : expected.windows;
  const mapping = Array.isArray(expected) ? rows.map((_, i) => i) : expected.overflow_to_sample_mapping;
  assert.equal(batch.length, rows.length, `${c.name}: number of rows`);
  if (!Array.isArray(expected))
    assert.deepEqual(batch.overflow_to_sample_mapping, mapping, `${c.name}: mapping`);
  rows.forEach((row, r) => {
    const sample = mapping[r];
    assertFixtureRow(batch.encodings[r], row, c.texts[sample], c.text_pairs?.[sample], `${c.name} row ${r}`);
  });
  return batch;
}
