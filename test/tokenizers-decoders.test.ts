/**
 * Decoders against the fixtures' `decoded` fields and against the Rust core (npm `tokenizers` binding 0.23.2):
 * the binding gets a WordLevel model whose vocabulary is exactly the tokens to decode plus the decoder JSON, so
 * its `decode(ids)` is the decoder's output alone.
 */
import assert from 'node:assert/strict';
import test from 'node:test';
import { Tokenizer } from 'tokenizers';
import { ConfigError } from '../src/errors.js';
import { BYTES_TO_UNICODE } from '../src/tokenizers/byte-level.js';
import {
  ByteLevelDecoder,
  decoderFromJSON,
  decoders,
  MetaspaceDecoder,
  ReplaceDecoder,
  WordPieceDecoder,
} from '../src/tokenizers/decoders/index.js';
import { modelFromJSON } from '../src/tokenizers/models/index.js';
import { readSharedJson, skipUnlessShared } from './helpers/shared.js';
import { tokenizerJson } from './helpers/tokenizer-json.js';

type Json = Record<string, unknown>;

async function oracleDecode(decoder: Json, tokens: string[]): Promise<string> {
  const vocab: Record<string, number> = { '<unk>': 0 };
  for (const token of tokens) if (!(token in vocab)) vocab[token] = Object.keys(vocab).length;
  const tokenizer = Tokenizer.fromString(
    JSON.stringify(tokenizerJson({ decoder, model: { type: 'WordLevel', vocab, unk_token: '<unk>' } })),
  );
  return tokenizer.decode(
    tokens.map((token) => vocab[token]!),
    false,
  );
}

async function assertSameAsOracle(decoder: Json, sequences: string[][]): Promise<void> {
  const ours = decoderFromJSON(decoder);
  for (const tokens of sequences) {
    assert.equal(
      ours.decode(tokens),
      await oracleDecode(decoder, tokens),
      `${JSON.stringify(decoder)} on ${JSON.stringify(tokens)}`,
    );
  }
}

const byteLevel = (text: string) =>
  [...new TextEncoder().encode(text)].map((b) => BYTES_TO_UNICODE[b]!).join('');

interface FixtureCase {
  name: string;
  expected?: { input_ids: number[] }[];
  decoded?: string[];
}

for (const name of [
  'bert-base-uncased',
  'bert-base-cased',
  'all-MiniLM-L6-v2',
  'roberta-base',
  't5-small-unigram',
]) {
  test(
    `${name}: decoder reproduces the fixtures' decoded text`,
    { skip: skipUnlessShared('fixtures', 'tokenizers', name) },
    () => {
      const tokenizer = readSharedJson<{
        model: Json;
        decoder: Json;
        added_tokens: { id: number; special: boolean }[];
      }>('tokenizers', name, 'tokenizer.json');
      const { cases } = readSharedJson<{ cases: FixtureCase[] }>(
        'fixtures',
        'tokenizers',
        name,
        'cases.json',
      );
      const model = modelFromJSON(tokenizer.model);
      const decoder = decoderFromJSON(tokenizer.decoder);
      // decoded = Rust decode with skip_special_tokens: special added tokens are dropped before the decoder runs.
      const special = new Set(tokenizer.added_tokens.filter((t) => t.special).map((t) => t.id));
      let rows = 0;
      for (const c of cases) {
        if (!c.expected || !c.decoded) continue;
        c.expected.forEach((row, i) => {
          const tokens = row.input_ids.filter((id) => !special.has(id)).map((id) => model.idToToken(id)!);
          assert.equal(decoder.decode(tokens), c.decoded![i], `${c.name} row ${i}`);
          rows++;
        });
      }
      assert.ok(rows > 50, `only ${rows} rows compared`);
    },
  );
}

