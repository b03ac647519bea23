/**
 * Long inputs as a stream (issue 15 item 6): texts are tokenised into ids alone (piece by piece when the tokenizer
 * allows), their rows and windows are built lazily from those ids, and window outputs are combined as they
 * arrive. Each of these must give exactly what the Encoding path gave: the ids of `encodeTextTokens`, the rows
 * of `encodeBatch` with the same truncation / overflow options. And the progress of one long text shows, in the
 * library's `onProgress` and in the CLI's bar.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { test } from 'node:test';
import { runClassify } from '../src/cli/commands/classify.js';
import { InputError } from '../src/errors.js';
import { encodeWithLimit, type ResolvedLongInputs } from '../src/pipelines/long-inputs.js';
import { combineVectors, VectorCombiner } from '../src/pipelines/math.js';
import { pipeline } from '../src/pipelines/index.js';
import type { BatchRunStats } from '../src/batching/index.js';
import { Tokenizer } from '../src/tokenizers/tokenizer.js';
import { REPO_ROOT, sharedPath, skipUnlessShared } from './helpers/shared.js';

const DEMO = join(REPO_ROOT, 'models', 'seqbatch-demo-sst2');
const skip = skipUnlessShared('tokenizers') || skipUnlessShared('datasets');

/** Separable tokenizers (BERT normalizer and pre-tokenizer, GPT-2 byte level) and one that is not (Metaspace). */
const TOKENIZERS = [
  'bert-base-uncased',
  'bert-base-cased',
  'roberta-base',
  'XLMRobertaTokenizer-spm-unigram',
];

function sharedText(...parts: string[]): string {
  return readFileSync(sharedPath(...parts), 'utf8');
}

/** English prose, 35 languages (accents, CJK, scripts without spaces) and emoji sequences. */
function texts(): string[] {
  return [
    sharedText('datasets', 'gutenberg', 'alice-in-wonderland_11-0.txt').slice(2000, 14000),
    sharedText('datasets', 'multilingual', 'udhr_35lang.txt').slice(0, 12000),
    sharedText('datasets', 'multilingual', 'emoji_fully_qualified.txt').slice(0, 6000),
  ];
}

const load = (name: string) => Tokenizer.fromPretrained(sharedPath('tokenizers', name));

test(
  'encodeTextIds gives the ids of encodeTextTokens, whole or cut into pieces at spaces',
  { skip },
  async () => {
    for (const name of TOKENIZERS) {
      const tokenizer = await load(name);
      assert.equal(tokenizer.pipeline.separableAtSpaces, !name.startsWith('XLM'), name);
      for (const [t, text] of texts().entries()) {
        const want = tokenizer.pipeline.encodeTextTokens(text).ids;
        for (const segment of [5, 64, 1000, 1 << 16]) {
          const got = tokenizer.pipeline.encodeTextIds(text, segment);
          assert.ok(got instanceof Int32Array);
          assert.deepEqual(Array.from(got), want, `${name}, text ${t}, pieces of ${segment}`);
        }
      }
    }
  },
);

test(
  'a normalizer that looks past spaces, or an added token with a space, keeps the text whole',
  { skip },
  async () => {
    const json = JSON.parse(sharedText('tokenizers', 'bert-base-uncased', 'tokenizer.json'));
    const strip = {
      type: 'Sequence',
      normalizers: [json.normalizer, { type: 'Strip', strip_left: true, strip_right: true }],
    };
    const spaced = {
      id: 30522,
      content: 'new york',
      single_word: false,
      lstrip: false,
      rstrip: false,
      normalized: true,
      special: false,
    };
    const text = 'they moved to new york in spring and new york moved on '.repeat(20);
    for (const [what, changed] of [
      ['Strip normalizer', { ...json, normalizer: strip }],
      ['added token "new york"', { ...json, added_tokens: [...json.added_tokens, spaced] }],
    ] as const) {
      const tokenizer = Tokenizer.fromJSON(changed);
      assert.equal(tokenizer.pipeline.separableAtSpaces, false, what);
      const want = tokenizer.pipeline.encodeTextTokens(text).ids;
      assert.deepEqual(Array.from(tokenizer.pipeline.encodeTextIds(text, 16)), want, what);
    }
  },
);

/** The rows the Encoding path gives: encodeBatch with the options encodeWithLimit used to pass. */
function encodingRows(tokenizer: Tokenizer, text: string, pair: string | null, limits: ResolvedLongInputs) {
  const windows = limits.mode === 'sliding-window';
  const options =
    limits.mode === 'error'
      ? { verbose: false }
      : {
          truncation: windows && pair !== null ? ('only_first' as const) : ('longest_first' as const),
          maxLength: limits.maxLength,
          stride: windows ? limits.stride : 0,
          returnOverflowingTokens: windows,
          verbose: false,
        };
  const batch = tokenizer.encodeBatch([text], pair === null ? null : [pair], options);
  return batch.encodings.map((e) => ({ ids: e.ids, typeIds: e.typeIds }));
}

