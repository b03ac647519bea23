import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough, Readable, Writable } from 'node:stream';
import test from 'node:test';
import { Command, CommanderError } from 'commander';
import { parse as parseCsv } from 'csv-parse/sync';
import { InputError } from '../src/errors.js';
import {
  addRowsOptions,
  openRowWriter,
  rowsOptionsFrom,
  runRowsCommand,
  scanOutputFile,
  type InputRow,
  type RowsCliOptions,
} from '../src/cli/io/index.js';

const dir = mkdtempSync(join(tmpdir(), 'seqbatch-io-output-'));
let counter = 0;
const fresh = (ext: string): string => join(dir, `out-${counter++}.${ext}`);

function collect(stream: PassThrough): () => string {
  const chunks: Buffer[] = [];
  stream.on('data', (chunk: Buffer) => chunks.push(chunk));
  return () => Buffer.concat(chunks).toString('utf8');
}

/** A processBatch whose batches finish in reverse order of start, to prove output order is input order. */
function shuffledDelays(record: (row: InputRow) => Record<string, unknown>) {
  const batches: number[] = [];
  let started = 0;
  const processBatch = async (rows: InputRow[]) => {
    batches.push(rows.length);
    const delay = 30 - (started++ % 3) * 10;
    await new Promise((resolve) => setTimeout(resolve, delay));
    return rows.map(record);
  };
  return { processBatch, batches };
}

test('jsonl to stdout: one record per row, input order kept even when later batches finish first', async () => {
  const stdout = new PassThrough();
  const output = collect(stdout);
  const texts = Array.from({ length: 23 }, (_, i) => `text ${i}`);
  const { processBatch, batches } = shuffledDelays((row) => ({ index: row.index, text: row.text }));
  const summary = await runRowsCommand(
    { input: { texts }, output: {}, batchSize: 5, concurrency: 3, progress: false },
    processBatch,
    { stdout },
  );
  assert.deepEqual(summary, { skipped: 0, written: 23 });
  assert.deepEqual(batches, [5, 5, 5, 5, 3]);
  const lines = output()
    .trimEnd()
    .split('\n')
    .map((line) => JSON.parse(line));
  assert.deepEqual(
    lines,
    texts.map((text, index) => ({ index, text })),
  );
});

test('csv output quotes commas, quotes and newlines and JSON-encodes nested values; csv-parse reads it back', async () => {
  const path = fresh('csv');
  const texts = ['plain', 'comma, inside', 'say "hi"', 'two\nlines', ' lead space', 'ünïcödé 😀'];
  await runRowsCommand(
    { input: { texts }, output: { file: path }, batchSize: 4, progress: false },
    async (rows) =>
      rows.map((row) => ({ text: row.text, scores: [row.index, 0.5], ok: row.index % 2 === 0, none: null })),
  );
  const raw = readFileSync(path, 'utf8');
  assert.ok(raw.startsWith('text,scores,ok,none\n'));
  assert.ok(raw.includes('"comma, inside"') && raw.includes('"say ""hi"""') && raw.includes('"two\nlines"'));
  const parsed = parseCsv(raw, { columns: true }) as Record<string, string>[];
  assert.deepEqual(
    parsed.map((r) => r.text),
    texts,
  );
  assert.deepEqual(JSON.parse(parsed[1]!.scores!), [1, 0.5]);
  assert.equal(parsed[0]!.ok, 'true');
  assert.equal(parsed[0]!.none, '');
});

test('a record field outside the CSV header is an error, not silently dropped', async () => {
  const writer = await openRowWriter({ file: fresh('csv'), columns: ['a'] });
  await assert.rejects(
    writer.write([{ a: 1, b: 2 }], [{ index: 0, text: 'x', line: 1 }]),
    /has a field "b" that is not a CSV column \(a\)/,
  );
  await writer.close();
});

test('processBatch must return one record per row', async () => {
  await assert.rejects(
    runRowsCommand(
      { input: { texts: ['a', 'b'] }, output: { stdout: new PassThrough() }, batchSize: 2, progress: false },
      async () => [{}],
    ),
    /returned 1 records for 2 rows/,
  );
});

test('rows finished before an input error are still written', async () => {
  const input = join(dir, 'bad-late.jsonl');
  writeFileSync(input, '{"text":"a"}\n{"text":"b"}\n{"text":"c"}\nnot json\n');
  const path = fresh('jsonl');
  await assert.rejects(
    runRowsCommand(
      { input: { file: input }, output: { file: path }, batchSize: 2, progress: false },
      async (rows) => rows.map((row) => ({ text: row.text })),
    ),
    /bad-late\.jsonl:4: malformed JSON line/,
  );
  assert.equal(readFileSync(path, 'utf8'), '{"text":"a"}\n{"text":"b"}\n');
});

test('resume trims a torn last line and skips the rows already written (jsonl)', async () => {
  const path = fresh('jsonl');
  writeFileSync(path, '{"index":0}\n{"index":1}\n{"ind');
  const scan = await scanOutputFile(path, false);
  assert.deepEqual([scan.records, scan.completeBytes, scan.totalBytes], [2, 24, 29]);
  const seen: number[] = [];
  const summary = await runRowsCommand(
    {
      input: { texts: ['a', 'b', 'c', 'd'] },
      output: { file: path, resume: true },
      batchSize: 10,
      progress: false,
    },
    async (rows) => rows.map((row) => (seen.push(row.index), { index: row.index })),
  );
  assert.deepEqual(summary, { skipped: 2, written: 2 });
  assert.deepEqual(seen, [2, 3]);
  assert.equal(readFileSync(path, 'utf8'), '{"index":0}\n{"index":1}\n{"index":2}\n{"index":3}\n');
});

