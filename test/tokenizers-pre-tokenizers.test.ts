/**
 * Pre-tokenizers against the Rust core (npm `tokenizers` binding): the splits and their offsets of every
 * pre-tokenizer type, the Oniguruma → JavaScript regex translation, split behaviors, and JSON errors.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import test from 'node:test';
import tk from 'tokenizers';
import { ConfigError } from '../src/errors.js';
import {
  applyBehavior,
  CharPredicatePattern,
  NormalizedString,
  RegexPattern,
  type SplitDelimiterBehavior,
} from '../src/tokenizers/normalized-string.js';
import { translateOnigRegex } from '../src/tokenizers/normalizers/onig-regex.js';
import { PreTokenizedString } from '../src/tokenizers/pre-tokenized-string.js';
import { preTokenizerFromJSON } from '../src/tokenizers/pre-tokenizers/index.js';
import { codePointOffsetsToUtf16, sharedPath, skipUnlessShared } from './helpers/shared.js';
import { tokenizerJson } from './helpers/tokenizer-json.js';

const TEXTS = [
  'Hello World!',
  "plain ASCII, with\ttabs  and  'quotes' don't 123 $%^ end ",
  " Héllo  wörld\t\nX don't you're I'LL we've ",
  'cafe\u0301 Å',
  '中文字符 mixed ｶﾀｶﾅ ひらがな カタカナー 한국어',
  'a\u200bc\u00ad \u200d',
  'ﬁ ＡＢＣ ① 123 4567 ٣٤ ½',
  'Σίσυφος ΟΔΥΣΣΕΥΣ',
  '👨‍👩‍👧 🇫🇷 👍🏽 1️⃣',
  'a\r\nb   c  \u2028 d\u0085e\ufeff',
  '\u2581already \u2581 x\u2581\u2581y',
  'https://example.com/a?b=1&c=[2] user_name@mail.org',
  '$1,000.50 -- ok... (really)?! «quoted» “curly”',
  '\u05e9\u05dc\u05d5\u05dd \u0627\u0644\u0633\u0644\u0627\u0645 \u0928\u092e\u0938\u094d\u0924\u0947',
  '',
  '   ',
];

/** The binding's pre-tokenizer built from JSON (through a tokenizer.json, so every JSON field is honoured). */
function referencePreTokenizer(json: object): tk.PreTokenizer {
  const tokenizer = tk.Tokenizer.fromString(JSON.stringify(tokenizerJson({ pre_tokenizer: json })));
  return tokenizer.getPreTokenizer()!;
}

function ourSplits(json: object, text: string): [string, [number, number]][] {
  const pretokenized = new PreTokenizedString(text);
  preTokenizerFromJSON(json)!.preTokenize(pretokenized);
  return pretokenized.getSplits();
}

function assertSameSplits(json: object, texts = TEXTS): void {
  const reference = referencePreTokenizer(json);
  const preTokenizer = preTokenizerFromJSON(json)!;
  for (const text of texts) {
    const expected = reference
      .preTokenizeString(text)
      .map(([piece, offsets]): [string, [number, number]] => [
        piece,
        codePointOffsetsToUtf16(text, [offsets])[0]!,
      ]);
    const where = `${JSON.stringify(json)} on ${JSON.stringify(text)}`;
    assert.deepEqual(ourSplits(json, text), expected, where);
    // The same-shape fast path (ASCII byte-level) must give the same pieces at the same offsets.
    const sameShape = preTokenizer.sameShapeRanges?.(text);
    if (sameShape) {
      const pieces: [string, [number, number]][] = [];
      for (let i = 0; i < sameShape.length; i += 2) {
        const [start, end] = [sameShape[i]!, sameShape[i + 1]!];
        pieces.push([preTokenizer.mapPiece!(text.slice(start, end)), [start, end]]);
      }
      assert.deepEqual(pieces, expected, `${where}: sameShapeRanges`);
    }
    // The range fast path must cut exactly like the split path.
    if (preTokenizer.splitRanges) {
      const ranges = preTokenizer.splitRanges(text);
      const pieces: string[] = [];
      for (let i = 0; i < ranges.length; i += 2) pieces.push(text.slice(ranges[i], ranges[i + 1]));
      assert.deepEqual(
        pieces,
        expected.map(([piece]) => piece),
        `${where}: splitRanges`,
      );
    }
  }
}

const behaviors = ['Removed', 'Isolated', 'MergedWithPrevious', 'MergedWithNext', 'Contiguous'];