test(
  'rows built from ids equal encodeBatch rows: every mode, pairs, both truncation sides',
  { skip },
  async () => {
    const prose = texts()[0]!.slice(0, 900);
    const cases: [string, string | null][] = [
      [prose, null],
      ['a short one', null],
      [prose, 'is this about a rabbit ?'],
      ['short', 'a second text'],
      [prose.slice(0, 200), prose.slice(300, 600)],
    ];
    for (const name of ['bert-base-uncased', 'roberta-base']) {
      const tokenizer = await load(name);
      for (const side of ['right', 'left'] as const) {
        tokenizer.truncationSide = side;
        for (const mode of ['error', 'truncate', 'sliding-window'] as const) {
          for (const [maxLength, stride] of [
            [40, 0],
            [40, 7],
            [64, 20],
          ] as const) {
            const limits: ResolvedLongInputs = { mode, maxLength, stride, aggregation: 'mean', side };
            for (const [text, pair] of cases) {
              const what = `${name} ${side} ${mode} ${maxLength}/${stride} ${text.length}+${pair?.length ?? '-'}`;
              let want: unknown;
              try {
                want = encodingRows(tokenizer, text, pair, limits);
                if (mode === 'error' && (want as { ids: number[] }[])[0]!.ids.length > maxLength) {
                  want = 'too long';
                }
              } catch (error) {
                want = `${(error as Error).constructor.name}: ${(error as Error).message}`;
              }
              let got: unknown;
              try {
                got = [...encodeWithLimit(tokenizer, text, pair, limits, 0)].map((r) => ({
                  ids: [...r.ids],
                  typeIds: [...r.typeIds],
                }));
              } catch (error) {
                got =
                  mode === 'error' &&
                  error instanceof InputError &&
                  /exceed the model maximum/.test(error.message)
                    ? 'too long'
                    : `${(error as Error).constructor.name}: ${(error as Error).message}`;
              }
              assert.deepEqual(got, want, what);
            }
          }
        }
      }
    }
  },
);

test('VectorCombiner gives combineVectors bit for bit, the single vector as given', () => {
  const vectors = [
    [0.1, -2.5, 3e-8],
    [1 / 3, 7.25, -1e-9],
    [Math.PI, -0.5, 4],
  ].map((v) => Float32Array.from(v));
  for (const how of ['mean', 'max'] as const) {
    const combiner = new VectorCombiner(how);
    for (const v of vectors) combiner.add(v);
    assert.deepEqual(Array.from(combiner.result()), combineVectors(vectors, how));
    // The same sums as adding the vectors in order in float64, divided once.
    if (how === 'mean') {
      const want = Array.from(
        vectors[0]!,
        (_, i) => (vectors[0]![i]! + vectors[1]![i]! + vectors[2]![i]!) / 3,
      );
      assert.deepEqual(Array.from(combiner.result()), want);
    }
  }
  const single = new VectorCombiner('mean');
  single.add(vectors[0]!);
  assert.equal(single.result(), vectors[0]);
});

/** About 45 windows of the demo model's 128 tokens. */
const LONG_REVIEW = 'a remarkably moving film , with wooden acting and a tedious plot . '.repeat(220);

test('onProgress hears of each batch of windows of one long text, with growing counts', async () => {
  const classify = await pipeline('text-classification', DEMO, { cacheDir: false });
  try {
    const snapshots: BatchRunStats[] = [];
    const options = { longInputs: 'sliding-window' as const, batchSize: 8 };
    const result = await classify.run(LONG_REVIEW, { ...options, onProgress: (s) => snapshots.push(s) });
    const windows = classify.tokenizer.encode(LONG_REVIEW, null, {
      truncation: true,
      maxLength: 128,
      stride: 63,
      returnOverflowingTokens: true,
    });
    const count = 1 + windows.overflowing.length;
    assert.ok(count > 40, `${count} windows`);
    const counts = snapshots.map((s) => s.sequences);
    assert.ok(snapshots.length >= Math.ceil(count / 8), `${snapshots.length} progress calls`);
    assert.ok(
      counts.every((c, i) => i === 0 || c >= counts[i - 1]!),
      `growing: ${counts.join(' ')}`,
    );
    assert.equal(counts.at(-1), count);
    assert.equal(snapshots.at(-1)!.done, true);
    // Streaming changed nothing: the same answer as before, computed from the windows given one by one.
    assert.deepEqual(result, await classify.run(LONG_REVIEW, options));
  } finally {
    await classify.dispose();
  }
});

test('the CLI progress bar counts the model rows (windows) of a row while it runs', async () => {
  // About 225 windows run one per batch: over a second here, while the bar redraws five times a second.
  const text = LONG_REVIEW.repeat(5);
  const tokenizer = await Tokenizer.fromPretrained(DEMO);
  const options = { truncation: true, maxLength: 128, stride: 63, returnOverflowingTokens: true };
  const windows = 1 + tokenizer.encode(text, null, options).overflowing.length;
  const stderr = Object.assign(new PassThrough(), {
    isTTY: true,
    columns: 120,
    cursorTo() {},
    clearLine() {},
    moveCursor() {},
  });
  let drawn = '';
  stderr.on('data', (chunk: Buffer) => (drawn += chunk.toString()));
  const stdout = new PassThrough();
  stdout.resume();
  await runClassify(
    [text],
    { graphCache: false, longInputs: 'sliding-window', batchSize: '1' },
    { stdout, stderr: stderr as unknown as NodeJS.WriteStream },
  );
  const counts = [...drawn.matchAll(/\/1 rows \((\d+) model rows\)/g)].map((m) => Number(m[1]));
  const distinct = counts.filter((c, i) => i === 0 || c !== counts[i - 1]);
  assert.equal(distinct.at(-1), windows, `every window counted: ${distinct.join(' ')}`);
  assert.ok(distinct.length >= 2, `progress drawn while the row ran: ${distinct.join(' ')}`);
  assert.ok(
    distinct.every((c, i) => i === 0 || c > distinct[i - 1]!),
    `growing: ${distinct.join(' ')}`,
  );
});
