/**
 * Normalizers against the Rust core (npm `tokenizers` binding): normalized text of every normalizer type and of
 * the real tokenizers' normalizers, and alignments (token offsets of a whole-word model) over adversarial Unicode.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import test from 'node:test';
import tk from 'tokenizers';
import { ConfigError } from '../src/errors.js';
import { NormalizedString } from '../src/tokenizers/normalized-string.js';
import { normalizerFromJSON, PrecompiledNormalizer } from '../src/tokenizers/normalizers/index.js';
import { TokenizerPipeline } from '../src/tokenizers/pipeline.js';
import { codePointOffsetsToUtf16, sharedPath, skipUnlessShared } from './helpers/shared.js';
import { tokenizerJson } from './helpers/tokenizer-json.js';

/** Texts that stress normalization: every string here is checked against the binding. */
const ADVERSARIAL = [
  'Hello World!',
  'Héllo  wörld\t\nX',
  'cafe\u0301 café Å \u212B',
  'e\u0301\u0301 a\u0315\u0301 \u1100\u1161\u11a8 \u1e0b\u0323',
  // A character that decomposes, then marks that canonical ordering swaps (combining classes 230 then 220).
  '\uac00\u0301\u0316 b \u0159\u0301\u0316 x \u1ea5\u0323 \u01d8\u0323 \u1e69\u0301\u0323 \uac01\u0316\u0301',
  '中文字符 mixed 𠀀𪜀 \u{2b820}\u{2b920}',
  '\u0000a\ufffdb\u200bc\u00ad d\u200d e\u2060 \u202e RTL \u05e9\u05dc\u05d5\u05dd \u0627\u0644\u0633\u0644\u0627\u0645',
  'ﬁ ＡＢＣ ① ㍿ ½',
  'Σίσυφος ΟΔΥΣΣΕΥΣ İstanbul ǅ',
  '👨‍👩‍👧 🇫🇷 👍🏽 1️⃣ ❤️',
  'a\r\nb\u0085c\u2028d\u3000e\u00a0f',
  '\u0007bell \u001b[0m \u007f \u008f\u009f\u000b\u000c \u200e\u200f \u2581',
  ' leading and trailing  ',
  '',
  '   ',
];

/** The binding's normalizer built from JSON through a tokenizer.json (for types it has no factory for). */
function fromJson(json: object): () => tk.Normalizer {
  return () => tk.Tokenizer.fromString(JSON.stringify(wholeWordTokenizer(json))).getNormalizer()!;
}

const normalizerOracles: [object, () => tk.Normalizer][] = [
  [{ type: 'NFC' }, () => tk.nfcNormalizer()],
  [{ type: 'ByteLevel' }, fromJson({ type: 'ByteLevel' })],
  [{ type: 'Nmt' }, () => tk.nmt()],
  [
    { type: 'Replace', pattern: { Regex: '\\s+|[\\p{P}]' }, content: '_' },
    fromJson({ type: 'Replace', pattern: { Regex: '\\s+|[\\p{P}]' }, content: '_' }),
  ],
  [
    { type: 'Replace', pattern: { Regex: 'l+' }, content: '' },
    fromJson({ type: 'Replace', pattern: { Regex: 'l+' }, content: '' }),
  ],
  [
    {
      type: 'Sequence',
      normalizers: [
        { type: 'Prepend', prepend: '\u2581' },
        { type: 'Strip', strip_left: true, strip_right: false },
      ],
    },
    fromJson({
      type: 'Sequence',
      normalizers: [
        { type: 'Prepend', prepend: '\u2581' },
        { type: 'Strip', strip_left: true, strip_right: false },
      ],
    }),
  ],
  [{ type: 'NFD' }, () => tk.nfdNormalizer()],
  [{ type: 'NFKC' }, () => tk.nfkcNormalizer()],
  [{ type: 'NFKD' }, () => tk.nfkdNormalizer()],
  [{ type: 'Lowercase' }, () => tk.lowercase()],
  [{ type: 'StripAccents' }, () => tk.stripAccentsNormalizer()],
  [{ type: 'Strip', strip_left: true, strip_right: true }, () => tk.stripNormalizer(true, true)],
  [{ type: 'Strip', strip_left: false, strip_right: true }, () => tk.stripNormalizer(false, true)],
  [{ type: 'Prepend', prepend: '\u2581' }, () => tk.prependNormalizer('\u2581')],
  [{ type: 'Replace', pattern: { String: ' ' }, content: '\u2581' }, () => tk.replace(' ', '\u2581')],
  [
    {
      type: 'BertNormalizer',
      clean_text: true,
      handle_chinese_chars: true,
      strip_accents: true,
      lowercase: false,
    },
    () =>
      tk.bertNormalizer({ cleanText: true, handleChineseChars: true, stripAccents: true, lowercase: false }),
  ],
  [
    { type: 'Sequence', normalizers: [{ type: 'NFD' }, { type: 'StripAccents' }, { type: 'Lowercase' }] },
    () => tk.sequenceNormalizer([tk.nfdNormalizer(), tk.stripAccentsNormalizer(), tk.lowercase()]),
  ],
];