test('WordPiece decoder matches Rust (prefix, cleanup on and off)', async () => {
  const sequences = [
    ['hello', '##s', 'world', '.', 'do', 'not', 'go', '!'],
    ['i', "'", 'm', 'here', ',', 'isn', "'", 't', 'it', '?'],
    ['we', "'", 're', 'they', "'", 've', 'it', "'", 's', 'do', "n't"],
    ['##start', 'a', '##b##c', 'x'],
    ['@@a', 'b', '@@c'],
    [],
    ['single'],
  ];
  await assertSameAsOracle({ type: 'WordPiece', prefix: '##', cleanup: true }, sequences);
  await assertSameAsOracle({ type: 'WordPiece', prefix: '##', cleanup: false }, sequences);
  await assertSameAsOracle({ type: 'WordPiece', prefix: '@@', cleanup: true }, sequences);
  assert.equal(new WordPieceDecoder().decode(['un', '##aff', '##able', ',', 'yes']), 'unaffable, yes');
});

test('ByteLevel decoder matches Rust, including invalid UTF-8 (U+FFFD like from_utf8_lossy)', async () => {
  const euro = byteLevel('€'); // three table characters
  const sequences = [
    [byteLevel('Hello'), byteLevel(' world'), byteLevel(' 😀')],
    [euro.slice(0, 2)],
    [euro.slice(0, 2), byteLevel('a')],
    [euro.slice(1), euro.slice(0, 1)],
    [byteLevel('😀').slice(0, 3), byteLevel(' ok')],
    [BYTES_TO_UNICODE[0xff]!, BYTES_TO_UNICODE[0xc0]!, BYTES_TO_UNICODE[0x80]!],
    ['<s>', byteLevel(' plain'), 'naïve 中'],
    ['Ġhi', 'Ċ', 'Ġthere'],
    [],
  ];
  await assertSameAsOracle(
    { type: 'ByteLevel', add_prefix_space: true, trim_offsets: true, use_regex: true },
    sequences,
  );
  assert.equal(new ByteLevelDecoder().decode(['Ġcaf', 'Ã©']), ' café');
});

test('ByteLevel and ByteFallback replace invalid UTF-8 exactly as Rust on random byte strings', async () => {
  // Bytes biased towards UTF-8 lead/continuation bytes and the edge cases (overlong, surrogates, > U+10FFFF).
  const interesting = [
    0x41, 0x80, 0x8f, 0x90, 0x9f, 0xa0, 0xbf, 0xc0, 0xc2, 0xdf, 0xe0, 0xed, 0xef, 0xf0, 0xf4, 0xf5, 0xff,
  ];
  let state = 12345;
  const random = () => (state = (Math.imul(state, 1103515245) + 12345) >>> 0) / 2 ** 32;
  const samples: number[][] = [];
  for (let i = 0; i < 150; i++) {
    samples.push(
      Array.from(
        { length: 1 + Math.floor(random() * 6) },
        () => interesting[Math.floor(random() * interesting.length)]!,
      ),
    );
  }
  const byteLevelDecoder = { type: 'ByteLevel', add_prefix_space: true, trim_offsets: true, use_regex: true };
  const byteFallbackDecoder = { type: 'ByteFallback' };
  for (const bytes of samples) {
    const tableTokens = bytes.map((b) => BYTES_TO_UNICODE[b]!);
    assert.equal(
      decoderFromJSON(byteLevelDecoder).decode(tableTokens),
      await oracleDecode(byteLevelDecoder, tableTokens),
      `ByteLevel ${JSON.stringify(bytes)}`,
    );
    const byteTokens = bytes.map((b) => `<0x${b.toString(16).toUpperCase().padStart(2, '0')}>`);
    assert.equal(
      decoderFromJSON(byteFallbackDecoder).decode(byteTokens),
      await oracleDecode(byteFallbackDecoder, byteTokens),
      `ByteFallback ${JSON.stringify(bytes)}`,
    );
  }
});

