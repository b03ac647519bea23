/**
 * `seqbatch classify` on the bundled demo checkpoint: the README's two sentences (PyTorch's scores), all 872
 * SST-2 dev sentences against the recorded PyTorch logits, every input format and column choice, input order,
 * CSV/JSONL output, --top-k, --logits, and the errors naming their flag.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, mkdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough, Readable } from 'node:stream';
import { after, test } from 'node:test';
import { parse as parseCsv } from 'csv-parse/sync';
import { runClassify, type ClassifyCliOptions } from '../src/cli/commands/classify.js';
import { defaultModelDir } from '../src/cli/default-model.js';
import { InputError } from '../src/errors.js';
import { pipeline } from '../src/pipelines/index.js';
import { softmax } from '../src/pipelines/math.js';
import { REPO_ROOT, readSharedJson, sharedPath, skipUnlessShared } from './helpers/shared.js';
import { runCliSync } from './helpers/cli-process.js';

const MODEL = join(REPO_ROOT, 'models', 'seqbatch-demo-sst2');
const REFERENCE = ['models', 'seqbatch-demo-sst2', 'reference'];
const WORK = mkdtempSync(join(tmpdir(), 'seqbatch-classify-'));
after(() => rmSync(WORK, { recursive: true, force: true }));

/** Base options as commander hands them (strings), without the graph cache so tests leave nothing behind. */
const BASE: ClassifyCliOptions = { graphCache: false, progress: false };

interface DevExample {
  index: number;
  sentence: string;
  logits: [number, number];
  predicted_label: string;
}

/** Runs the command with stdout captured; returns the JSONL records (or raw text for CSV). */
async function classify(texts: string[], options: ClassifyCliOptions, stdin?: Readable) {
  const stdout = new PassThrough();
  const chunks: Buffer[] = [];
  stdout.on('data', (chunk: Buffer) => chunks.push(chunk));
  const summary = await runClassify(texts, { ...BASE, ...options }, { stdout, stdin });
  const text = Buffer.concat(chunks).toString('utf8');
  return {
    summary,
    text,
    records: () =>
      text
        .trim()
        .split('\n')
        .map((line) => JSON.parse(line)),
  };
}

function write(name: string, content: string): string {
  const file = join(WORK, name);
  writeFileSync(file, content);
  return file;
}

const close = (a: number, b: number, tol: number) => Math.abs(a - b) <= tol;

test('the default model is the bundled demo checkpoint', () => {
  assert.equal(defaultModelDir(), MODEL);
});

test('README command: the two sentences give POSITIVE 0.999 and NEGATIVE 0.995 (PyTorch), through the CLI binary path', () => {
  // The real program (commander parsing, the default model, stdout), as `npx seqbatch classify "…" "…"` runs it.
  const result = runCliSync(
    [
      'classify',
      'A charming, funny and deeply moving film.',
      'The plot is a tedious mess and the acting is wooden.',
      '--no-graph-cache',
    ],
    { cwd: WORK, env: { ...process.env, HF_HUB_OFFLINE: '1' } },
  );
  assert.equal(result.status, 0, result.stderr);
  const [positive, negative] = result.stdout
    .trim()
    .split('\n')
    .map((line) => JSON.parse(line));
  assert.equal(positive.label, 'POSITIVE');
  assert.ok(close(positive.score, 0.999, 1e-3), String(positive.score));
  assert.equal(negative.label, 'NEGATIVE');
  assert.ok(close(negative.score, 0.995, 1e-3), String(negative.score));
});

