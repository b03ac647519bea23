/**
 * Streaming many short texts through a pipeline keeps memory bounded: the scheduler holds one window of rows,
 * finished inputs are released as they are yielded. 100,000 texts by default; 1,000,000 with
 * SEQBATCH_LONG_TESTS=1.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { pipeline } from '../src/pipelines/index.js';
import { fixtureTokenizer } from './helpers/fixture-checkpoints.js';
import { sharedPath, skipUnlessShared } from './helpers/shared.js';

setFlagsFromString('--expose_gc');
const gc = runInNewContext('gc') as () => void;

const WORDS = 'the cat sat on mat dog paris is in france what where who big small red'.split(' ');

const COUNT = process.env.SEQBATCH_LONG_TESTS === '1' ? 1_000_000 : 100_000;

test(
  `streaming ${COUNT.toLocaleString('en')} short texts keeps memory bounded`,
  { skip: skipUnlessShared('fixtures', 'models') },
  async () => {
    const classify = await pipeline(
      'text-classification',
      sharedPath('fixtures', 'models', 'distilbert-seqcls'),
      {
        tokenizer: fixtureTokenizer(['[PAD]', '[UNK]', '[CLS]', '[SEP]', '[MASK]', ...WORDS]),
        cacheDir: false,
        batchSize: 512,
        maxBatchTokens: Infinity,
      },
    );
    async function* texts() {
      for (let i = 0; i < COUNT; i++) yield WORDS.slice(i % 7, (i % 7) + 1 + (i % 5)).join(' ');
    }
    let seen = 0;
    let checkpoint = 0;
    let baseline = { heap: 0, rss: 0 };
    let peak = { heap: 0, rss: 0 };
    const sample = () => {
      gc();
      const m = process.memoryUsage();
      return { heap: m.heapUsed, rss: m.rss };
    };
    for await (const result of classify.run(texts())) {
      assert.ok(typeof (result as { label: string }).label === 'string');
      seen++;
      if (seen === 10_000) baseline = sample();
      if (seen > 10_000 && seen - checkpoint >= COUNT / 10) {
        checkpoint = seen;
        const now = sample();
        peak = { heap: Math.max(peak.heap, now.heap), rss: Math.max(peak.rss, now.rss) };
      }
    }
    assert.equal(seen, COUNT);
    const stats = classify.lastRunStats!;
    assert.equal(stats.sequences, COUNT);
    const mb = (n: number) => (n / 2 ** 20).toFixed(1);
    const heapGrowth = peak.heap - baseline.heap;
    const rssGrowth = peak.rss - baseline.rss;
    console.log(
      `${COUNT} texts in ${(stats.elapsedMs / 1000).toFixed(1)} s (${Math.round(stats.sequencesPerSecond)}/s), ` +
        `${stats.batches} batches, padding ${(stats.paddingRatio * 100).toFixed(1)}%, ` +
        `heap growth ${mb(heapGrowth)} MB, RSS growth ${mb(rssGrowth)} MB`,
    );
    assert.ok(heapGrowth < 16 * 2 ** 20, `heap grew by ${mb(heapGrowth)} MB`);
    assert.ok(rssGrowth < 96 * 2 ** 20, `RSS grew by ${mb(rssGrowth)} MB`);
    await classify.dispose();
  },
);
