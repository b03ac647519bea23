/**
 * Kill-and-resume: a child process runs the row driver with a slow fake model, is killed with SIGKILL mid-run,
 * then resumed with --resume; the output must hold every input row exactly once, in input order.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createRequire } from 'node:module';
import { existsSync, mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import test from 'node:test';
import { parse as parseCsv } from 'csv-parse/sync';
import { REPO_ROOT } from './helpers/shared.js';

const dir = mkdtempSync(join(tmpdir(), 'seqbatch-io-resume-'));
const ROWS = 240;

// The child parses real CLI flags with the shared commander options, like a task command would.
const childScript = join(dir, 'child.mts');
writeFileSync(
  childScript,
  `
import { Command } from ${JSON.stringify(pathToFileURL(createRequire(import.meta.url).resolve('commander')).href)};
import { addRowsOptions, rowsOptionsFrom, runRowsCommand } from ${JSON.stringify(pathToFileURL(join(REPO_ROOT, 'src/cli/io/index.ts')).href)};
const delayMs = Number(process.env.DELAY_MS ?? '0');
const program = new Command();
addRowsOptions(program.argument('[texts...]')).action(async (texts, options) => {
  await runRowsCommand(rowsOptionsFrom(texts, options), async (rows) => {
    await new Promise((resolve) => setTimeout(resolve, delayMs));
    // Long records make a write torn by the kill more likely.
    return rows.map((row) => ({ index: row.index, text: row.text, padding: 'x'.repeat(2000 + (row.index % 7) * 500) }));
  });
});
await program.parseAsync(process.argv);
`,
);

function runChild(args: string[], delayMs: number) {
  const child = spawn(process.execPath, ['--import', 'tsx', childScript, ...args], {
    cwd: REPO_ROOT,
    env: { ...process.env, DELAY_MS: String(delayMs) },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null; stderr: string }>(
    (resolve) => child.on('exit', (code, signal) => resolve({ code, signal, stderr })),
  );
  return { child, exited };
}

function sizeOf(path: string): number {
  try {
    return statSync(path).size;
  } catch {
    return 0;
  }
}

async function killMidRun(args: string[], output: string): Promise<void> {
  const { child, exited } = runChild(args, 15);
  let running = true;
  void exited.then(() => (running = false));
  // Wait until some but not all rows are out (each row is over 2 kB), then kill without warning.
  const deadline = Date.now() + 20_000;
  while (running && sizeOf(output) < 40 * 2000 && Date.now() < deadline)
    await new Promise((r) => setTimeout(r, 5));
  child.kill('SIGKILL');
  const result = await exited;
  assert.equal(result.signal, 'SIGKILL', `child should have been killed mid-run; stderr: ${result.stderr}`);
}

for (const format of ['jsonl', 'csv'] as const) {
  test(
    `SIGKILL mid-run, then --resume: every row exactly once, in order (${format})`,
    { timeout: 60_000 },
    async () => {
      const input = join(dir, `input-${format}.txt`);
      writeFileSync(
        input,
        Array.from({ length: ROWS }, (_, i) => `row number ${i}, "quoted"`).join('\n') + '\n',
      );
      const output = join(dir, `output.${format}`);
      const args = ['-i', input, '-o', output, '--format', format, '--batch-size', '4'];

      // A run without --resume writes a work file beside the output; killed outright, it leaves that file behind.
      const work = `${output}.partial`;
      await killMidRun(args, work);
      assert.ok(!existsSync(output), 'the output appears only when a run ends');
      const partial = readFileSync(work, 'utf8');
      const partialRows =
        format === 'jsonl' ? partial.split('\n').length - 1 : partial.split('\n').length - 2;
      assert.ok(partialRows > 0 && partialRows < ROWS, `killed run wrote ${partialRows} complete rows`);

      const resumed = await runChild([...args, '--resume'], 0).exited;
      assert.equal(resumed.code, 0, resumed.stderr);
      assert.ok(!existsSync(work), '--resume continued the work file and renamed it into place');

      const text = readFileSync(output, 'utf8');
      const records =
        format === 'jsonl'
          ? text
              .trimEnd()
              .split('\n')
              .map((line) => JSON.parse(line) as { index: number; text: string })
          : (parseCsv(text, { columns: true }) as { index: string; text: string }[]).map((r) => ({
              index: Number(r.index),
              text: r.text,
            }));
      assert.equal(records.length, ROWS);
      records.forEach((record, i) => {
        assert.equal(record.index, i);
        assert.equal(record.text, `row number ${i}, "quoted"`);
      });
    },
  );
}
