/**
 * `seqbatch bench` on the demo model: every text counted once per strategy, the input-order padding equal to the
 * arithmetic of fixed batches over the Rust tokenizer's lengths, sorted buckets padding less, and the errors.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { test } from 'node:test';
import { Tokenizer as RustTokenizer } from 'tokenizers';
import { type LabelComparison } from '../src/cli/commands/bench-dtype.js';
import { runBench } from '../src/cli/commands/bench.js';
import { InputError } from '../src/errors.js';
import { REPO_ROOT, sharedPath, skipUnlessShared, sst2Sentences } from './helpers/shared.js';

const DEMO = join(REPO_ROOT, 'models', 'seqbatch-demo-sst2');

test(
  'bench: sequences, batches and padding of both strategies; the report printed',
  { skip: skipUnlessShared('datasets', 'sst2', 'dev.tsv') },
  async () => {
    const N = 96;
    const BATCH = 16;
    const texts = sst2Sentences('dev', N);
    const stdout = new PassThrough();
    let printed = '';
    stdout.on('data', (chunk: Buffer) => (printed += chunk.toString()));
    const report = await runBench(
      texts,
      { batchSize: String(BATCH), graphCache: false, threads: '1' },
      { stdout },
    );
    assert.equal(report.task, 'classify');
    assert.equal(report.model, 'seqbatch-demo-sst2');

    const rust = RustTokenizer.fromString(readFileSync(join(DEMO, 'tokenizer.json'), 'utf8'));
    const lengths: number[] = [];
    for (const text of texts) lengths.push((await rust.encode(text)).getIds().length);
    const real = lengths.reduce((a, b) => a + b, 0);
    let padded = 0;
    for (let i = 0; i < N; i += BATCH) {
      const batch = lengths.slice(i, i + BATCH);
      padded += batch.length * Math.max(...batch);
    }

    const [sorted, inputOrder] = report.results;
    assert.equal(sorted!.strategy, 'sorted');
    assert.equal(inputOrder!.strategy, 'input-order');
    for (const { stats } of report.results) {
      assert.equal(stats.sequences, N);
      assert.equal(stats.realTokens, real);
      assert.ok(stats.sequencesPerSecond > 0);
    }
    assert.equal(inputOrder!.stats.batches, N / BATCH);
    assert.equal(inputOrder!.stats.paddedTokens, padded);
    assert.ok(Math.abs(inputOrder!.stats.paddingRatio - (1 - real / padded)) < 1e-12);
    assert.ok(sorted!.stats.paddedTokens < padded);
    assert.match(printed, /\| fp32 \| sorted \| \d+ \| \d+\.\d% \|/);
    assert.match(
      printed,
      new RegExp(
        `\\| fp32 \\| input-order \\| ${N / BATCH} \\| ${(100 * (1 - real / padded)).toFixed(1)}% \\|`,
      ),
    );
  },
);

test(
  'bench --dtype int8: fp32 and int8 in one run, labels compared and scored against the dataset column',
  { skip: skipUnlessShared('datasets', 'sst2', 'dev.tsv') },
  async () => {
    const stdout = new PassThrough();
    let printed = '';
    stdout.on('data', (chunk: Buffer) => (printed += chunk.toString()));
    const options = {
      input: sharedPath('datasets', 'sst2', 'dev.tsv'),
      column: 'sentence',
      limit: '64',
      graphCache: false,
      threads: '1',
      dtype: 'int8' as const,
    };
    const report = await runBench([], { ...options, labelColumn: 'label' }, { stdout });
    assert.deepEqual(
      report.results.map((r) => [r.dtype, r.strategy, r.stats.sequences]),
      [
        ['fp32', 'sorted', 64],
        ['int8', 'sorted', 64],
      ],
    );
    const comparison = report.comparison as LabelComparison;
    assert.equal(comparison.texts, 64);
    assert.ok(comparison.agreement >= 0.95 && comparison.maxAbsLogitDelta > 0);
    // The accuracy counts the dataset's 0/1 labels (the demo model scores about 84% on SST-2 dev).
    assert.ok(comparison.accuracyFp32! > 0.6 && comparison.accuracyInt8! > 0.6);
    assert.match(printed, /\| int8 \| sorted \|/);
    assert.match(printed, /labels agree on \d+\.\d\d%; accuracy on the dataset labels: fp32 /);
    await assert.rejects(
      runBench([], { ...options, dtype: 'fp32', labelColumn: 'label' }),
      (e: unknown) => e instanceof InputError && e.argument === '--label-column',
    );
  },
);

test(
  'bench errors name the flag',
  { skip: skipUnlessShared('fixtures', 'models', 'bert-model') },
  async () => {
    await assert.rejects(
      runBench(['x'], { limit: '0' }),
      (e: unknown) => e instanceof InputError && e.argument === '--limit',
    );
    await assert.rejects(
      runBench(['x'], {
        model: sharedPath('fixtures', 'models', 'bert-model'),
        task: 'classify',
        tokenizer: DEMO,
      }),
      (e: unknown) => e instanceof InputError && e.argument === '--task',
    );
  },
);
