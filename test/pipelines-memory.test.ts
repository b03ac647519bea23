/**
 * Each ONNX Runtime session holds a full copy of the weights, so a pipeline run opens a second graph only when it
 * pays: under the default `packed: 'auto'` a length-sorted run stays on the padded graph opened at load, and the
 * packed graph opens for a batch that wastes enough padding. `false` and `true` open only their own graph. And the
 * packed graph must give every task what the padded graph gives (tiny fixture checkpoints, ≤ 1e-5).
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import type { BatchEvent } from '../src/batching/index.js';
import { pipeline, type PipelineOptions } from '../src/pipelines/index.js';
import { loadPipelineEngine } from '../src/server/pipeline-engine.js';
import {
  fixtureCheckpoint,
  fixtureTokenizer,
  labelConfig,
  NER_LABELS,
} from './helpers/fixture-checkpoints.js';
import { deepCloseAsserter } from './helpers/assert-close.js';
import { skipUnlessShared } from './helpers/shared.js';

const skip = skipUnlessShared('fixtures', 'models');
const WORK = mkdtempSync(join(tmpdir(), 'seqbatch-pipelines-memory-'));
after(() => rmSync(WORK, { recursive: true, force: true }));

const OPTIONS = { tokenizer: fixtureTokenizer(), cacheDir: false as const };
const assertClose = deepCloseAsserter(1e-5, 'result');

/** Mixed lengths, in pairs of equal length so that length-sorted batches of two have no padding at all. */
const TEXTS = [
  'the cat sat on the mat .',
  'where is paris ?',
  'the old red car was on the road and the big green tree was in the sun .',
  'who is john ?',
  'zebra',
  'the dog sat on the mat .',
  'fish',
  'john lives in new york',
  'the old blue car was on the road and the big green tree was in the sun .',
  'bird',
];

/** Runs `texts` and returns the results and the batches the scheduler formed. */
async function runWithBatches(
  run: (texts: string[], options: Record<string, unknown>) => Promise<unknown>,
  options: Record<string, unknown>,
): Promise<{ results: unknown; batches: BatchEvent[] }> {
  const batches: BatchEvent[] = [];
  const results = await run(TEXTS, { ...options, onBatch: (e: BatchEvent) => batches.push(e) });
  return { results, batches };
}

const unpadded = (e: BatchEvent): boolean => e.realTokens === e.indices.length * e.paddedLength;

/** About 58 tokens with [CLS] and [SEP]: beside single words, a batch wastes hundreds of padding positions. */
const LONG = Array(8).fill('the cat sat on the mat .').join(' ');

test(
  "the default 'auto' keeps a sorted run on one session and opens the packed graph only for heavy padding",
  { skip },
  async () => {
    const dir = fixtureCheckpoint(WORK, 'bert-seqcls');
    const classify = await pipeline('text-classification', dir, OPTIONS);
    const reference = await pipeline('text-classification', dir, { ...OPTIONS, packed: false });
    try {
      const run = (t: string[], o: Record<string, unknown>) => classify.run(t, o);
      const sorted = await runWithBatches(run, { batchSize: 2 });
      assert.ok(sorted.batches.some(unpadded), 'a sorted batch without padding');
      assert.equal(classify.model.loadLayout, 'padded');
      // Input-order batches of three short texts carry padding, but too little to be worth a second session.
      const inputOrder = await runWithBatches(run, { batchSize: 3, sortByLength: false });
      assert.ok(
        inputOrder.batches.some((e) => !unpadded(e)),
        'an input-order batch with padding',
      );
      assert.deepEqual(classify.model.openLayouts, ['padded'], 'one session so far');
      assert.equal(classify.model.packedRuns, 0);
      // One long text among single words: mostly padding, hundreds of positions: the packed graph opens and runs it.
      const heavy = [LONG, 'fish', 'bird', 'zebra', 'cat', 'dog', 'mat', 'sun'];
      const options = { batchSize: heavy.length, sortByLength: false, topK: null };
      const got = await classify.run(heavy, options);
      assert.deepEqual(classify.model.openLayouts, ['padded', 'packed']);
      assert.equal(classify.model.packedRuns, 1);
      assertClose(got, await reference.run(heavy, options), 'heavy batch');
    } finally {
      await classify.dispose();
      await reference.dispose();
    }
  },
);

test(
  'packed: true keeps a batch of mixed lengths whole (padding costs nothing there); the default cuts it',
  { skip },
  async () => {
    const dir = fixtureCheckpoint(WORK, 'distilbert-seqcls');
    const packed = await pipeline('text-classification', dir, { ...OPTIONS, packed: true });
    const padded = await pipeline('text-classification', dir, { ...OPTIONS, packed: false });
    try {
      const options = { batchSize: TEXTS.length, topK: null };
      const whole = await runWithBatches((t, o) => packed.run(t, o), options);
      assert.equal(whole.batches.length, 1, 'one batch');
      assert.equal(packed.model.packedRuns, 1);
      const cut = await runWithBatches((t, o) => padded.run(t, o), options);
      assert.ok(
        cut.batches.length > 1,
        `the padded graph's plan cuts by length: ${cut.batches.length} batches`,
      );
      assertClose(whole.results, cut.results, 'packed whole batch vs padded cut batches');
      // An explicit batchOverheadTokens still rules.
      const explicit = await runWithBatches((t, o) => packed.run(t, o), {
        ...options,
        batchOverheadTokens: 0,
      });
      assert.ok(explicit.batches.length > 1);
    } finally {
      await packed.dispose();
      await padded.dispose();
    }
  },
);

