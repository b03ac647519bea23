/**
 * Bounded memory on one very long text (issue 15 item 6): `seqbatch classify --long-inputs sliding-window` over a
 * 10 MB line, in a real process, with the real demo tokenizer. Before, tokenising such a line took ~1.2 GB and
 * its windows ~1.5 GB more; now the text is tokenised piece by piece into one Int32Array of ids and its windows
 * are cut from it as the scheduler takes them, their logits combined as they arrive.
 *
 * The model part is made cheap (a 1-layer, 8-wide DistilBERT with the demo's vocabulary and tokenizer) so the
 * ~45,000 windows run in seconds; the text, the tokenizer and every window are real.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { after, before, test } from 'node:test';
import { makeRandomCheckpoint } from '../scripts/make-random-checkpoint.js';
import { bookLine, peakRssMb, TINY_DEMO_SHAPE, writePeakRssPreload } from '../bench/lib/long-line.js';
import { compileCli } from './helpers/compiled-cli.js';
import { sharedPath, skipUnlessShared } from './helpers/shared.js';

const skip = skipUnlessShared('datasets', 'gutenberg') || skipUnlessShared('models', 'seqbatch-demo-sst2');
const WORK = mkdtempSync(join(tmpdir(), 'seqbatch-long-inputs-memory-'));
after(() => rmSync(WORK, { recursive: true, force: true }));

/**
 * Peak RSS growth allowed for the 10 MB line over the same command on a short line. What must stay is the text
 * (the input row, ~20 MB as a UTF-16 string, and the reader's copy) and its 2.9 million token ids (11 MB, up to
 * twice that while the array grows): about 90 MB. The rest is a window of rows in the scheduler, one 64 K piece
 * of text in the tokenizer, and garbage V8 collects when it sees fit (window rows, batch tensors): measured
 * +170 MB alone and +225 MB beside the rest of the suite. Before: +1,900 MB.
 */
const GROWTH_LIMIT_MB = 400;

let cliArgs: (args: readonly string[]) => string[];
let model = '';
let preload = '';

before(async () => {
  if (skip) return;
  cliArgs = await compileCli(join(WORK, 'cli'));
  model = join(WORK, 'tiny-demo');
  const referenceDir = sharedPath('models', 'seqbatch-demo-sst2');
  await makeRandomCheckpoint(model, { ...TINY_DEMO_SHAPE, referenceDir });
  // Reports the process's peak RSS (kB) as it exits: Node gives no way to read a child's rusage.
  preload = join(WORK, 'peak-rss.mjs');
  writePeakRssPreload(preload);
});

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
  peakMb: number;
}

function classify(input: string, extra: string[] = []): Promise<Run> {
  const args = ['--import', pathToFileURL(preload).href, ...cliArgs(['classify', '--model', model])];
  const child = spawn(
    process.execPath,
    [...args, '-i', input, '--long-inputs', 'sliding-window', '--no-progress', '--threads', '1', ...extra],
    { env: { ...process.env, SEQBATCH_CACHE: join(WORK, 'cache') }, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  return new Promise((resolve) =>
    child.on('exit', (code) => {
      resolve({ code, stdout, stderr, peakMb: peakRssMb(stderr) });
    }),
  );
}

test(
  `classify --long-inputs sliding-window on a 10 MB line grows peak RSS by under ${GROWTH_LIMIT_MB} MB`,
  { skip },
  async (t) => {
    const short = join(WORK, 'short.txt');
    writeFileSync(short, `${bookLine(sharedPath(), 2000)}\n`);
    const long = join(WORK, 'long.txt');
    const line = bookLine(sharedPath(), 10 * 1024 * 1024);
    writeFileSync(long, `${line}\n`);

    const base = await classify(short);
    assert.equal(base.code, 0, base.stderr);
    const big = await classify(long);
    assert.equal(big.code, 0, big.stderr);
    const row = JSON.parse(big.stdout) as { label: string; score: number };
    assert.ok(['NEGATIVE', 'POSITIVE'].includes(row.label) && row.score >= 0.5, big.stdout);
    const growth = big.peakMb - base.peakMb;
    t.diagnostic(
      `peak RSS: ${base.peakMb.toFixed(0)} MB (short line), ${big.peakMb.toFixed(0)} MB (10 MB line)`,
    );
    assert.ok(
      growth < GROWTH_LIMIT_MB,
      `peak RSS ${big.peakMb.toFixed(0)} MB on the 10 MB line vs ${base.peakMb.toFixed(0)} MB on a short one`,
    );
  },
);
