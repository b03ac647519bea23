/**
 * Tokenizer models against the Rust `tokenizers` core (npm binding 0.23.2) as oracle. The binding is given the
 * same tokenizer.json with normalizer, pre-tokenizer, post-processor and added tokens removed, so its output for
 * a single word is the model's alone; ids, token strings and offsets must match exactly.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import test from 'node:test';
import { Tokenizer } from 'tokenizers';
import { ConfigError } from '../src/errors.js';
import { BYTES_TO_UNICODE } from '../src/tokenizers/byte-level.js';
import type { Model } from '../src/tokenizers/model.js';
import { BPE, modelFromJSON, Unigram, WordLevel, WordPiece } from '../src/tokenizers/models/index.js';
import { codePointOffsetsToUtf16, readSharedJson, sharedPath, skipUnlessShared } from './helpers/shared.js';
import { tokenizerJson } from './helpers/tokenizer-json.js';

type Json = Record<string, unknown>;

/** A binding tokenizer running only `model`. */
function modelOnlyOracle(model: Json): Tokenizer {
  return Tokenizer.fromString(JSON.stringify(tokenizerJson({ model })));
}

interface Row {
  ids: number[];
  tokens: string[];
  offsets: [number, number][];
}

function ours(model: Model, word: string): Row {
  const tokens = model.tokenize(word);
  return {
    ids: tokens.map((t) => t.id),
    tokens: tokens.map((t) => t.value),
    offsets: tokens.map((t) => t.offsets),
  };
}

/** Compares our model with the oracle on every word; reports the first few mismatches in full. */
async function assertSameAsOracle(model: Model, oracle: Tokenizer, words: string[]): Promise<void> {
  const mismatches: string[] = [];
  const batchSize = 2000;
  for (let from = 0; from < words.length; from += batchSize) {
    const batch = words.slice(from, from + batchSize);
    const encodings = await oracle.encodeBatch(batch);
    batch.forEach((word, i) => {
      const encoding = encodings[i]!;
      const expected: Row = {
        ids: encoding.getIds(),
        tokens: encoding.getTokens(),
        offsets: codePointOffsetsToUtf16(word, encoding.getOffsets() as [number, number][]),
      };
      const actual = ours(model, word);
      try {
        assert.deepEqual(actual, expected);
      } catch {
        if (mismatches.length < 5)
          mismatches.push(`${JSON.stringify(word)}: ${JSON.stringify({ actual, expected })}`);
        else mismatches.push('');
      }
    });
  }
  assert.equal(
    mismatches.length,
    0,
    `${mismatches.length} of ${words.length} words differ:\n${mismatches.join('\n')}`,
  );
}

function sst2Words(limit = Infinity): string[] {
  const lines = readFileSync(sharedPath('datasets', 'sst2', 'train.tsv'), 'utf8')
    .split('\n')
    .slice(1);
  const words = new Set<string>();
  for (const line of lines) {
    for (const word of line.split('\t')[0]!.split(' ')) if (word) words.add(word);
    if (words.size >= limit) break;
  }
  return [...words];
}

/** Every whitespace-separated word of the texts in the fixtures' cases (UDHR lines, emoji, edge cases). */
function caseWords(): string[] {
  const words = new Set<string>();
  for (const name of ['bert-base-uncased', 'roberta-base', 't5-small-unigram']) {
    const { cases } = readSharedJson<{ cases: { texts: string[]; text_pairs?: string[] }[] }>(
      'fixtures',
      'tokenizers',
      name,
      'cases.json',
    );
    for (const c of cases) {
      for (const text of [...c.texts, ...(c.text_pairs ?? [])]) {
        for (const word of text.split(/\s+/u)) if (word) words.add(word);
      }
    }
  }
  return [...words];
}

function tokenizerModel(name: string): Json {
  return readSharedJson<{ model: Json }>('tokenizers', name, 'tokenizer.json').model;
}

/** The ByteLevel pre-tokenizer's view of a word: its UTF-8 bytes as GPT-2 table characters. */
function byteLevelForm(word: string): string {
  let mapped = '';
  for (const byte of new TextEncoder().encode(word)) mapped += BYTES_TO_UNICODE[byte];
  return mapped;
}

const sharedTokenizers = skipUnlessShared('tokenizers');
const sharedData = skipUnlessShared('datasets', 'sst2') || skipUnlessShared('fixtures', 'tokenizers');

