/**
 * `seqbatch viz` end to end: the report for 40 SST-2 dev sentences and a long Gutenberg text, written by the
 * command, opened in headless Chromium. The page must hold every section, the grids the right number of rows, the
 * waste table the padding arithmetic recomputed here from the Rust tokenizer's lengths, one attention map per
 * layer and head, and as many windows as the stride arithmetic gives. A screenshot is saved for a human to look at.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { Tokenizer as RustTokenizer } from 'tokenizers';
import { runViz } from '../src/cli/commands/viz.js';
import { InputError } from '../src/errors.js';
import { PreTrainedModel } from '../src/models/auto.js';
import { collectAttention } from '../src/viz/collect.js';
import { Tokenizer } from '../src/tokenizers/tokenizer.js';
import { REPO_ROOT, sharedPath, skipUnlessShared, sst2Sentences } from './helpers/shared.js';

const MODEL = join(REPO_ROOT, 'models', 'seqbatch-demo-sst2');
const CHROMIUM = '/usr/bin/chromium';
const WORK = mkdtempSync(join(tmpdir(), 'seqbatch-viz-'));
/** Screenshots go to SEQBATCH_TEST_OUT (kept) or a temp folder. */
const SHOTS = process.env.SEQBATCH_TEST_OUT ?? join(tmpdir(), 'seqbatch-viz-shots');
after(() => rmSync(WORK, { recursive: true, force: true }));

const BATCH = 8;
const GRID_ROWS = 12;
const TEXTS = 40;
const LONG_CHARS = 3000;
const WINDOW = 64;
const STRIDE = 16;

function devSentences(n: number): string[] {
  return sst2Sentences('dev', n);
}

/** Padded tokens of each strategy, from the lengths alone (the arithmetic the table must show). */
function expectedWaste(lengths: number[], batchSize: number, maxLength: number) {
  const clipped = lengths.map((n) => Math.min(n, maxLength));
  const real = clipped.reduce((a, b) => a + b, 0);
  const chunks = (order: number[]) => {
    const out: number[][] = [];
    for (let i = 0; i < order.length; i += batchSize) out.push(order.slice(i, i + batchSize));
    return out;
  };
  const padded = (order: number[]) =>
    chunks(order).reduce((sum, rows) => sum + rows.length * Math.max(...rows.map((r) => clipped[r]!)), 0);
  const inOrder = lengths.map((_, i) => i);
  const sorted = [...inOrder].sort((a, b) => clipped[a]! - clipped[b]! || a - b);
  return {
    none: { real, computed: real },
    longest: { real, computed: padded(inOrder) },
    max_length: { real, computed: lengths.length * maxLength },
    sorted: { real, computed: padded(sorted) },
  };
}

const skip =
  skipUnlessShared('datasets', 'sst2', 'dev.tsv') ||
  skipUnlessShared('datasets', 'gutenberg') ||
  (existsSync(CHROMIUM) ? false : `skipped: no Chromium at ${CHROMIUM} (apt-get install chromium)`);

