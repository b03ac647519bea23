/**
 * The multiple-sequences layer alone (truncation windows, post-processors, padding, the call options) against
 * every case of the tokenizer fixtures (cases.json and overflow.json). The single-sequence stage is taken from the
 * Rust core (npm `tokenizers` binding, no truncation, no special tokens, so none of its 0.23 truncation
 * regressions apply): whatever differs from the fixtures is ours.
 */
import { readFileSync } from 'node:fs';
import test from 'node:test';
import { Tokenizer as RustTokenizer } from 'tokenizers';
import { Encoding } from '../src/encoding/encoding.js';
import { encodeBatch, type EncodeContext, type TextInput } from '../src/encoding/encode-batch.js';
import { SeqbatchError } from '../src/errors.js';
import { postProcessorFromJSON } from '../src/tokenizers/post-processors/index.js';
import { codePointOffsetsToUtf16, sharedPath, skipUnlessShared } from './helpers/shared.js';
import {
  assertFixtureCase,
  fixtureCallOptions,
  FIXTURE_TOKENIZERS,
  readFixtureFile,
  type FixtureCase,
  type FixtureFile,
} from './helpers/tokenizer-fixture-cases.js';

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

function runCase(context: EncodeContext, c: FixtureCase): void {
  assertFixtureCase(
    c,
    () => encodeBatch(context, c.texts, c.text_pairs ?? null, fixtureCallOptions(c.options)),
    (error) => error instanceof SeqbatchError,
  );
}

for (const name of FIXTURE_TOKENIZERS) {
  test(
    `${name}: cases.json through the batching layer`,
    { skip: skipUnlessShared('fixtures', 'tokenizers', name) },
    async () => {
      const file = readFixtureFile(name, 'cases.json');
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
      const file = readFixtureFile(name, 'overflow.json');
      const cases = file.cases;
      const rust = await rustSequenceEncoder(
        name,
        cases.flatMap((c) => [...c.texts, ...(c.text_pairs ?? [])]),
      );
      const pad = readFixtureFile(name, 'cases.json').pad;
      const context = contextFor(name, { pad, cases }, rust);
      for (const c of cases) runCase(context, c);
    },
  );
}

export type { TextInput };