test('Metaspace decoder matches Rust for every prepend scheme and the legacy add_prefix_space', async () => {
  const sequences = [
    ['▁Hello', '▁world', '!'],
    ['▁▁Hello', '▁', '▁world▁'],
    ['Hello', '▁world'],
    ['x▁y', '▁'],
    [],
  ];
  for (const decoder of [
    { type: 'Metaspace', replacement: '▁', prepend_scheme: 'always', split: true },
    { type: 'Metaspace', replacement: '▁', prepend_scheme: 'never', split: true },
    { type: 'Metaspace', replacement: '▁', prepend_scheme: 'first', split: false },
    { type: 'Metaspace', replacement: '▁', add_prefix_space: true },
    { type: 'Metaspace', replacement: '▁', add_prefix_space: false, prepend_scheme: 'never' },
  ]) {
    await assertSameAsOracle(decoder, sequences);
  }
  await assertSameAsOracle({ type: 'Metaspace', replacement: '_', prepend_scheme: 'always', split: true }, [
    ['_a', '_b_c'],
  ]);
  assert.equal(new MetaspaceDecoder('▁', 'never').decode(['▁a', '▁b']), ' a b');
  // Rust rejects a lone `add_prefix_space: false` (its default scheme conflicts); we read it as `never`.
  assert.equal(
    decoderFromJSON({ type: 'Metaspace', replacement: '▁', add_prefix_space: false }).decode(['▁a']),
    ' a',
  );
});

test('BPEDecoder, Replace, Fuse, Strip, ByteFallback, CTC and Sequence match Rust', async () => {
  await assertSameAsOracle({ type: 'BPEDecoder', suffix: '</w>' }, [
    ['hel', 'lo</w>', 'wor', 'ld</w>'],
    ['a</w>b</w>', 'c</w>'],
    [],
  ]);
  await assertSameAsOracle({ type: 'Replace', pattern: { String: '▁' }, content: ' ' }, [['▁a', 'b▁▁c'], []]);
  await assertSameAsOracle({ type: 'Replace', pattern: { String: '$' }, content: '$&' }, [['a$b', '$']]);
  await assertSameAsOracle({ type: 'Replace', pattern: { Regex: '\\s+' }, content: '_' }, [
    ['a  b', '\tc\n'],
  ]);
  await assertSameAsOracle({ type: 'Replace', pattern: { Regex: '[0-9]' }, content: '#' }, [['a1b22', 'x']]);
  await assertSameAsOracle({ type: 'Fuse' }, [['a', 'b', ' c'], []]);
  for (const [start, stop] of [
    [1, 0],
    [0, 1],
    [2, 2],
  ]) {
    await assertSameAsOracle({ type: 'Strip', content: ' ', start, stop }, [
      ['  a  ', ' b', 'c ', 'x', '  a b  '],
    ]);
  }
  await assertSameAsOracle({ type: 'Strip', content: ' ', start: 3, stop: 0 }, [[' ', '   ', '    x ']]);
  await assertSameAsOracle({ type: 'Strip', content: ' ', start: 0, stop: 3 }, [[' x    ', '    ', 'x ']]);
  // Rust panics when stripping would cross the token (an empty token with stop > 0, start + stop over an
  // all-content token); such a token becomes empty here.
  assert.deepEqual(
    decoderFromJSON({ type: 'Strip', content: ' ', start: 1, stop: 1 }).decodeChain(['', ' ']),
    ['', ''],
  );
  const byteFallback = [
    ['<0x61>', '<0xC3>', '<0xA9>', 'x', '<0xE2>', '<0x82>', 'y', '<0xE2>', '<0x82>', '<0xAC>'],
    ['<0xFF>', '<0x61>'],
    ['<0x6g>', '<0x+F>', '<0x4>', '<0X41>', '<0x41'],
    ['<0xF0>', '<0x9F>', '<0x98>', '<0x80>'],
  ];
  await assertSameAsOracle({ type: 'ByteFallback' }, byteFallback);
  await assertSameAsOracle({ type: 'CTC', pad_token: '<pad>', word_delimiter_token: '|', cleanup: true }, [
    ['<pad>', 'h', 'h', 'e', 'l', 'l', '<pad>', 'l', 'o', '|', '|', 'w', 'o', ' .'],
    ['a', '<pad>', '<pad>', 'a'],
  ]);
  await assertSameAsOracle({ type: 'CTC', pad_token: '[PAD]', word_delimiter_token: '_', cleanup: false }, [
    ['[PAD]', 'h', 'h', '_', 'i', ' .'],
  ]);
  // Llama / Mistral style: the decoder of SentencePiece byte-fallback BPE tokenizers.
  const llama = {
    type: 'Sequence',
    decoders: [
      { type: 'Replace', pattern: { String: '▁' }, content: ' ' },
      { type: 'ByteFallback' },
      { type: 'Fuse' },
      { type: 'Strip', content: ' ', start: 1, stop: 0 },
    ],
  };
  await assertSameAsOracle(llama, [
    ['▁Hello', '▁world', '<0xE2>', '<0x82>', '<0xAC>', '<0xFF>'],
    ['▁▁x'],
    [],
  ]);
});

