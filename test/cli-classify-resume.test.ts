/**
 * Kill-and-resume through `seqbatch classify` itself: the real program runs on the 872 SST-2 dev sentences in
 * a child process, is killed with SIGKILL mid-run, and is run again with --resume. The output must then hold every
 * input row exactly once, in input order, with the predictions an uninterrupted run gives.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { after, test } from 'node:test';
import { runClassify } from '../src/cli/commands/classify.js';
import { skipUnlessShared, sst2Sentences } from './helpers/shared.js';
import { cliNodeArgs } from './helpers/cli-process.js';

const WORK = mkdtempSync(join(tmpdir(), 'seqbatch-classify-resume-'));
after(() => rmSync(WORK, { recursive: true, force: true }));

const COPIES = 1;
const KILL_AFTER_ROWS = 100;

function cli(args: string[]) {
  return spawn(process.execPath, cliNodeArgs(args), { stdio: ['ignore', 'ignore', 'pipe'] });
}

function lineCount(file: string): number {
  if (!existsSync(file)) return 0;
  return readFileSync(file, 'utf8').split('\n').length - 1;
}

test(
  'classify killed with SIGKILL and resumed: every row once, in order, as an uninterrupted run',
  { skip: skipUnlessShared('datasets', 'sst2', 'dev.tsv'), timeout: 180_000 },
  async () => {
    const sentences = sst2Sentences('dev').map((sentence) => sentence.trim());
    // Each row is tagged with its number so a duplicated or missing row cannot hide behind a repeated sentence.
    const texts = Array.from({ length: COPIES }, () => sentences)
      .flat()
      .map((s, i) => `${s} ( ${i} )`);
    const input = join(WORK, 'in.txt');
    writeFileSync(input, texts.join('\n') + '\n');
    const output = join(WORK, 'out.jsonl');
    const work = `${output}.partial`;
    // Chunks of the resumed run fall elsewhere, so padding differs: logits agree to float rounding (1e-5).
    const args = [
      'classify',
      '-i',
      input,
      '-o',
      output,
      '--logits',
      '--batch-size',
      '8',
      '--threads',
      '1',
      '--no-graph-cache',
    ];

    const first = cli(args);
    let stderr = '';
    first.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const exited = new Promise<number | null>((resolve) => first.on('exit', (code) => resolve(code)));
    let killed = false;
    while (!killed) {
      if (first.exitCode !== null) break;
      // A run without --resume writes beside the output until it ends; killed outright, it leaves that work file.
      if (lineCount(work) >= KILL_AFTER_ROWS) {
        first.kill('SIGKILL');
        killed = true;
        break;
      }
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    await exited;
    assert.ok(killed, `the first run ended before it could be killed (${stderr})`);
    const partial = lineCount(work);
    assert.ok(partial < texts.length, `killed after ${partial} of ${texts.length} rows`);

    const second = cli([...args, '--resume']);
    let stderr2 = '';
    second.stderr.on('data', (chunk: Buffer) => (stderr2 += chunk.toString()));
    const code = await new Promise<number | null>((resolve) => second.on('exit', (c) => resolve(c)));
    assert.equal(code, 0, stderr2);

    const resumed = readFileSync(output, 'utf8')
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line));
    assert.equal(resumed.length, texts.length);

    // The uninterrupted run, in process.
    const stdout = new PassThrough();
    let clean = '';
    stdout.on('data', (chunk: Buffer) => (clean += chunk.toString()));
    await runClassify(
      texts,
      { logits: true, batchSize: '8', threads: '1', graphCache: false, progress: false },
      { stdout },
    );
    const expected = clean
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line));
    resumed.forEach((row, i) => {
      assert.equal(row.label, expected[i].label, `row ${i}`);
      row.logits.forEach((x: number, j: number) =>
        assert.ok(Math.abs(x - expected[i].logits[j]) < 1e-5, `row ${i} logit ${j}`),
      );
    });
  },
);