/** The binding turns lone surrogates into U+FFFD on the way in; compare on the same well-formed text. */
function normalizeWithOurs(json: object, text: string): string {
  const normalized = new NormalizedString(text);
  normalizerFromJSON(json)!.normalize(normalized);
  return normalized.get();
}

test('each normalizer type gives the Rust normalized text', () => {
  for (const [json, oracle] of normalizerOracles) {
    const reference = oracle();
    for (const text of ADVERSARIAL) {
      assert.equal(
        normalizeWithOurs(json, text),
        reference.normalizeString(text),
        `${JSON.stringify(json)} on ${JSON.stringify(text)}`,
      );
    }
  }
});

/** A tokenizer.json around one normalizer: whole-word WordLevel model, so offsets show the alignments. */
function wholeWordTokenizer(
  normalizer: object | null,
  preTokenizer: object = { type: 'WhitespaceSplit' },
): object {
  return tokenizerJson({ normalizer, pre_tokenizer: preTokenizer });
}

async function assertSameOffsets(tokenizerJson: object, texts: string[], label: string): Promise<void> {
  const reference = tk.Tokenizer.fromString(JSON.stringify(tokenizerJson));
  const ours = TokenizerPipeline.fromTokenizerJSON(tokenizerJson);
  for (const text of texts) {
    const expected = await reference.encode(text, null, { addSpecialTokens: false });
    const got = ours.encodeSequence(text);
    const where = `${label} on ${JSON.stringify(text)}`;
    assert.deepEqual(got.words, expected.getWordIds(), where);
    assert.deepEqual(
      got.offsets,
      codePointOffsetsToUtf16(text, expected.getOffsets() as [number, number][]),
      `${where}: offsets`,
    );
  }
}

test('alignments of every normalizer match the Rust offsets', async () => {
  for (const [json] of normalizerOracles)
    await assertSameOffsets(wholeWordTokenizer(json), ADVERSARIAL, JSON.stringify(json));
  // Per-character pieces make every character's alignment visible, not only word ends.
  const perChar = { type: 'Split', pattern: { Regex: '.' }, behavior: 'Isolated', invert: false };
  for (const [json] of normalizerOracles) {
    await assertSameOffsets(
      wholeWordTokenizer(json, perChar),
      ADVERSARIAL,
      `${JSON.stringify(json)} per char`,
    );
  }
});

test(
  'uncased BERT: a decomposing character followed by reordered marks keeps its pieces on the character',
  { skip: skipUnlessShared('tokenizers', 'bert-base-uncased') },
  async () => {
    const file = sharedPath('tokenizers', 'bert-base-uncased', 'tokenizer.json');
    const json = JSON.parse(readFileSync(file, 'utf8'));
    const reference = tk.Tokenizer.fromFile(file);
    const ours = TokenizerPipeline.fromTokenizerJSON(json);
    // NFD gives 가 → ᄀ ᅡ and swaps the marks; both jamo stand for the syllable (the Rust core's [0, 1]).
    const texts = [
      '\uac00\u0301\u0316 b',
      '\u0159\u0301\u0316 x',
      'a\u0159\u0316\u0301b \uac01\u0316\u0301\u0301 \u1ea5\u0323',
    ];
    for (const text of texts) {
      const expected = await reference.encode(text, null, { addSpecialTokens: false });
      const got = ours.encodeSequence(text);
      assert.deepEqual(got.tokens, expected.getTokens(), JSON.stringify(text));
      assert.deepEqual(got.offsets, expected.getOffsets(), JSON.stringify(text));
    }
    assert.deepEqual(ours.encodeSequence(texts[0]!).offsets, [
      [0, 1],
      [0, 1],
      [4, 5],
    ]);
  },
);

test(
  'real tokenizers: BertNormalizer (cased, uncased) and the T5 Precompiled charsmap',
  { skip: skipUnlessShared('tokenizers') },
  async () => {
    const udhr = readFileSync(sharedPath('datasets', 'multilingual', 'udhr_sample.tsv'), 'utf8')
      .split('\n')
      .slice(1, 200)
      .map((line) => line.split('\t')[1] ?? '');
    for (const name of ['bert-base-uncased', 'bert-base-cased', 't5-small-unigram']) {
      const file = sharedPath('tokenizers', name, 'tokenizer.json');
      const json = JSON.parse(readFileSync(file, 'utf8'));
      const reference = tk.Tokenizer.fromFile(file).getNormalizer()!;
      for (const text of [...ADVERSARIAL, ...udhr]) {
        assert.equal(
          normalizeWithOurs(json.normalizer, text),
          reference.normalizeString(text),
          `${name}: ${JSON.stringify(text)}`,
        );
      }
      const perChar = { type: 'Split', pattern: { Regex: '.' }, behavior: 'Isolated', invert: false };
      await assertSameOffsets(
        wholeWordTokenizer(json.normalizer, perChar),
        [...ADVERSARIAL, ...udhr.slice(0, 60)],
        name,
      );
    }
  },
);