test(
  'WordPiece (bert-base-uncased, no "type" key) matches Rust on SST-2 and multilingual words',
  { skip: sharedTokenizers || sharedData },
  async () => {
    const json = tokenizerModel('bert-base-uncased');
    assert.equal(json.type, undefined);
    const model = modelFromJSON(json);
    assert.ok(model instanceof WordPiece);
    const longWord = 'a'.repeat(101);
    const words = [
      ...sst2Words(),
      ...caseWords(),
      longWord,
      'a'.repeat(100),
      '😀'.repeat(60),
      'x😀'.repeat(51),
      '',
    ];
    words.push(...words.slice(0, 3000).map((w) => w.toUpperCase()));
    await assertSameAsOracle(model, modelOnlyOracle(json), words);
    assert.deepEqual(ours(model, longWord), { ids: [100], tokens: ['[UNK]'], offsets: [[0, 101]] });
  },
);

test(
  'WordPiece (bert-base-cased) matches Rust on cased words',
  { skip: sharedTokenizers || sharedData },
  async () => {
    const json = tokenizerModel('bert-base-cased');
    await assertSameAsOracle(modelFromJSON(json), modelOnlyOracle(json), [
      ...sst2Words(8000),
      ...caseWords(),
    ]);
  },
);

test('WordPiece.fromVocabText reads vocab.txt with line numbers as ids', { skip: sharedTokenizers }, () => {
  const fromText = WordPiece.fromVocabText(
    readFileSync(sharedPath('tokenizers', 'bert-base-uncased', 'vocab.txt'), 'utf8'),
  );
  const fromJson = modelFromJSON(tokenizerModel('bert-base-uncased'));
  assert.deepEqual(fromText.getVocab(), fromJson.getVocab());
  assert.equal(fromText.getVocabSize(), 30522);
  assert.equal(fromText.idToToken(101), '[CLS]');
  assert.deepEqual(ours(fromText, 'unaffable'), ours(fromJson, 'unaffable'));
  const crlf = WordPiece.fromVocabText('[UNK]\r\nhello\r\n##s  \n');
  assert.deepEqual(
    [...crlf.getVocab()],
    [
      ['[UNK]', 0],
      ['hello', 1],
      ['##s', 2],
    ],
  );
  assert.deepEqual(ours(crlf, 'hellos'), {
    ids: [1, 2],
    tokens: ['hello', '##s'],
    offsets: [
      [0, 5],
      [5, 6],
    ],
  });
});

test('WordPiece: custom prefix, surrogate pairs and an unmatchable piece', async () => {
  const json = {
    type: 'WordPiece',
    unk_token: '<unk>',
    continuing_subword_prefix: '@@',
    max_input_chars_per_word: 5,
    vocab: { '<unk>': 0, a: 1, '@@b': 2, '😀': 3, '@@😀': 4, ab: 5, '@@a': 6, '@@ab': 7 },
  };
  const model = modelFromJSON(json);
  const words = [
    'ab',
    'aab',
    'abab',
    'a😀😀',
    '😀ab',
    'ac',
    'c',
    'ababa',
    'ababab',
    '😀😀😀😀😀',
    '😀😀😀😀😀😀',
    '@@b',
  ];
  await assertSameAsOracle(model, modelOnlyOracle(json), words);
  assert.deepEqual(ours(model, 'a😀😀'), {
    ids: [1, 4, 4],
    tokens: ['a', '@@😀', '@@😀'],
    offsets: [
      [0, 1],
      [1, 3],
      [3, 5],
    ],
  });
});

test('WordPiece errors name the field', () => {
  assert.throws(
    () => modelFromJSON({ type: 'WordPiece', unk_token: '[UNK]', vocab: { a: 0 } }),
    (error: unknown) =>
      error instanceof ConfigError && error.field === 'model.unk_token' && /"\[UNK\]"/.test(error.message),
  );
  assert.throws(
    () => modelFromJSON({ type: 'WordPiece', vocab: { '[UNK]': 'zero' } }),
    (error: unknown) => error instanceof ConfigError && error.field === 'model.vocab',
  );
  assert.throws(
    () => modelFromJSON({ type: 'WordPiece', vocab: { '[UNK]': 0 }, max_input_chars_per_word: -1 }),
    (error: unknown) => error instanceof ConfigError && error.field === 'model.max_input_chars_per_word',
  );
  assert.throws(
    () => WordPiece.fromVocabText('hello\nworld\n'),
    (error: unknown) =>
      error instanceof ConfigError && error.file === 'vocab.txt' && error.field === 'unk_token',
  );
  assert.throws(
    () => modelFromJSON({ type: 'WordPiece', vocab: [] }, 'tokenizer.model'),
    (error: unknown) => error instanceof ConfigError && error.field === 'tokenizer.model.vocab',
  );
});