test('BERT, Whitespace, WhitespaceSplit, Punctuation, Digits, CharDelimiterSplit match Rust', () => {
  assertSameSplits({ type: 'BertPreTokenizer' });
  assertSameSplits({ type: 'Whitespace' });
  assertSameSplits({ type: 'WhitespaceSplit' });
  for (const behavior of behaviors) assertSameSplits({ type: 'Punctuation', behavior });
  assertSameSplits({ type: 'Digits', individual_digits: true });
  assertSameSplits({ type: 'Digits', individual_digits: false });
  assertSameSplits({ type: 'CharDelimiterSplit', delimiter: 'o' });
  assertSameSplits({ type: 'CharDelimiterSplit', delimiter: '\u2581' });
});

test('ByteLevel matches Rust: GPT-2 regex, prefix space, bytes aligned to their characters', () => {
  for (const add_prefix_space of [false, true]) {
    for (const use_regex of [false, true]) {
      assertSameSplits({ type: 'ByteLevel', add_prefix_space, trim_offsets: true, use_regex });
    }
  }
});

test('Metaspace matches Rust for every prepend scheme, legacy add_prefix_space and split', () => {
  for (const prepend_scheme of ['always', 'first', 'never']) {
    for (const split of [true, false])
      assertSameSplits({ type: 'Metaspace', replacement: '\u2581', prepend_scheme, split });
  }
  assertSameSplits({ type: 'Metaspace', replacement: '\u2581', add_prefix_space: true });
  assertSameSplits({
    type: 'Metaspace',
    replacement: '\u2581',
    add_prefix_space: false,
    prepend_scheme: 'never',
  });
  // Rust rejects a legacy add_prefix_space false without prepend_scheme "never"; so do we.
  const legacy = { type: 'Metaspace', replacement: '\u2581', add_prefix_space: false };
  assert.throws(() => referencePreTokenizer(legacy), /add_prefix_space does not match/);
  assert.throws(
    () => preTokenizerFromJSON(legacy),
    (e: unknown) => e instanceof ConfigError && e.field === 'pre_tokenizer.add_prefix_space',
  );
  // "first" only prepends to the split that starts the text.
  assertSameSplits({
    type: 'Sequence',
    pretokenizers: [
      { type: 'WhitespaceSplit' },
      { type: 'Metaspace', replacement: '\u2581', prepend_scheme: 'first' },
    ],
  });
});

test('Split with String and Regex patterns, every behavior, inverted or not, matches Rust', () => {
  const patterns = [
    { String: ' ' },
    { String: 'o' },
    { String: '' },
    { Regex: '\\s+' },
    { Regex: '\\d' },
    { Regex: '\\w+' },
    { Regex: '\\p{L}+|\\p{N}' },
    { Regex: '[^\\s\\p{L}\\p{N}]+' },
    { Regex: ' ?\\p{L}+|\\s+(?!\\S)' },
    { Regex: 'x*' },
    { Regex: '.' },
    { Regex: "(?i:'s|'t|'re|'ve|'m|'ll|'d)|\\p{N}{1,3}" },
    { Regex: '^\\p{L}|\\p{L}$' },
    { Regex: '\\A.|.\\z' },
    { Regex: '.\\Z' },
    { Regex: '[^\\s\\w]+|_' },
    { Regex: '[\\w]+' },
    { Regex: '\\W+' },
  ];
  for (const pattern of patterns) {
    for (const behavior of behaviors) {
      for (const invert of [false, true]) assertSameSplits({ type: 'Split', pattern, behavior, invert });
    }
  }
});

test('UnicodeScripts and Sequence match Rust', () => {
  assertSameSplits({ type: 'UnicodeScripts' });
  assertSameSplits({
    type: 'Sequence',
    pretokenizers: [
      { type: 'WhitespaceSplit' },
      { type: 'Metaspace', replacement: '\u2581', add_prefix_space: true },
    ],
  });
  assertSameSplits({
    type: 'Sequence',
    pretokenizers: [
      { type: 'Punctuation' },
      { type: 'Digits', individual_digits: true },
      { type: 'ByteLevel', add_prefix_space: true, trim_offsets: true, use_regex: true },
    ],
  });
});

test('split behaviors on a hand-checked example', () => {
  // "a--b-": matches of '-' are [1,2] [2,3] [4,5].
  const pattern = new CharPredicatePattern((cp) => cp === 0x2d);
  const pieces = (behavior: SplitDelimiterBehavior) =>
    new NormalizedString('a--b-').split(pattern, behavior).map((s) => s.get());
  assert.deepEqual(pieces('removed'), ['a', 'b']);
  assert.deepEqual(pieces('isolated'), ['a', '-', '-', 'b', '-']);
  assert.deepEqual(pieces('merged_with_previous'), ['a-', '-', 'b-']);
  assert.deepEqual(pieces('merged_with_next'), ['a', '-', '-b', '-']);
  assert.deepEqual(pieces('contiguous'), ['a', '--', 'b', '-']);
  assert.deepEqual(applyBehavior([0, 0, 0], 'removed'), [0, 0]);
});

