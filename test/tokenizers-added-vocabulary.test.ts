/**
 * Added tokens against the Rust core (npm `tokenizers` binding): raw (normalized: false) and normalized matches,
 * leftmost-longest choice, lstrip / rstrip / single_word, ids past the model vocabulary, token ↔ id lookup.
 */
import assert from 'node:assert/strict';
import test from 'node:test';
import tk from 'tokenizers';
import { ConfigError } from '../src/errors.js';
import { AddedVocabulary } from '../src/tokenizers/added-vocabulary.js';
import { modelFromJSON } from '../src/tokenizers/models/index.js';
import { TokenizerPipeline } from '../src/tokenizers/pipeline.js';
import { codePointOffsetsToUtf16 } from './helpers/shared.js';
import { tokenizerJson } from './helpers/tokenizer-json.js';

const VOCAB: Record<string, number> = {
  '[UNK]': 0,
  hello: 1,
  world: 2,
  '!': 3,
  '<': 4,
  '>': 5,
  a: 6,
  b: 7,
};

function added(id: number, content: string, flags: Partial<Record<string, boolean>> = {}): object {
  return {
    id,
    content,
    single_word: false,
    lstrip: false,
    rstrip: false,
    normalized: false,
    special: false,
    ...flags,
  };
}

/**
 * Added tokens covering every rule, with the ids Rust assigns: past the 8-entry model vocabulary, except "hello",
 * which the model vocabulary already holds.
 */
const ADDED = [
  added(8, '[CLS]', { special: true }),
  added(9, '<mask>', { lstrip: true, special: true }),
  added(10, '<eos>', { rstrip: true, special: true }),
  added(1, 'hello', { single_word: true, normalized: true }),
  added(11, 'New York', { normalized: true }),
  added(12, 'New'),
  added(13, '<both>', { lstrip: true, rstrip: true }),
  added(14, 'ǅ', { normalized: true }),
  added(15, '😀x'),
];

function addedTokensJson(normalizer: object | null): Record<string, unknown> {
  return tokenizerJson({
    added_tokens: ADDED,
    normalizer,
    pre_tokenizer: { type: 'Whitespace' },
    model: { type: 'WordLevel', vocab: VOCAB, unk_token: '[UNK]' },
  });
}

const TEXTS = [
  'hello world!',
  'Hello World!',
  '[CLS]hello[CLS]',
  'a   <mask> b <mask><mask>',
  'x<eos>   y <eos>',
  'ahello hello_ hello! (hello) héllo',
  'New York New Yorker NEW YORK new york',
  'a <both>   b<both>c',
  'ǅ Ǆ ǆ dž',
  '😀x 😀😀x',
  '   <mask>',
  '',
];

test('added tokens split the text exactly like Rust, with and without a normalizer', async () => {
  for (const normalizer of [null, { type: 'Lowercase' }, { type: 'NFKC' }]) {
    const json = addedTokensJson(normalizer);
    const reference = tk.Tokenizer.fromString(JSON.stringify(json));
    const pipeline = TokenizerPipeline.fromTokenizerJSON(json);
    for (const text of TEXTS) {
      const expected = await reference.encode(text, null, { addSpecialTokens: false });
      const got = pipeline.encodeSequence(text);
      const where = `${JSON.stringify(normalizer)} on ${JSON.stringify(text)}`;
      assert.deepEqual(got.ids, expected.getIds(), `${where}: ids`);
      assert.deepEqual(got.tokens, expected.getTokens(), `${where}: tokens`);
      assert.deepEqual(got.words, expected.getWordIds(), `${where}: words`);
      assert.deepEqual(
        got.offsets,
        codePointOffsetsToUtf16(text, expected.getOffsets() as [number, number][]),
        `${where}: offsets`,
      );
    }
  }
});