test(
  'BPE (roberta-base, no "type" key) matches Rust on byte-level words',
  { skip: sharedTokenizers || sharedData },
  async () => {
    const json = tokenizerModel('roberta-base');
    assert.equal(json.type, undefined);
    const model = modelFromJSON(json);
    assert.ok(model instanceof BPE);
    const raw = [...sst2Words(), ...caseWords()];
    const words = [...raw.map((w) => byteLevelForm(` ${w}`)), ...raw.slice(0, 3000).map(byteLevelForm)];
    words.push(byteLevelForm('a'.repeat(300)), byteLevelForm(' https://example.com/path?x=1&y=2'), '');
    await assertSameAsOracle(model, modelOnlyOracle(json), words);
    // Cached words give the same (fresh) tokens again.
    const again = model.tokenize(words[0]!);
    again[0]!.offsets[0] = 99;
    assert.deepEqual(model.tokenize(words[0]!), modelFromJSON(json).tokenize(words[0]!));
  },
);

test(
  'BPE.fromVocabAndMerges reads vocab.json + merges.txt (with #version) like tokenizer.json',
  { skip: sharedTokenizers },
  () => {
    const dir = sharedPath('tokenizers', 'roberta-base');
    const mergesText = readFileSync(`${dir}/merges.txt`, 'utf8');
    assert.ok(mergesText.startsWith('#version'));
    const legacy = BPE.fromVocabAndMerges(readFileSync(`${dir}/vocab.json`, 'utf8'), mergesText);
    const fromJson = modelFromJSON(tokenizerModel('roberta-base'));
    assert.equal(legacy.getVocabSize(), fromJson.getVocabSize());
    for (const word of [
      'Ġhello',
      'Ġtokenization',
      'ĠSeqbatch',
      'Ġ'.repeat(7),
      byteLevelForm(' naïve café'),
    ]) {
      assert.deepEqual(ours(legacy, word), ours(fromJson, word));
    }
  },
);

/** A small BPE vocabulary exercising unk, fusing, byte fallback, prefixes and suffixes. */
function syntheticBPE(overrides: Json): Json {
  const vocab: Record<string, number> = {
    '<unk>': 0,
    a: 1,
    b: 2,
    c: 3,
    ab: 4,
    bc: 5,
    abc: 6,
    'c</w>': 7,
    'ab##': 8,
  };
  vocab['##b'] = 9;
  vocab['##c'] = 10;
  vocab['a##b'] = 11;
  vocab['<0xC3>'] = 12;
  vocab['<0xA9>'] = 13;
  vocab['<0xF0>'] = 14;
  vocab['<0x9F>'] = 15;
  vocab['<0x98>'] = 16;
  vocab['<0x80>'] = 17;
  vocab['<0xC3><0xA9>'] = 18;
  vocab['bc</w>'] = 19;
  vocab['abc</w>'] = 20;
  vocab['##c</w>'] = 21;
  vocab['##bc</w>'] = 22;
  vocab['a##bc</w>'] = 23;
  vocab['abab'] = 24;
  vocab['<0x23>'] = 25;
  for (const byte of ['<0x3C>', '<0x2F>', '<0x77>', '<0x3E>']) vocab[byte] = Object.keys(vocab).length;
  return {
    type: 'BPE',
    dropout: null,
    unk_token: '<unk>',
    continuing_subword_prefix: null,
    end_of_word_suffix: null,
    fuse_unk: false,
    byte_fallback: false,
    ignore_merges: false,
    vocab,
    merges: ['a b', 'b c', 'ab c', 'ab ab', '<0xC3> <0xA9>'],
    ...overrides,
  };
}

