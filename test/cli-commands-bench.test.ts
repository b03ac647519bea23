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
    assert.match(printed, /\| sorted \| \d+ \| \d+\.\d% \|/);
    assert.match(
      printed,
      new RegExp(`\\| input-order \\| ${N / BATCH} \\| ${(100 * (1 - real / padded)).toFixed(1)}% \\|`),
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