test(
  'SST-2 dev: 872/872 labels and logits of the recorded PyTorch run (1e-4 + 1e-4·|x|), TSV in, JSONL file out',
  {
    skip: skipUnlessShared(...REFERENCE, 'sst2-dev.json') || skipUnlessShared('datasets', 'sst2', 'dev.tsv'),
  },
  async () => {
    const examples = readSharedJson<{ examples: DevExample[] }>(...REFERENCE, 'sst2-dev.json').examples;
    const output = join(WORK, 'dev.jsonl');
    const { summary } = await classify([], {
      input: sharedPath('datasets', 'sst2', 'dev.tsv'),
      column: 'sentence',
      output,
      logits: true,
    });
    assert.deepEqual(summary, { skipped: 0, written: 872 });
    const rows = readFileSync(output, 'utf8')
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line));
    assert.equal(rows.length, examples.length);
    let worst = 0;
    rows.forEach((row, i) => {
      const expected = examples[i]!;
      assert.equal(row.label, expected.predicted_label, `row ${i}`);
      row.logits.forEach((x: number, j: number) => {
        const diff = Math.abs(x - expected.logits[j]!);
        worst = Math.max(worst, diff);
        assert.ok(diff <= 1e-4 + 1e-4 * Math.abs(expected.logits[j]!), `row ${i} logit ${j}: ${x}`);
      });
      // The score is the softmax of those logits (the model's default function).
      const probabilities = softmax(expected.logits);
      assert.ok(close(row.score, Math.max(...probabilities), 1e-4), `row ${i} score`);
    });
    assert.ok(worst < 1e-4, `worst logit difference ${worst}`);
  },
);

test('every input format and column choice gives the same predictions, in input order', async () => {
  const texts = [
    'a gorgeous , witty , seductive movie .',
    'the acting is wooden and the plot is a mess',
    'ok',
    'one of the most affecting films of the year , with wonderful performances throughout',
    'dull',
  ];
  // Reference: each text alone through the pipeline (no batching, so order cannot leak between rows).
  const direct = await pipeline('text-classification', MODEL, { cacheDir: false });
  const expected: Array<{ label: string; score: number }> = [];
  for (const text of texts) expected.push((await direct.run(text)) as { label: string; score: number });
  await direct.dispose();

  const quoted = (s: string) => `"${s.replace(/"/g, '""')}"`;
  const inputs: Array<[string, ClassifyCliOptions, Readable?]> = [
    ['positional', {}],
    ['txt', { input: write('in.txt', texts.join('\n') + '\n') }],
    [
      'jsonl',
      {
        input: write('in.jsonl', texts.map((t) => JSON.stringify({ id: 1, review: t })).join('\n')),
        column: 'review',
      },
    ],
    ['csv', { input: write('in.csv', 'id,text\n' + texts.map((t, i) => `${i},${quoted(t)}`).join('\n')) }],
    ['tsv', { input: write('in.tsv', 'label\tsentence\n' + texts.map((t) => `0\t${t}`).join('\n')) }],
    ['stdin', { inputFormat: 'txt' }, Readable.from([texts.join('\n')])],
  ];
  for (const [name, options, stdin] of inputs) {
    // --batch-size 2: several chunks, and a model batch sorted by length inside each.
    const { records } = await classify(
      name === 'positional' ? texts : [],
      { ...options, batchSize: '2' },
      stdin,
    );
    const got = records();
    assert.equal(got.length, texts.length, name);
    got.forEach((record, i) => {
      assert.equal(record.label, expected[i]!.label, `${name} row ${i}`);
      assert.ok(close(record.score, expected[i]!.score, 1e-5), `${name} row ${i}`);
    });
  }
});

test('--pair-column classifies text pairs as the pipeline does', async () => {
  const pairs = [
    { a: 'a gorgeous movie .', b: 'i loved it' },
    { a: 'the plot is a mess', b: 'dull and tedious' },
  ];
  const direct = await pipeline('text-classification', MODEL, { cacheDir: false });
  const expected = await direct.run(pairs.map((p) => ({ text: p.a, textPair: p.b })));
  await direct.dispose();
  const input = write('pairs.csv', 'premise,hypothesis\n' + pairs.map((p) => `${p.a},${p.b}`).join('\n'));
  const got = (await classify([], { input, column: 'premise', pairColumn: 'hypothesis' })).records();
  got.forEach((record, i) => {
    assert.equal(record.label, (expected[i] as { label: string }).label);
    assert.ok(close(record.score, (expected[i] as { score: number }).score, 1e-5));
  });
  // The pair changes the input, so the scores differ from the first text alone.
  const alone = (await classify([pairs[0]!.a], {})).records()[0];
  assert.notEqual(alone.score, got[0].score);
});