test('BPE options (unk, fuse_unk, byte_fallback, suffix, prefix, ignore_merges) match Rust', async () => {
  const words = [
    'abc',
    'abcabc',
    'ababab',
    'cba',
    'axxb',
    'xx',
    'aéb',
    'é',
    'a😀b',
    'xéx',
    'éxx😀',
    'x',
    'abab',
    'bcbc',
    'a',
  ];
  const configs: Json[] = [
    syntheticBPE({}),
    syntheticBPE({ fuse_unk: true }),
    syntheticBPE({ byte_fallback: true }),
    syntheticBPE({ byte_fallback: true, fuse_unk: true }),
    syntheticBPE({ unk_token: null }),
    syntheticBPE({ ignore_merges: true }),
    syntheticBPE({ end_of_word_suffix: '</w>', merges: ['a b', 'b c</w>', 'ab c</w>', 'a bc</w>'] }),
    syntheticBPE({
      continuing_subword_prefix: '##',
      merges: ['a ##b', '##b ##c</w>'],
      end_of_word_suffix: '</w>',
    }),
    syntheticBPE({
      continuing_subword_prefix: '##',
      merges: [
        ['a', '##b'],
        ['a##b', '##c</w>'],
      ],
      end_of_word_suffix: '</w>',
    }),
    syntheticBPE({ dropout: 0 }),
    // Rust spells the prefix and suffix as byte tokens too, and counts each as one byte of the word.
    syntheticBPE({ continuing_subword_prefix: '##', byte_fallback: true, merges: ['a ##b'] }),
    syntheticBPE({ end_of_word_suffix: '</w>', byte_fallback: true, fuse_unk: true, merges: ['a b'] }),
  ];
  for (const json of configs) {
    await assertSameAsOracle(modelFromJSON(json), modelOnlyOracle(json), words);
  }
  const fused = modelFromJSON(syntheticBPE({ fuse_unk: true }));
  assert.deepEqual(ours(fused, 'axxb'), {
    ids: [1, 0, 2],
    tokens: ['a', '<unk>', 'b'],
    offsets: [
      [0, 1],
      [1, 3],
      [3, 4],
    ],
  });
  const bytes = modelFromJSON(syntheticBPE({ byte_fallback: true }));
  assert.deepEqual(ours(bytes, 'aé'), {
    ids: [1, 18],
    tokens: ['a', '<0xC3><0xA9>'],
    offsets: [
      [0, 1],
      [1, 2],
    ],
  });
});

test('BPE errors: bad merges entry, merge token missing, unk missing, dropout out of range', () => {
  const isConfigError = (fieldName: string, pattern?: RegExp) => (error: unknown) =>
    error instanceof ConfigError &&
    error.field === fieldName &&
    (pattern === undefined || pattern.test(error.message));
  assert.throws(
    () => modelFromJSON(syntheticBPE({ merges: ['a b', 'a b c'] })),
    isConfigError('model.merges[1]', /two tokens/),
  );
  assert.throws(() => modelFromJSON(syntheticBPE({ merges: [['a']] })), isConfigError('model.merges[0]'));
  assert.throws(() => modelFromJSON(syntheticBPE({ merges: [42] })), isConfigError('model.merges[0]'));
  assert.throws(
    () => modelFromJSON(syntheticBPE({ merges: ['a z'] })),
    isConfigError('model.merges[0]', /"z"/),
  );
  assert.throws(
    () => modelFromJSON(syntheticBPE({ merges: ['c a'] })),
    isConfigError('model.merges[0]', /"ca"/),
  );
  assert.throws(() => modelFromJSON(syntheticBPE({ dropout: 1.5 })), isConfigError('model.dropout'));
  assert.throws(() => modelFromJSON(syntheticBPE({ merges: 'a b' })), isConfigError('model.merges'));
  // As in Rust, an unk token outside the vocabulary only fails when a word needs it.
  const model = modelFromJSON(syntheticBPE({ unk_token: '<missing>' }));
  assert.deepEqual(ours(model, 'abc').ids, [6]);
  assert.throws(() => model.tokenize('axb'), isConfigError('model.unk_token', /<missing>/));
  assert.throws(
    () => BPE.fromVocabAndMerges('{"a": 0, "b": 1, "ab": 2}', '#version: 0.2\na b\nab\n'),
    (error: unknown) =>
      error instanceof ConfigError && error.file === 'merges.txt' && error.field === 'line 3',
  );
  assert.throws(
    () => BPE.fromVocabAndMerges('{"a": 0, "b": 1}', '#version: 0.2\na b\n'),
    (error: unknown) =>
      error instanceof ConfigError &&
      error.file === 'merges.txt' &&
      error.field === 'merges[0]' &&
      /"ab"/.test(error.message),
  );
  assert.throws(
    () => BPE.fromVocabAndMerges('{"a": 0', 'a b\n'),
    (error: unknown) => error instanceof ConfigError && error.file === 'vocab.json',
  );
});