test(
  'viz report in headless Chromium: sections, grid rows, waste table, attention maps, windows',
  { skip, timeout: 120_000 },
  async (t) => {
    const texts = devSentences(TEXTS);
    const inputFile = join(WORK, 'texts.txt');
    writeFileSync(inputFile, texts.join('\n') + '\n');
    const longFile = sharedPath('datasets', 'gutenberg', 'alice-in-wonderland_11-0.txt');
    const output = join(WORK, 'report.html');
    const summary = await runViz([], {
      input: inputFile,
      output,
      attentionText: '2',
      longText: longFile,
      longTextChars: String(LONG_CHARS),
      windowLength: String(WINDOW),
      stride: String(STRIDE),
      batchSize: String(BATCH),
      gridRows: String(GRID_ROWS),
      graphCache: false,
    });
    assert.equal(summary.texts, TEXTS);

    // Independent lengths: the Rust core on the same tokenizer.json.
    const rust = RustTokenizer.fromString(readFileSync(join(MODEL, 'tokenizer.json'), 'utf8'));
    const lengths: number[] = [];
    for (const text of texts) lengths.push((await rust.encode(text)).getIds().length);
    const maxLength = 128;
    const waste = expectedWaste(lengths, BATCH, maxLength);
    const longText = readFileSync(longFile, 'utf8').slice(0, LONG_CHARS);
    const contentTokens = (await rust.encode(longText, null, { addSpecialTokens: false })).getIds().length;
    const perWindow = WINDOW - 2;
    const expectedWindows = 1 + Math.ceil(Math.max(0, contentTokens - perWindow) / (perWindow - STRIDE));

    const { chromium } = await import('playwright-core');
    const browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: [
        '--headless',
        '--no-sandbox',
        '--disable-gpu',
        '--disable-quic',
        '--no-first-run',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
      ],
    });
    try {
      const page = await browser.newPage({ viewport: { width: 1280, height: 1000 } });
      await page.goto(`file://${output}`);
      for (const id of ['tokens', 'waste', 'histogram', 'attention', 'windows']) {
        assert.equal(await page.locator(`section#${id}`).count(), 1, `section #${id}`);
      }
      assert.equal(await page.locator('#tokens ol.tokens > li').count(), GRID_ROWS);
      // The chips of the first text are its tokens, [CLS] … [SEP].
      const firstChips = await page.locator('#tokens .chips[data-row="0"] .tok').allTextContents();
      assert.deepEqual(firstChips, (await rust.encode(texts[0]!)).getTokens());

      for (const strategy of ['none', 'longest', 'max_length', 'sorted'] as const) {
        const grid = page.locator(`section.grid[data-strategy="${strategy}"]`);
        assert.equal(await grid.locator('.grid-row').count(), GRID_ROWS, `${strategy} grid rows`);
        const cells = await page.locator(`#waste tr[data-strategy="${strategy}"] td`).allTextContents();
        const expected = waste[strategy];
        assert.equal(Number(cells[1]), Math.ceil(TEXTS / BATCH), `${strategy} batches`);
        assert.equal(Number(cells[2]), expected.real, `${strategy} real tokens`);
        assert.equal(Number(cells[3]), expected.computed, `${strategy} computed tokens`);
        assert.equal(cells[4], `${(100 * (1 - expected.real / expected.computed)).toFixed(1)}%`);
      }
      // Padding cells of the first 'longest' row: the batch's longest length minus the row's own.
      const firstBatchLongest = Math.max(...lengths.slice(0, BATCH));
      const longestRow0 = page.locator('section.grid[data-strategy="longest"] .grid-row[data-row="0"]');
      assert.equal(await longestRow0.locator('.cell.pad').count(), firstBatchLongest - lengths[0]!);
      assert.equal(await longestRow0.locator('.cell.real').count(), lengths[0]);

      // DistilBERT demo: 4 layers × 4 heads, each an n × n map of the second text.
      const n = lengths[1]!;
      assert.equal(await page.locator('#attention svg[data-layer]').count(), 16);
      assert.equal(await page.locator('#attention svg[data-layer="3"][data-head="3"] rect').count(), n * n);

      assert.equal(await page.locator('#windows li[data-window]').count(), expectedWindows);
      // Window i covers content tokens from i × (room − stride), `room` of them (the last one fewer).
      const ranges = await page.locator('#windows li[data-window]').allTextContents();
      ranges.forEach((text, i) => {
        const start = i * (perWindow - STRIDE);
        const end = Math.min(start + perWindow, contentTokens) - 1;
        assert.ok(text.startsWith(`tokens ${start}–${end}: [CLS]`), text);
      });
      assert.match(
        (await page.locator('#windows p').first().textContent()) ?? '',
        new RegExp(`^${contentTokens} content tokens, max length ${WINDOW}, stride ${STRIDE}`),
      );

      mkdirSync(SHOTS, { recursive: true });
      const shot = join(SHOTS, 'viz-report.png');
      await page.screenshot({ path: shot, fullPage: true });
      for (const id of ['waste', 'attention', 'windows']) {
        await page.locator(`section#${id}`).screenshot({ path: join(SHOTS, `viz-${id}.png`) });
      }
      t.diagnostic(`screenshots in ${SHOTS}`);
    } finally {
      await browser.close();
    }
  },
);

test('viz attention: the model attentions per layer, head, query and key; each query row a distribution', async () => {
  const tokenizer = await Tokenizer.fromPretrained(MODEL);
  const text = 'a gorgeous , witty , seductive movie .';
  const attention = await collectAttention(MODEL, tokenizer, text, 128, { cacheDir: false });
  // The same run through the model API, read with the tensor's own [batch, head, query, key] indexing.
  const model = await PreTrainedModel.fromPretrained(MODEL, 'base', {
    outputAttentions: true,
    cacheDir: false,
  });
  const output = await model.forward([tokenizer.encode(text)]);
  await model.dispose();
  const n = attention.tokens.length;
  attention.attentions.forEach((heads, l) =>
    heads.forEach((rows, h) => {
      for (let q = 0; q < n; q++) {
        for (let k = 0; k < n; k++) assert.equal(rows[q]![k], output.attentions![l]!.at(0, h, q, k));
      }
    }),
  );
  assert.equal(attention.attentions.length, 4);
  for (const head of attention.attentions.flat()) {
    assert.equal(head.length, attention.tokens.length);
    for (const row of head) {
      assert.ok(Math.abs(row.reduce((a, b) => a + b, 0) - 1) < 1e-5);
      assert.ok(row.every((p) => p >= 0));
    }
  }
});

test('viz errors name the flag', async () => {
  const output = join(WORK, 'bad.html');
  await assert.rejects(runViz(['one', 'two'], { output, attentionText: '3' }), (error: unknown) => {
    assert.ok(error instanceof InputError);
    assert.equal(error.argument, '--attention-text');
    return true;
  });
  await assert.rejects(
    runViz(['one'], { output, windowLength: '4096', longText: MODEL }),
    (error: unknown) => {
      assert.ok(error instanceof InputError);
      assert.equal(error.argument, '--window-length');
      return true;
    },
  );
  await assert.rejects(
    runViz(['one'], { output, attentionText: '0', longText: join(WORK, 'missing.txt') }),
    (error: unknown) => error instanceof InputError && error.argument === '--long-text',
  );
  await assert.rejects(
    runViz(['one'], { output: join(WORK, 'no', 'such', 'dir', 'r.html'), attentionText: '0' }),
    (error: unknown) => error instanceof InputError && error.argument === '--output',
  );
});