test('hand-checked rules: lstrip keeps the spaces in the token, single_word needs word boundaries', () => {
  const pipeline = TokenizerPipeline.fromTokenizerJSON(addedTokensJson({ type: 'Lowercase' }));
  const masked = pipeline.encodeSequence('a  <mask>');
  assert.deepEqual(masked.tokens, ['a', '  <mask>']);
  assert.deepEqual(masked.ids, [6, 9]);
  assert.deepEqual(masked.offsets, [
    [0, 1],
    [1, 9],
  ]);
  // "hello" inside "ahello" is not a single word: the model sees "ahello" (unknown).
  assert.deepEqual(pipeline.encodeSequence('ahello hello').ids, [0, 1]);
  // Leftmost-longest: "New York" (normalized) is not seen in the raw pass where "New" matches first.
  assert.deepEqual(pipeline.encodeSequence('New York').ids, [12, 0]);
});

test('token ↔ id lookup covers the model vocabulary and added ids past it', () => {
  const json = addedTokensJson(null);
  const vocabulary = AddedVocabulary.fromJSON(json.added_tokens, null);
  const model = modelFromJSON(json.model);
  assert.equal(vocabulary.tokenToId('<mask>', model), 9);
  assert.equal(vocabulary.tokenToId('world', model), 2);
  assert.equal(vocabulary.tokenToId('nope', model), undefined);
  assert.equal(vocabulary.idToToken(15, model), '😀x');
  assert.equal(vocabulary.idToToken(3, model), '!');
  assert.equal(vocabulary.idToToken(999, model), undefined);
  assert.equal(vocabulary.getVocab(model).size, Object.keys(VOCAB).length + ADDED.length - 1); // "hello" twice
  assert.deepEqual(
    [...vocabulary.specialIds()].sort((x, y) => x - y),
    [8, 9, 10],
  );
  assert.equal(vocabulary.isSpecial('[CLS]'), true);
  assert.equal(vocabulary.isSpecial('New'), false);
});

test('ids recorded in the file are reassigned like Rust when the model is known', async () => {
  const json = {
    ...addedTokensJson(null),
    added_tokens: [added(500, 'zz'), added(7, 'world'), added(3, 'yy')],
  };
  const model = modelFromJSON(addedTokensJson(null).model);
  const assigned = AddedVocabulary.fromJSON(json.added_tokens, null, 'added_tokens', model);
  assert.deepEqual(
    assigned.tokens.map((t) => [t.content, t.id]),
    [
      ['zz', 8],
      ['world', 2],
      ['yy', 9],
    ],
  );
  const reference = tk.Tokenizer.fromString(JSON.stringify(json));
  const expected = await reference.encode('zz world yy', null, { addSpecialTokens: false });
  assert.deepEqual(
    TokenizerPipeline.fromTokenizerJSON(json).encodeSequence('zz world yy').ids,
    expected.getIds(),
  );
  // Without a model the recorded ids stand.
  assert.deepEqual(
    AddedVocabulary.fromJSON(json.added_tokens).tokens.map((t) => t.id),
    [500, 7, 3],
  );
});

test('encodeSpecialTokens leaves special tokens to the model', () => {
  const pipeline = TokenizerPipeline.fromTokenizerJSON(addedTokensJson(null));
  pipeline.addedVocabulary.encodeSpecialTokens = true;
  assert.deepEqual(pipeline.encodeSequence('[CLS] New').tokens, ['[UNK]', '[UNK]', '[UNK]', 'New']);
});

test('added_tokens JSON errors name the field', () => {
  assert.throws(
    () => AddedVocabulary.fromJSON({}, null),
    (e: unknown) => e instanceof ConfigError && e.field === 'added_tokens',
  );
  assert.throws(
    () => AddedVocabulary.fromJSON([added(1, 'x'), { id: 2 }], null),
    (e: unknown) => e instanceof ConfigError && e.field === 'added_tokens[1].content',
  );
  assert.throws(
    () => AddedVocabulary.fromJSON([{ id: 1.5, content: 'x' }], null),
    (e: unknown) => e instanceof ConfigError && e.field === 'added_tokens[0].id',
  );
  assert.throws(
    () => AddedVocabulary.fromJSON([{ id: 1, content: 'x', lstrip: 'yes' }], null),
    (e: unknown) => e instanceof ConfigError && e.field === 'added_tokens[0].lstrip',
  );
});