test(
  'Unigram (t5-small) matches Rust, unknown pieces keep their text',
  { skip: sharedTokenizers || sharedData },
  async () => {
    const json = tokenizerModel('t5-small-unigram');
    const model = modelFromJSON(json);
    assert.ok(model instanceof Unigram);
    const raw = [...sst2Words(6000), ...caseWords()];
    const words = [
      ...raw.map((w) => `▁${w}`),
      ...raw.slice(0, 2000),
      '▁Å',
      'ÅÅ',
      'a😀😀b',
      '▁' + 'x'.repeat(300),
      '',
    ];
    await assertSameAsOracle(model, modelOnlyOracle(json), words);
    // Cached words come back as fresh tokens: mutating one result does not leak into the next.
    model.tokenize('▁hello')[0]!.offsets[1] = 99;
    assert.deepEqual(ours(model, '▁hello').offsets, [[0, 6]]);
    const unknown = ours(model, '▁Å😀b');
    assert.equal(unknown.ids.filter((id) => id === 2).length, 1);
    assert.ok(unknown.tokens.includes('Å😀'));
  },
);

test('Unigram byte_fallback and a missing unk_id', async () => {
  const vocab: [string, number][] = [
    ['<unk>', 0],
    ['a', -1],
    ['b', -2],
    ['ab', -2.5],
    ['<0xC3>', -5],
    ['<0xA9>', -5],
    ['abc', -4],
    ['c', -3],
  ];
  const json = { type: 'Unigram', unk_id: 0, byte_fallback: true, vocab };
  const words = ['ab', 'abc', 'aéb', 'é', 'x', 'xéa', 'éé', 'abab'];
  await assertSameAsOracle(modelFromJSON(json), modelOnlyOracle(json), words);
  const noFallback = { ...json, byte_fallback: false };
  await assertSameAsOracle(modelFromJSON(noFallback), modelOnlyOracle(noFallback), words);

  const noUnk = modelFromJSON({ type: 'Unigram', vocab });
  assert.deepEqual(ours(noUnk, 'abc').tokens, ['abc']);
  assert.throws(
    () => noUnk.tokenize('x'),
    (error: unknown) => error instanceof ConfigError && error.field === 'model.unk_id',
  );
  assert.throws(
    () => modelFromJSON({ type: 'Unigram', unk_id: 8, vocab }),
    (error: unknown) => error instanceof ConfigError && error.field === 'model.unk_id',
  );
  assert.throws(
    () => modelFromJSON({ type: 'Unigram', unk_id: 0, vocab: [['a', 'high']] }),
    (error: unknown) => error instanceof ConfigError && error.field === 'model.vocab[0]',
  );
});

test('WordLevel matches Rust and fails only when the unk token is needed but missing', async () => {
  const json = {
    type: 'WordLevel',
    unk_token: '<unk>',
    vocab: { '<unk>': 0, hello: 1, world: 2, 'héllo😀': 3 },
  };
  const model = modelFromJSON(json);
  assert.ok(model instanceof WordLevel);
  await assertSameAsOracle(model, modelOnlyOracle(json), ['hello', 'world', 'héllo😀', 'nope', 'héllo']);
  const noUnk = modelFromJSON({ type: 'WordLevel', vocab: { hello: 0 } });
  assert.deepEqual(ours(noUnk, 'hello').ids, [0]);
  assert.throws(
    () => noUnk.tokenize('bye'),
    (error: unknown) => error instanceof ConfigError && error.field === 'model.unk_token',
  );
});

test('model type inference for files without "type" and unknown types', () => {
  assert.ok(
    modelFromJSON({
      vocab: { '[UNK]': 0 },
      continuing_subword_prefix: '##',
      max_input_chars_per_word: 100,
      unk_token: '[UNK]',
    }) instanceof WordPiece,
  );
  assert.ok(modelFromJSON({ vocab: { a: 0 }, merges: [] }) instanceof BPE);
  assert.ok(modelFromJSON({ vocab: [['a', 0]], unk_id: 0 }) instanceof Unigram);
  assert.ok(modelFromJSON({ vocab: { a: 0 }, unk_token: 'a' }) instanceof WordLevel);
  assert.throws(
    () => modelFromJSON({ vocab: 'nope' }),
    (error: unknown) => error instanceof ConfigError && error.field === 'model',
  );
  assert.throws(
    () => modelFromJSON({}),
    (error: unknown) => error instanceof ConfigError && error.field === 'model',
  );
  assert.throws(
    () => modelFromJSON({ type: 'Sentencepiece', vocab: {} }),
    (error: unknown) =>
      error instanceof ConfigError && error.field === 'model.type' && /WordPiece/.test(error.message),
  );
  assert.throws(
    () => modelFromJSON(null),
    (error: unknown) => error instanceof ConfigError && error.field === 'model',
  );
});