test('--top-k and --logits: label/score lists best first, logits in id order, scores their softmax or sigmoid', async () => {
  const text = "I've been waiting for a HuggingFace course my whole life.";
  const [all] = (await classify([text], { topK: 'all', logits: true })).records();
  assert.equal(all.logits.length, 2);
  const probabilities = softmax(all.logits);
  assert.deepEqual(all.label, ['NEGATIVE', 'POSITIVE']);
  assert.ok(close(all.score[0], probabilities[0]!, 1e-12) && close(all.score[1], probabilities[1]!, 1e-12));
  // Recorded PyTorch logits for this text (seed-examples.json): the demo model calls it NEGATIVE.
  const seed = readSharedJson<{ examples: Array<{ text: string; logits: number[] }> }>(
    ...REFERENCE,
    'seed-examples.json',
  ).examples.find((e) => e.text === text)!;
  all.logits.forEach((x: number, j: number) => assert.ok(close(x, seed.logits[j]!, 1e-4)));

  const [top1] = (await classify([text], { topK: '1' })).records();
  assert.deepEqual(top1.label, ['NEGATIVE']);
  assert.equal(top1.score.length, 1);

  const [sig] = (await classify([text], { function: 'sigmoid', logits: true })).records();
  assert.equal(sig.label, 'NEGATIVE');
  assert.ok(close(sig.score, 1 / (1 + Math.exp(-sig.logits[0])), 1e-12));

  const [raw] = (await classify([text], { function: 'none' })).records();
  assert.ok(close(raw.score, seed.logits[0]!, 1e-4));
});

test('CSV output: a header and one row per input; lists as JSON in the cell', async () => {
  const output = join(WORK, 'out.csv');
  await classify(['good fun', 'awful'], { output, topK: 'all', logits: true });
  const rows = parseCsv(readFileSync(output, 'utf8'), { columns: true }) as Record<string, string>[];
  assert.deepEqual(Object.keys(rows[0]!), ['label', 'score', 'logits']);
  assert.equal(rows.length, 2);
  assert.equal(JSON.parse(rows[0]!.label!).length, 2);
  const jsonl = (await classify(['good fun', 'awful'], { topK: 'all', logits: true })).records();
  assert.deepEqual(JSON.parse(rows[1]!.score!), jsonl[1].score);
});

test('long inputs: an error naming --truncation, or truncation / sliding windows when asked', async () => {
  const long = 'a remarkably moving film . '.repeat(60);
  await assert.rejects(classify([long], {}), (error: unknown) => {
    assert.ok(error instanceof InputError, String(error));
    assert.equal(error.argument, '--truncation');
    assert.match(error.message, /^argument 1: \d+ tokens exceed the model maximum of 128; pass --truncation/);
    return true;
  });
  const [truncated] = (await classify([long], { truncation: true })).records();
  const [windowed] = (
    await classify([long], { longInputs: 'sliding-window', stride: '16', windowAggregation: 'max' })
  ).records();
  const direct = await pipeline('text-classification', MODEL, { cacheDir: false });
  const expectedTruncated = (await direct.run(long, { truncation: true })) as {
    label: string;
    score: number;
  };
  const expectedWindowed = (await direct.run(long, {
    longInputs: 'sliding-window',
    stride: 16,
    windowAggregation: 'max',
  })) as { label: string; score: number };
  await direct.dispose();
  assert.equal(truncated.label, expectedTruncated.label);
  assert.ok(close(truncated.score, expectedTruncated.score, 1e-6));
  assert.equal(windowed.label, expectedWindowed.label);
  assert.ok(close(windowed.score, expectedWindowed.score, 1e-6));
  // Windows see the whole text, truncation its first 128 tokens: the scores differ.
  assert.notEqual(windowed.score, truncated.score);
});

