/**
 * The multiple-sequences layer alone (truncation windows, post-processors, padding, the call options) against
 * every case of the tokenizer fixtures (cases.json and overflow.json). The single-sequence stage is taken from the
 * Rust core (npm `tokenizers` binding, no truncation, no special tokens, so none of its 0.23 truncation
 * regressions apply): whatever differs from the fixtures is ours.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import test from 'node:test';
import { Tokenizer as RustTokenizer } from 'tokenizers';
import { Encoding } from '../src/encoding/encoding.js';
import { encodeBatch, type EncodeContext, type TextInput } from '../src/encoding/encode-batch.js';
import type { EncodeOptions } from '../src/encoding/call-options.js';
import { SeqbatchError } from '../src/errors.js';
import { postProcessorFromJSON } from '../src/tokenizers/post-processors/index.js';
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
  error?: string;
}

interface FixtureFile {
  pad: { padId: number; padToken: string };
  cases: FixtureCase[];
}

const TOKENIZERS = [
  'bert-base-uncased',
  'bert-base-cased',
  'roberta-base',
  't5-small-unigram',
  'all-MiniLM-L6-v2',
];

/** HF `__call__` option names → ours. */
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

/** The Rust core's single-sequence encodings of every text, converted to our Encoding with UTF-16 offsets. */
async function rustSequenceEncoder(name: string, texts: string[]) {
  const json = JSON.parse(readFileSync(sharedPath('tokenizers', name, 'tokenizer.json'), 'utf8'));
  const rust = RustTokenizer.fromString(
    JSON.stringify({ ...json, truncation: null, padding: null, post_processor: null }),
  );
  const cache = new Map<string, Encoding>();
  for (const text of new Set(texts)) {
    const e = await rust.encode(text, null, { addSpecialTokens: false });
    cache.set(
      text,
      new Encoding(
        e.getIds(),
        e.getTypeIds(),
        e.getTokens(),
        e.getWordIds().map((w) => w ?? null),
        codePointOffsetsToUtf16(text, e.getOffsets() as [number, number][]),
        e.getSpecialTokensMask(),
        e.getAttentionMask(),
      ),
    );
  }
  return {
    postProcessorJson: json.post_processor,
    encoder: {
      encodeText(text: string, typeId: number): Encoding {
        const encoding = (cache.get(text) as Encoding).clone();
        encoding.setTypeIds(typeId);
        return encoding;
      },
      encodeWords(_words: readonly string[]): Encoding {
        throw new Error('not used');
      },
    },
  };
}

function contextFor(
  name: string,
  file: FixtureFile,
  rust: Awaited<ReturnType<typeof rustSequenceEncoder>>,
): EncodeContext {
  return {
    encoder: rust.encoder,
    postProcessor: postProcessorFromJSON(rust.postProcessorJson),
    pad: { id: file.pad.padId, token: file.pad.padToken, typeId: 0 },
    defaults: { modelMaxLength: 512, paddingSide: 'right', truncationSide: 'right' },
    modelInputNames: ['input_ids', 'attention_mask'],
    warn: () => {},
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
  assert.deepEqual(actual.typeIds, expected.token_type_ids, `${where}: token_type_ids`);
  assert.deepEqual(actual.attentionMask, expected.attention_mask, `${where}: attention_mask`);
  assert.deepEqual(actual.specialTokensMask, expected.special_tokens_mask, `${where}: special_tokens_mask`);
  assert.deepEqual(actual.tokens, expected.tokens, `${where}: tokens`);
  assert.deepEqual(actual.words, expected.word_ids, `${where}: word_ids`);
  const sequenceIds = actual.getSequenceIds();
  assert.deepEqual(sequenceIds, expected.sequence_ids, `${where}: sequence_ids`);
  // Fixture offsets count code points of the row's own text: convert token by token.
  const expectedOffsets = expected.offsets.map((o, i) => {
    const seq = expected.sequence_ids[i];
    if (seq === null) return o;
    return codePointOffsetsToUtf16(seq === 1 ? (pair as string) : text, [o])[0];
  });
  assert.deepEqual(actual.offsets, expectedOffsets, `${where}: offsets`);
}

function runCase(context: EncodeContext, c: FixtureCase): void {
  const run = () => encodeBatch(context, c.texts, c.text_pairs ?? null, toOptions(c.options));
  if (c.error) {
    assert.throws(
      run,
      (error: unknown) => error instanceof SeqbatchError && error.message === c.error,
      c.name,
    );
    return;
  }
  const batch = run();
  const expected = c.expected as
    FixtureRow[] | { windows: FixtureRow[]; overflow_to_sample_mapping: number[] };
  const rows = Array.isArray(expected) ? expected : expected.windows;
  const mapping = Array.isArray(expected) ? rows.map((_, i) => i) : expected.overflow_to_sample_mapping;
  assert.equal(batch.length, rows.length, `${c.name}: number of rows`);
  if (!Array.isArray(expected))
    assert.deepEqual(batch.overflow_to_sample_mapping, mapping, `${c.name}: mapping`);
  rows.forEach((row, r) => {
    const sample = mapping[r];
    assertRow(batch.encodings[r], row, c.texts[sample], c.text_pairs?.[sample], `${c.name} row ${r}`);
  });
}

for (const name of TOKENIZERS) {
  test(
    `${name}: cases.json through the batching layer`,
    { skip: skipUnlessShared('fixtures', 'tokenizers', name) },
    async () => {
      const file = readSharedJson<FixtureFile>('fixtures', 'tokenizers', name, 'cases.json');
      // as_loaded cases keep the tokenizer.json blocks: they are covered by the Tokenizer tests.
      const cases = file.cases.filter((c) => c.tokenizer_json_blocks !== 'as_loaded');
      const rust = await rustSequenceEncoder(
        name,
        cases.flatMap((c) => [...c.texts, ...(c.text_pairs ?? [])]),
      );
      const context = contextFor(name, file, rust);
      for (const c of cases) runCase(context, c);
    },
  );
}

for (const name of ['bert-base-uncased', 'roberta-base']) {
  test(
    `${name}: overflow.json windows through the batching layer`,
    { skip: skipUnlessShared('fixtures', 'tokenizers', name) },
    async () => {
      const file = readSharedJson<FixtureFile>('fixtures', 'tokenizers', name, 'overflow.json');
      const cases = file.cases;
      const rust = await rustSequenceEncoder(
        name,
        cases.flatMap((c) => [...c.texts, ...(c.text_pairs ?? [])]),
      );
      const pad = readSharedJson<FixtureFile>('fixtures', 'tokenizers', name, 'cases.json').pad;
      const context = contextFor(name, { pad, cases }, rust);
      for (const c of cases) runCase(context, c);
    },
  );
}

export type { TextInput };