test(
  'Precompiled trie: shortest prefix match, and a malformed charsmap is a ConfigError',
  { skip: skipUnlessShared('tokenizers') },
  () => {
    const json = JSON.parse(
      readFileSync(sharedPath('tokenizers', 't5-small-unigram', 'tokenizer.json'), 'utf8'),
    );
    const precompiled = PrecompiledNormalizer.fromBase64(json.normalizer.precompiled_charsmap);
    // NFKC-style folds the charsmap is known to hold (SentencePiece nmt_nfkc).
    assert.equal(precompiled.transform('ﬁ'), 'fi');
    assert.equal(precompiled.transform('Ａ'), 'A');
    assert.equal(precompiled.transform('a'), null);
    assert.throws(
      () => new PrecompiledNormalizer(new Uint8Array([0xff, 0, 0, 0, 1])),
      (e: unknown) => e instanceof ConfigError && e.field === 'normalizer.precompiled_charsmap',
    );
    assert.throws(() => new PrecompiledNormalizer(new Uint8Array([1])), /shorter than its 4-byte header/);
  },
);

test('normalizer JSON errors name the field', () => {
  assert.throws(
    () => normalizerFromJSON({ type: 'Sequence', normalizers: [{ type: 'NFC' }, { type: 'Shout' }] }),
    (e: unknown) =>
      e instanceof ConfigError &&
      e.field === 'normalizer.normalizers[1].type' &&
      /unknown normalizer type "Shout"/.test(e.message),
  );
  assert.throws(
    () => normalizerFromJSON({ type: 'Replace', pattern: { Regex: '(unclosed' }, content: '' }),
    (e: unknown) =>
      e instanceof ConfigError && e.field === 'normalizer.pattern.Regex' && /\(unclosed/.test(e.message),
  );
  assert.throws(
    () => normalizerFromJSON({ type: 'Replace', pattern: { Regex: 'a++' }, content: '' }),
    /cannot be translated to JavaScript: possessive quantifiers/,
  );
  assert.throws(
    () => normalizerFromJSON({ type: 'Replace', pattern: 'x', content: '' }),
    (e: unknown) => e instanceof ConfigError && e.field === 'normalizer.pattern',
  );
  assert.throws(
    () => normalizerFromJSON({ type: 'BertNormalizer', lowercase: 'yes' }),
    (e: unknown) => e instanceof ConfigError && e.field === 'normalizer.lowercase',
  );
  assert.equal(normalizerFromJSON(null), null);
});

test('BertNormalizer strip_accents null follows lowercase', () => {
  assert.equal(
    normalizeWithOurs({ type: 'BertNormalizer', lowercase: true, strip_accents: null }, 'Café'),
    'cafe',
  );
  assert.equal(
    normalizeWithOurs({ type: 'BertNormalizer', lowercase: false, strip_accents: null }, 'Café'),
    'Café',
  );
  assert.equal(
    normalizeWithOurs({ type: 'BertNormalizer', lowercase: true, strip_accents: false }, 'Café'),
    'café',
  );
});

test('NormalizedString alignments on hand-checked edits', () => {
  const prepended = new NormalizedString('Hello').prepend('\u2581');
  assert.equal(prepended.get(), '\u2581Hello');
  assert.deepEqual(prepended.normalizedToOriginal(0, 1), [0, 1]); // the marker stands for "H"
  assert.deepEqual(prepended.normalizedToOriginal(1, 6), [0, 5]);

  const stripped = new NormalizedString('  ab  ').strip();
  assert.equal(stripped.get(), 'ab');
  assert.deepEqual(stripped.normalizedToOriginal(0, 2), [2, 4]);
  assert.deepEqual(stripped.originalToNormalized(2, 4), [0, 2]);
  assert.equal(stripped.getOriginal(), '  ab  ');

  const decomposed = new NormalizedString('x\u00e9y').nfd();
  assert.equal(decomposed.get(), 'xe\u0301y');
  assert.deepEqual(decomposed.normalizedToOriginal(1, 3), [1, 2]); // e + accent both come from é
  assert.deepEqual(decomposed.normalizedToOriginal(3, 4), [2, 3]);

  // Rust's transform protocol: change -1 removes the next character, +1 inserts after the previous one.
  const edited = new NormalizedString('abcd');
  // a keeps a; X is inserted after a; the new c replaces b and its -1 removes the old c; d is left over, dropped.
  edited.transform('aXc', [0, 1, -1], 0);
  assert.equal(edited.get(), 'aXc');
  assert.deepEqual(edited.normalizedToOriginal(1, 2), [0, 1]); // X aligned to a
  assert.deepEqual(edited.normalizedToOriginal(2, 3), [1, 2]); // "c" took b's place

  const astral = new NormalizedString('a😀b');
  const piece = astral.slice(1, 3)!;
  assert.equal(piece.get(), '😀');
  assert.deepEqual(piece.offsetsOriginal(), [1, 3]);
  assert.deepEqual(astral.lowercase().normalizedToOriginal(1, 3), [1, 3]);
  assert.equal(astral.slice(2, 9), null);
});