test('regex iteration follows Oniguruma: no empty match right after a match', () => {
  const matches = new RegexPattern(translateOnigRegex('x*', 'test')).findMatches('axxb');
  // Onig: "" at 0, "xx" at 1..3, (no "" at 3), "" at 4.
  assert.deepEqual(matches, [0, 0, 1, 0, 1, 0, 1, 3, 1, 3, 4, 0, 4, 4, 1]);
});

test('Oniguruma translation: Unicode classes, and untranslatable patterns are ConfigErrors naming the pattern', () => {
  const whitespace = translateOnigRegex('\\s', 'f');
  assert.ok(whitespace.test('\u0085'), 'NEL is White_Space in Oniguruma');
  assert.ok(!new RegExp(whitespace.source, 'u').test('\ufeff'), 'BOM is not White_Space');
  assert.ok(new RegExp(translateOnigRegex('^\\w+$', 'f').source, 'u').test('naïve_é中'));
  assert.ok(new RegExp(translateOnigRegex('^\\p{Han}+$', 'f').source, 'u').test('中文'));
  for (const [pattern, reason] of [
    ['a++', /possessive/],
    ['(?>a|b)', /atomic/],
    ['(?i)abc', /inline flags/],
    ['[[:alpha:]]', /POSIX/],
    ['\\p{NotAProperty}', /unknown Unicode property/],
    ['(a', /not valid/],
  ] as const) {
    assert.throws(
      () =>
        preTokenizerFromJSON({
          type: 'Split',
          pattern: { Regex: pattern },
          behavior: 'Isolated',
          invert: false,
        }),
      (e: unknown) =>
        e instanceof ConfigError &&
        e.field === 'pre_tokenizer.pattern.Regex' &&
        e.message.includes(JSON.stringify(pattern)) &&
        reason.test(e.message),
      pattern,
    );
  }
});

test('pre-tokenizer JSON errors name the field', () => {
  assert.throws(
    () =>
      preTokenizerFromJSON({ type: 'Sequence', pretokenizers: [{ type: 'Whitespace' }, { type: 'Nope' }] }),
    (e: unknown) => e instanceof ConfigError && e.field === 'pre_tokenizer.pretokenizers[1].type',
  );
  assert.throws(
    () => preTokenizerFromJSON({ type: 'Split', pattern: { String: 'x' }, behavior: 'Sideways' }),
    (e: unknown) =>
      e instanceof ConfigError && e.field === 'pre_tokenizer.behavior' && /Sideways/.test(e.message),
  );
  assert.throws(
    () => preTokenizerFromJSON({ type: 'Metaspace', replacement: '\u2581', prepend_scheme: 'sometimes' }),
    (e: unknown) => e instanceof ConfigError && e.field === 'pre_tokenizer.prepend_scheme',
  );
  assert.throws(
    () => preTokenizerFromJSON({ type: 'CharDelimiterSplit', delimiter: 'ab' }),
    (e: unknown) => e instanceof ConfigError && e.field === 'pre_tokenizer.delimiter',
  );
  assert.equal(preTokenizerFromJSON(null), null);
});

test(
  'UDHR in 35 languages: every pre-tokenizer type matches Rust',
  { skip: skipUnlessShared('datasets/multilingual') },
  () => {
    const lines = readFileSync(sharedPath('datasets', 'multilingual', 'udhr_35lang.txt'), 'utf8')
      .split('\n')
      .filter((line) => line.trim().length > 0);
    for (const json of [
      { type: 'UnicodeScripts' },
      { type: 'BertPreTokenizer' },
      { type: 'Whitespace' },
      { type: 'ByteLevel', add_prefix_space: true, trim_offsets: true, use_regex: true },
      { type: 'Metaspace', replacement: '\u2581', prepend_scheme: 'always', split: true },
      { type: 'Punctuation', behavior: 'Contiguous' },
      { type: 'Digits', individual_digits: false },
    ]) {
      assertSameSplits(json, lines);
    }
    // Emoji of every Unicode version, between letters: the script table's age shows here.
    const emoji = readFileSync(sharedPath('datasets', 'multilingual', 'emoji_fully_qualified.txt'), 'utf8')
      .split('\n')
      .filter((line) => line.length > 0)
      .map((line) => `a${line}b ${line}中`);
    assertSameSplits({ type: 'UnicodeScripts' }, emoji);
  },
);