test('decoder errors name the field', () => {
  const failsAt = (fieldName: string, pattern?: RegExp) => (error: unknown) =>
    error instanceof ConfigError &&
    error.field === fieldName &&
    (pattern === undefined || pattern.test(error.message));
  assert.throws(
    () => decoderFromJSON({ type: 'Spellcheck' }),
    failsAt('decoder.type', /unknown decoder type "Spellcheck"/),
  );
  assert.throws(
    () => decoderFromJSON({ type: 'Sequence', decoders: [{ type: 'Fuse' }, { type: 'Nope' }] }),
    failsAt('decoder.decoders[1].type'),
  );
  assert.throws(() => decoderFromJSON({ type: 'Sequence' }), failsAt('decoder.decoders'));
  assert.throws(
    () => decoderFromJSON({ type: 'Replace', pattern: { Glob: '*' }, content: '' }),
    failsAt('decoder.pattern'),
  );
  assert.throws(
    () => decoderFromJSON({ type: 'Replace', pattern: { Regex: '(' }, content: '' }),
    failsAt('decoder.pattern.Regex'),
  );
  assert.throws(
    () => decoderFromJSON({ type: 'Replace', pattern: { String: 'a' } }),
    failsAt('decoder.content'),
  );
  assert.throws(
    () => decoderFromJSON({ type: 'Metaspace', replacement: '▁▁' }),
    failsAt('decoder.replacement'),
  );
  assert.throws(
    () => decoderFromJSON({ type: 'Metaspace', replacement: '▁', prepend_scheme: 'sometimes' }),
    failsAt('decoder.prepend_scheme'),
  );
  assert.throws(
    () =>
      decoderFromJSON({
        type: 'Metaspace',
        replacement: '▁',
        prepend_scheme: 'first',
        add_prefix_space: false,
      }),
    failsAt('decoder.add_prefix_space'),
  );
  assert.throws(
    () => decoderFromJSON({ type: 'Strip', content: 'ab', start: 1, stop: 0 }),
    failsAt('decoder.content'),
  );
  assert.throws(
    () => decoderFromJSON({ type: 'Strip', content: ' ', start: -1, stop: 0 }),
    failsAt('decoder.start'),
  );
  assert.throws(() => decoderFromJSON({ type: 'WordPiece', cleanup: 'yes' }), failsAt('decoder.cleanup'));
  assert.throws(() => decoderFromJSON(null, 'tokenizer.decoder'), failsAt('tokenizer.decoder'));
  assert.deepEqual(decoders.types(), [
    'BPEDecoder',
    'ByteFallback',
    'ByteLevel',
    'CTC',
    'Fuse',
    'Metaspace',
    'Replace',
    'Sequence',
    'Strip',
    'WordPiece',
  ]);
  // A RegExp given directly is made global, so every match is replaced.
  assert.equal(new ReplaceDecoder(/a/u, 'b').decode(['aaa']), 'bbb');
});