test('resume of csv: keeps the header, counts records with quoted newlines, trims a torn quoted field', async () => {
  const path = fresh('csv');
  writeFileSync(path, 'index,text\n0,"multi\nline"\n1,"torn\n');
  const scan = await scanOutputFile(path, true);
  assert.equal(scan.records, 2, 'header + one record; the newline inside quotes does not end a record');
  assert.equal(scan.firstRecord, 'index,text');
  await runRowsCommand(
    {
      input: { texts: ['x', 'y', 'z'] },
      output: { file: path, resume: true },
      batchSize: 1,
      progress: false,
    },
    async (rows) => rows.map((row) => ({ index: row.index, text: row.text })),
  );
  assert.equal(readFileSync(path, 'utf8'), 'index,text\n0,"multi\nline"\n1,y\n2,z\n');
  // A missing or header-only file resumes from row 0, writing the header once.
  const empty = fresh('csv');
  await runRowsCommand(
    { input: { texts: ['x'] }, output: { file: empty, resume: true }, batchSize: 1, progress: false },
    async (rows) => rows.map((row) => ({ text: row.text })),
  );
  assert.equal(readFileSync(empty, 'utf8'), 'text\nx\n');
});

test('without --resume an existing output file is replaced', async () => {
  const path = fresh('jsonl');
  writeFileSync(path, '{"old":true}\n');
  await runRowsCommand(
    { input: { texts: ['n'] }, output: { file: path }, batchSize: 1, progress: false },
    async (rows) => rows.map(() => ({ new: true })),
  );
  assert.equal(readFileSync(path, 'utf8'), '{"new":true}\n');
});

test('commander options: defaults, validation, and a command action in a few lines', async () => {
  const input = join(dir, 'in.csv');
  writeFileSync(input, 'question,context\nwho?,me\nwhat?,it\n');
  const output = fresh('csv');
  const program = new Command().exitOverride().configureOutput({ writeErr: () => {} });
  const seen: InputRow[] = [];
  addRowsOptions(program.command('echo').argument('[texts...]')).action(
    async (texts: string[], options: RowsCliOptions) => {
      await runRowsCommand(rowsOptionsFrom(texts, options), async (rows) =>
        rows.map((row) => (seen.push(row), { question: row.text, context: row.textPair })),
      );
    },
  );
  await program.parseAsync(
    [
      'echo',
      '-i',
      input,
      '--column',
      'question',
      '--pair-column',
      'context',
      '-o',
      output,
      '--batch-size',
      '1',
    ],
    {
      from: 'user',
    },
  );
  assert.equal(readFileSync(output, 'utf8'), 'question,context\nwho?,me\nwhat?,it\n');
  assert.equal(seen.length, 2);

  const defaults = rowsOptionsFrom(['t'], {});
  assert.equal(defaults.batchSize, 32);
  assert.deepEqual(defaults.input.texts, ['t']);
  assert.equal(defaults.input.quote, '"');
  assert.equal(rowsOptionsFrom([], { quote: 'none' }).input.quote, null);
  assert.throws(
    () => rowsOptionsFrom([], { batchSize: '0' }),
    (e: unknown) => e instanceof InputError && e.argument === '--batch-size',
  );
  assert.throws(
    () => rowsOptionsFrom([], { quote: 'ab' }),
    (e: unknown) => e instanceof InputError && e.argument === '--quote',
  );
  assert.throws(
    () => rowsOptionsFrom([], { resume: true }),
    (e: unknown) => e instanceof InputError && e.argument === '--resume',
  );
  await assert.rejects(
    program.parseAsync(['echo', 'x', '--format', 'xml'], { from: 'user' }),
    (e: unknown) => e instanceof CommanderError && /Allowed choices are jsonl, csv/.test(e.message),
  );
});

test('progress is silent when stderr is not a TTY and drawn when it is', async () => {
  const quiet = new PassThrough() as PassThrough & { isTTY?: boolean };
  const quietOut = collect(quiet);
  await runRowsCommand(
    { input: { texts: ['a'] }, output: { stdout: new PassThrough() }, batchSize: 1 },
    async (rows) => rows.map(() => ({})),
    { stderr: quiet as unknown as NodeJS.WriteStream },
  );
  assert.equal(quietOut(), '');

  const tty = Object.assign(new PassThrough(), {
    isTTY: true,
    columns: 80,
    cursorTo() {},
    clearLine() {},
    moveCursor() {},
  });
  const ttyOut = collect(tty);
  const input = join(dir, 'progress.txt');
  writeFileSync(input, 'a\nb\nc\n');
  await runRowsCommand(
    { input: { file: input }, output: { stdout: new PassThrough() }, batchSize: 1 },
    async (rows) => {
      await new Promise((resolve) => setTimeout(resolve, 5));
      return rows.map(() => ({}));
    },
    { stderr: tty as unknown as NodeJS.WriteStream, stdin: Readable.from([]) },
  );
  assert.match(ttyOut(), /3\/3 rows \| [\d.]+ rows\/s/);
});

test('a reader that goes away (EPIPE, as with `| head`) ends the run quietly instead of crashing', async () => {
  let calls = 0;
  const closedPipe = new Writable({
    write(_chunk, _encoding, callback) {
      calls++;
      callback(Object.assign(new Error('write EPIPE'), { code: 'EPIPE' }));
    },
  });
  let batches = 0;
  const summary = await runRowsCommand(
    { input: { texts: ['a', 'b', 'c', 'd'] }, output: { stdout: closedPipe }, batchSize: 1, progress: false },
    async (rows) => (batches++, rows.map((row) => ({ text: row.text }))),
  );
  assert.deepEqual(summary, { skipped: 0, written: 0 });
  assert.equal(calls, 1);
  assert.equal(batches, 1, 'no more batches are processed once the reader is gone');
});