test('errors name the flag: --top-k, --max-length, --batch-size, --max-batch-tokens, --column, --model', async () => {
  const expectFlag = async (options: ClassifyCliOptions, flag: string, texts = ['x']) => {
    await assert.rejects(classify(texts, options), (error: unknown) => {
      assert.ok(error instanceof InputError, `${flag}: ${String(error)}`);
      assert.equal(error.argument, flag);
      assert.ok(error.message.startsWith(flag), error.message);
      return true;
    });
  };
  await expectFlag({ topK: '0' }, '--top-k');
  await expectFlag({ maxLength: '4096', truncation: true }, '--max-length');
  await expectFlag({ batchSize: 'many' }, '--batch-size');
  await expectFlag({ maxBatchTokens: '-1' }, '--max-batch-tokens');
  await expectFlag({ threads: '0' }, '--threads');
  await assert.rejects(
    classify([], { input: write('cols.csv', 'id,review\n1,good\n'), column: 'text' }),
    (error: unknown) => error instanceof InputError && /column "text"/.test(error.message),
  );
  await assert.rejects(classify(['x'], { model: join(WORK, 'no-such-model') }), (error: unknown) => {
    assert.ok(error instanceof Error);
    assert.match(error.message, /no-such-model/);
    return true;
  });
});

test('--logits with duplicate label names: the logits in id order, as with distinct names', async () => {
  const dir = join(WORK, 'dup-labels');
  mkdirSync(dir);
  for (const file of [
    'model.safetensors',
    'tokenizer.json',
    'tokenizer_config.json',
    'special_tokens_map.json',
    'vocab.txt',
  ]) {
    symlinkSync(join(MODEL, file), join(dir, file));
  }
  const config = JSON.parse(readFileSync(join(MODEL, 'config.json'), 'utf8'));
  config.id2label = { 0: 'SAME', 1: 'SAME' };
  config.label2id = { SAME: 1 };
  writeFileSync(join(dir, 'config.json'), JSON.stringify(config));
  const texts = ['a dull film', 'a wonderful film'];
  const same = (await classify(texts, { model: dir, logits: true, topK: 'all' })).records();
  const distinct = (await classify(texts, { logits: true, topK: 'all' })).records();
  same.forEach((row, i) => {
    assert.deepEqual(row.label, ['SAME', 'SAME']);
    assert.deepEqual(row.logits, distinct[i].logits);
    assert.deepEqual(row.score, distinct[i].score);
  });
});

test(
  '--packed: padding-free and padded runs of a mixed-length batch agree within 1e-5',
  { skip: skipUnlessShared(...REFERENCE, 'sst2-dev.json') },
  async () => {
    const dev = readSharedJson<{ examples: DevExample[] }>(...REFERENCE, 'sst2-dev.json').examples.slice(
      0,
      40,
    );
    const texts = dev.map((e) => e.sentence);
    // One batch of 40 rows of 4 to 55 tokens: plenty of padding, so 'true' really packs.
    const batching = { batchSize: '40', logits: true } as ClassifyCliOptions;
    const packed = (await classify(texts, { ...batching, packed: 'true' })).records();
    const padded = (await classify(texts, { ...batching, packed: 'false' })).records();
    packed.forEach((row, i) => {
      assert.equal(row.label, padded[i].label);
      row.logits.forEach((x: number, j: number) =>
        assert.ok(close(x, padded[i].logits[j], 1e-5), `row ${i}`),
      );
      row.logits.forEach((x: number, j: number) =>
        assert.ok(close(x, dev[i]!.logits[j]!, 1e-4 + 1e-4 * Math.abs(x))),
      );
    });
  },
);