test('packed: false and true open only their own graph', { skip }, async () => {
  const dir = fixtureCheckpoint(WORK, 'distilbert-seqcls');
  for (const packed of [false, true]) {
    const classify = await pipeline('text-classification', dir, { ...OPTIONS, packed });
    try {
      const { batches } = await runWithBatches((t, o) => classify.run(t, o), {
        sortByLength: false,
        batchSize: 4,
      });
      const layout = packed ? 'packed' : 'padded';
      assert.deepEqual(classify.model.openLayouts, [layout], `packed: ${packed}`);
      assert.equal(classify.model.packedRuns, packed ? batches.length : 0);
    } finally {
      await classify.dispose();
    }
  }
});

test('models without a packed graph run padded on one session under the default', { skip }, async () => {
  // Attention probabilities only come from the padded graph; Longformer has no packed graph at all.
  const cases: [string, PipelineOptions][] = [
    ['bert-model', { outputAttentions: true }],
    ['longformer-model', {}],
  ];
  for (const [name, options] of cases) {
    const embed = await pipeline('feature-extraction', fixtureCheckpoint(WORK, name), {
      ...OPTIONS,
      ...options,
    });
    try {
      const vectors = (await embed.run(TEXTS.slice(0, 4), { batchSize: 4 })) as number[][][];
      assert.equal(vectors.length, 4);
      assert.equal(embed.model.loadLayout, 'padded', name);
      assert.deepEqual(embed.model.openLayouts, ['padded'], name);
      assert.equal(embed.model.packedRuns, 0, name);
    } finally {
      await embed.dispose();
    }
  }
});

test('every task gives on the packed graph what the padded graph gives (≤ 1e-5)', { skip }, async () => {
  // packed: true runs every batch packed; 'auto' would keep these small batches padded.
  const ner = labelConfig(NER_LABELS);
  const tasks: [string, string, Record<string, unknown>, unknown[]][] = [
    ['text-classification', 'roberta-seqcls', { topK: null }, TEXTS],
    ['feature-extraction', 'electra-model', {}, TEXTS],
    ['token-classification', 'bert-tokcls', { config: ner, ignoreLabels: [] }, TEXTS],
    ['fill-mask', 'bert-mlm', { topK: 3 }, TEXTS.slice(0, 4).map((t) => `${t} [MASK]`)],
    [
      'question-answering',
      'distilbert-qa',
      {},
      TEXTS.slice(0, 4).map((context) => ({ question: 'where is the cat ?', context })),
    ],
  ];
  for (const [task, name, { config, ...callOptions }, inputs] of tasks) {
    const dir = fixtureCheckpoint(WORK, name, { config: config as Record<string, unknown> | undefined });
    const load = (packed: boolean | 'auto') =>
      pipeline(task as 'feature-extraction', dir, { ...OPTIONS, packed }) as Promise<{
        run(i: unknown[], o: Record<string, unknown>): Promise<unknown>;
        model: { openLayouts: string[]; packedRuns: number };
        dispose(): Promise<void>;
      }>;
    const padded = await load(false);
    const packedRun = await load(true);
    try {
      // Input order, so most batches carry padding that the packed graph leaves out.
      const options = { ...callOptions, sortByLength: false, batchSize: 3 };
      const want = await padded.run(inputs, options);
      const got = await packedRun.run(inputs, options);
      assertClose(got, want, task);
      assert.ok(packedRun.model.packedRuns > 0, `${task}: ran packed`);
      assert.deepEqual(packedRun.model.openLayouts, ['packed'], task);
    } finally {
      await padded.dispose();
      await packedRun.dispose();
    }
  }
});

test(
  'openLayout opens the packed graph ahead of need, and nothing for a model without one',
  { skip },
  async () => {
    const classify = await pipeline(
      'text-classification',
      fixtureCheckpoint(WORK, 'electra-seqcls'),
      OPTIONS,
    );
    const longformer = await pipeline(
      'feature-extraction',
      fixtureCheckpoint(WORK, 'longformer-seqcls'),
      OPTIONS,
    );
    try {
      assert.deepEqual(
        classify.model.openLayouts,
        ['padded'],
        'a pipeline opens only the padded graph at load',
      );
      assert.equal(await classify.model.openLayout('packed'), true);
      assert.deepEqual(classify.model.openLayouts, ['padded', 'packed']);
      // With the packed graph open, a batch over 5% padding runs packed however little it wastes.
      await classify.run(['the cat sat on the mat .', 'fish'], { batchSize: 2, sortByLength: false });
      assert.equal(classify.model.packedRuns, 1);
      assert.equal(await longformer.model.openLayout('packed'), false);
      assert.deepEqual(longformer.model.openLayouts, ['padded']);
    } finally {
      await classify.dispose();
      await longformer.dispose();
    }
  },
);

test(
  'a server engine loads packed-only models and falls back to auto for Longformer, with the same answers',
  { skip },
  async () => {
    const items = [{ text: 'the cat sat on the mat .' }, { text: 'fish' }];
    const CLASSIFY = { truncate: false, rawScores: false };
    for (const name of ['roberta-seqcls', 'longformer-seqcls']) {
      const dir = fixtureCheckpoint(WORK, name, { withTokenizer: true }); // a folder of its own
      const engine = await loadPipelineEngine(dir, ['classify'], OPTIONS);
      const padded = await loadPipelineEngine(dir, ['classify'], { ...OPTIONS, packed: false });
      try {
        assertClose(await engine.classify(items, CLASSIFY), await padded.classify(items, CLASSIFY), name);
      } finally {
        await engine.close!();
        await padded.close!();
      }
    }
  },
);
