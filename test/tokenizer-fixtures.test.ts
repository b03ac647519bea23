/**
 * The whole Tokenizer (loaded from the real folders in ../shared/tokenizers) against every case of the tokenizer
 * fixtures: cases.json (all fields, decoded text, error cases, and the all-MiniLM "as loaded" cases through the
 * explicit `tokenizerJsonBlocks: 'apply'` option) and overflow.json (windows with stride).
 */
import assert from 'node:assert/strict';
import test from 'node:test';
import { TruncationError } from '../src/errors.js';
import { Tokenizer } from '../src/tokenizers/tokenizer.js';
import { sharedPath, skipUnlessShared } from './helpers/shared.js';
import {
  assertFixtureCase,
  fixtureCallOptions,
  FIXTURE_TOKENIZERS,
  readFixtureFile,
  type FixtureCase,
  type FixtureRow,
} from './helpers/tokenizer-fixture-cases.js';

function runCase(tokenizer: Tokenizer, c: FixtureCase): void {
  const options =
    c.tokenizer_json_blocks === 'as_loaded' ? { addSpecialTokens: true } : fixtureCallOptions(c.options);
  const batch = assertFixtureCase(
    c,
    () => tokenizer.call(c.texts, c.text_pairs ?? null, options),
    (e) => e instanceof TruncationError,
  );
  if (batch && c.decoded) {
    const decoded = tokenizer.batchDecode(batch.input_ids, {
      skipSpecialTokens: true,
      cleanUpTokenizationSpaces: false,
    });
    assert.deepEqual(decoded, c.decoded, `${c.name}: decoded`);
  }
}

for (const name of FIXTURE_TOKENIZERS) {
  test(
    `${name}: every cases.json case`,
    { skip: skipUnlessShared('fixtures', 'tokenizers', name) },
    async () => {
      const { cases } = readFixtureFile(name, 'cases.json');
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
      const { cases } = readFixtureFile(name, 'overflow.json');
      const tokenizer = await Tokenizer.fromPretrained(sharedPath('tokenizers', name));
      for (const c of cases) runCase(tokenizer, c);
    },
  );
}
