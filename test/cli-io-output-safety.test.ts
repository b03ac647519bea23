/**
 * Output files are never damaged by a failed run, and --resume verifies before it trusts: the row driver with a
 * fake model, on real files, checked byte for byte.
 */
import assert from 'node:assert/strict';
import { appendFileSync, existsSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import test from 'node:test';
import { InputError } from '../src/errors.js';
import {
  manifestPath,
  runRowsCommand,
  WORK_FILE_SUFFIX,
  type InputRow,
  type InputSpec,
  type OutputSpec,
  type RunFingerprint,
} from '../src/cli/io/index.js';
import { durability, syncDirectoryOf } from '../src/cli/io/sync-directory.js';

const dir = mkdtempSync(join(tmpdir(), 'seqbatch-io-safety-'));
let counter = 0;
const fresh = (ext = 'jsonl'): string => join(dir, `out-${counter++}.${ext}`);
const texts = (n: number, tag = 'text') => Array.from({ length: n }, (_, i) => `${tag} ${i}`);
const RUN: RunFingerprint = { command: 'test', topK: '2' };

const record = (row: InputRow) => ({ index: row.index, upper: row.text.toUpperCase() });

function run(
  input: InputSpec,
  output: OutputSpec,
  processBatch: (rows: InputRow[]) => Promise<Record<string, unknown>[]> = async (rows) => rows.map(record),
  batchSize = 2,
) {
  return runRowsCommand({ input, output: { run: RUN, ...output }, batchSize, progress: false }, processBatch);
}

/** Every file of the output's family (the output, its work file, their manifests, temporaries). */
function family(output: string): Record<string, string> {
  const base = output.slice(dir.length + 1);
  return Object.fromEntries(
    readdirSync(dir)
      .filter((name) => name.startsWith(base))
      .map((name) => [name, readFileSync(join(dir, name), 'utf8')]),
  );
}

async function rejectsResume(promise: Promise<unknown>, pattern: RegExp): Promise<void> {
  await assert.rejects(promise, (error: unknown) => {
    assert.ok(error instanceof InputError, String(error));
    assert.match(error.message, pattern);
    assert.match(error.message, /run without --resume to replace it/, 'says how to start over');
    return true;
  });
}

const OLD = '{"label":"kept"}\n{"label":"from yesterday"}\n';

test('a run that fails before its first row leaves an existing output byte-identical (with or without --resume)', async () => {
  const failures: Array<[string, InputSpec, OutputSpec, RegExp]> = [
    [
      'missing input file',
      { file: join(dir, 'missing.tsv') },
      {},
      /missing\.tsv: cannot read input: file not found/,
    ],
    [
      'missing column',
      { file: writeInput('cols.csv', 'id,body\n1,x\n'), column: 'text' },
      {},
      /column "text"/,
    ],
    ['missing input, --resume', { file: join(dir, 'missing.tsv') }, { resume: true }, /file not found/],
  ];
  for (const [what, input, output, pattern] of failures) {
    const path = fresh();
    writeFileSync(path, OLD);
    await assert.rejects(run(input, { file: path, ...output }), pattern, what);
    assert.deepEqual(family(path), { [path.slice(dir.length + 1)]: OLD }, what);
  }
  // The model fails on the first batch (an over-long first row, say).
  for (const resume of [false, true]) {
    const path = fresh();
    writeFileSync(path, OLD + '{"label":"to');
    await assert.rejects(
      run({ texts: texts(4) }, { file: path, resume }, async () => {
        throw new InputError('argument 1: 302 tokens exceed the model maximum of 128');
      }),
      /302 tokens/,
    );
    assert.deepEqual(
      family(path),
      { [path.slice(dir.length + 1)]: OLD + '{"label":"to' },
      `resume ${resume}`,
    );
  }
});

test('a run that fails later puts every row finished before in place (and --resume continues it)', async () => {
  const path = fresh();
  writeFileSync(path, OLD);
  let calls = 0;
  await assert.rejects(
    run({ texts: texts(7) }, { file: path }, async (rows) => {
      if (++calls === 3) throw new Error('model failed on the third batch');
      return rows.map(record);
    }),
    /third batch/,
  );
  const expected = texts(4).map((text, index) => JSON.stringify({ index, upper: text.toUpperCase() }) + '\n');
  assert.equal(readFileSync(path, 'utf8'), expected.join(''));
  assert.ok(!existsSync(path + WORK_FILE_SUFFIX), 'the work file was renamed into place');
  assert.ok(existsSync(manifestPath(path)));
  const summary = await run({ texts: texts(7) }, { file: path, resume: true });
  assert.deepEqual(summary, { skipped: 4, written: 3 });
  const all = texts(7).map((text, index) => JSON.stringify({ index, upper: text.toUpperCase() }) + '\n');
  assert.equal(readFileSync(path, 'utf8'), all.join(''));
});

test('--resume refuses junk lines, edited rows, another input, other options and an output longer than the input', async () => {
  const base = fresh();
  await run({ texts: texts(6) }, { file: base });
  const good = readFileSync(base, 'utf8');
  const goodManifest = readFileSync(manifestPath(base), 'utf8');
  const cases: Array<[string, (path: string) => void, InputSpec, RunFingerprint, RegExp]> = [
    [
      'junk lines',
      (path) => appendFileSync(path, 'junk\nmore junk\n'),
      { texts: texts(8) },
      RUN,
      /2 line\(s\) \(15 bytes\) follow the 6 rows seqbatch wrote/,
    ],
    [
      'an edited row',
      (path) => writeFileSync(path, good.replace('TEXT 3', 'TEXT 9')),
      { texts: texts(8) },
      RUN,
      /the file was changed after seqbatch wrote it/,
    ],
    [
      'another input',
      () => {},
      { texts: texts(8, 'other') },
      RUN,
      /its 6 rows were made from other input rows than the first 6 of this input \(it was made from command-line texts\)/,
    ],
    [
      'other options',
      () => {},
      { texts: texts(8) },
      { command: 'test', topK: 'all', logits: true },
      /written by another run \(--top-k: "2" before, "all" now; --logits: not given before, true now\)/,
    ],
    [
      'an output longer than the input',
      () => {},
      { texts: texts(4) },
      RUN,
      /it holds 6 rows but the input has only 4/,
    ],
  ];
  for (const [what, damage, input, fingerprint, pattern] of cases) {
    const path = fresh();
    writeFileSync(path, good);
    writeFileSync(manifestPath(path), goodManifest);
    damage(path);
    const before = family(path);
    await rejectsResume(run(input, { file: path, resume: true, run: fingerprint }), pattern);
    assert.deepEqual(family(path), before, `${what}: nothing changed`);
  }
  // The same file, untouched, resumes: the checks are not simply refusing everything.
  const path = fresh();
  writeFileSync(path, good);
  writeFileSync(manifestPath(path), goodManifest);
  assert.deepEqual(await run({ texts: texts(8) }, { file: path, resume: true }), { skipped: 6, written: 2 });
});

test('a write torn by a kill (manifest updated, bytes half written) is cut and resumed from the state before', async () => {
  const path = fresh();
  await run({ texts: texts(4) }, { file: path });
  const complete = readFileSync(path, 'utf8');
  const manifest = JSON.parse(readFileSync(manifestPath(path), 'utf8'));
  // What the next write would have recorded before a kill cut its bytes short.
  const next = JSON.stringify({ index: 4, upper: 'TEXT 4' }) + '\n';
  writeFileSync(
    manifestPath(path),
    JSON.stringify({
      ...manifest,
      previous: manifest.state,
      state: {
        ...manifest.state,
        rows: 5,
        bytes: manifest.state.bytes + next.length,
        outputSha256: 'f'.repeat(64),
      },
    }),
  );
  appendFileSync(path, next.slice(0, 9));
  assert.deepEqual(await run({ texts: texts(6) }, { file: path, resume: true }), { skipped: 4, written: 2 });
  const all = texts(6).map((text, index) => JSON.stringify({ index, upper: text.toUpperCase() }) + '\n');
  assert.equal(readFileSync(path, 'utf8'), all.join(''));
  assert.ok(complete.length < all.join('').length);
});

test('a plain output without manifest resumes only when every line is a row of this command', async () => {
  const rows = (n: number) =>
    texts(n)
      .map((text, index) => JSON.stringify({ index, upper: text.toUpperCase() }) + '\n')
      .join('');
  // Written by an older version: resumed after the check, the torn last line cut.
  const ok = fresh();
  writeFileSync(ok, rows(3) + '{"index":3,"up');
  assert.deepEqual(await run({ texts: texts(5) }, { file: ok, resume: true }), { skipped: 3, written: 2 });
  assert.equal(readFileSync(ok, 'utf8'), rows(5));
  assert.ok(existsSync(manifestPath(ok)), 'from now on it has a manifest');

  const refused: Array<[string, string, RegExp]> = [
    ['junk', rows(2) + 'junk\n', /:3: cannot resume: this line is not JSON \("junk"\)/],
    ['an array', '[1,2]\n', /:1: cannot resume: this line holds a JSON array/],
    [
      'mixed keys',
      rows(1) + '{"label":"x"}\n',
      /:2: cannot resume: this row has the keys label where line 1 has index, upper/,
    ],
    [
      'another command',
      '{"label":"POSITIVE","score":0.9}\n',
      /written by another command or with other options \(its rows have the keys label, score, this run writes index, upper\)/,
    ],
    [
      'other options',
      '{"index":0,"upper":["TEXT 0"]}\n',
      /"upper" holds a array in its rows, a string in this run's/,
    ],
  ];
  for (const [what, content, pattern] of refused) {
    const path = fresh();
    writeFileSync(path, content);
    await rejectsResume(run({ texts: texts(5) }, { file: path, resume: true }), pattern);
    assert.deepEqual(family(path), { [path.slice(dir.length + 1)]: content }, what);
  }
  // CSV: the header and records of its width.
  const csv = fresh('csv');
  writeFileSync(csv, 'index,upper\n0,TEXT 0\n1\n');
  await rejectsResume(
    run({ texts: texts(3) }, { file: csv, resume: true }),
    /does not read as CSV rows under one header/,
  );
  writeFileSync(csv, 'index,upper\n0,TEXT 0\n');
  assert.deepEqual(await run({ texts: texts(3) }, { file: csv, resume: true }), { skipped: 1, written: 2 });
  assert.equal(readFileSync(csv, 'utf8'), 'index,upper\n0,TEXT 0\n1,TEXT 1\n2,TEXT 2\n');
});

test('--resume continues the work file a killed run left, then puts it in place', async () => {
  const path = fresh();
  writeFileSync(path, OLD);
  const work = path + WORK_FILE_SUFFIX;
  // What a run killed outright leaves: the old output untouched, the new rows in the work file.
  await assert.rejects(
    run({ texts: texts(6) }, { file: path }, async (rows) => {
      if (rows[0]!.index >= 2) throw new Error('killed');
      return rows.map(record);
    }),
  );
  const finished = readFileSync(path, 'utf8');
  writeFileSync(work, finished);
  writeFileSync(manifestPath(work), readFileSync(manifestPath(path)));
  writeFileSync(path, OLD);
  writeFileSync(manifestPath(path), '{"not":"this one"}');
  assert.deepEqual(await run({ texts: texts(6) }, { file: path, resume: true }), { skipped: 2, written: 4 });
  const all = texts(6).map((text, index) => JSON.stringify({ index, upper: text.toUpperCase() }) + '\n');
  assert.equal(readFileSync(path, 'utf8'), all.join(''));
  assert.ok(!existsSync(work) && !existsSync(manifestPath(work)));
  // A work file without its manifest is not trusted.
  writeFileSync(work, 'anything\n');
  await rejectsResume(
    run({ texts: texts(6) }, { file: path, resume: true }),
    /this unfinished output has no manifest/,
  );
});

test('--resume puts in place a work file that already holds every row (killed after its last write, before the rename)', async () => {
  const path = fresh();
  writeFileSync(path, OLD);
  const work = path + WORK_FILE_SUFFIX;
  const all = texts(5).map((text, index) => JSON.stringify({ index, upper: text.toUpperCase() }) + '\n');
  // A finished run's output and manifest, moved back to where they were just before the rename.
  const finished = fresh();
  await run({ texts: texts(5) }, { file: finished });
  writeFileSync(work, readFileSync(finished));
  writeFileSync(manifestPath(work), readFileSync(manifestPath(finished)));
  assert.deepEqual(await run({ texts: texts(5) }, { file: path, resume: true }), { skipped: 5, written: 0 });
  assert.equal(readFileSync(path, 'utf8'), all.join(''));
  assert.ok(
    !existsSync(work) && !existsSync(manifestPath(work)),
    'the work file and its manifest were moved',
  );
  // And the output it became resumes as complete: nothing written, nothing changed.
  assert.deepEqual(await run({ texts: texts(5) }, { file: path, resume: true }), { skipped: 5, written: 0 });
  assert.equal(readFileSync(path, 'utf8'), all.join(''));
  // A plain output (no manifest) with every row and a torn last line: the torn line is cut.
  const plain = fresh();
  writeFileSync(plain, all.join('') + '{"index":5,"up');
  assert.deepEqual(await run({ texts: texts(5) }, { file: plain, resume: true }), { skipped: 5, written: 0 });
  assert.equal(readFileSync(plain, 'utf8'), all.join(''));
});

function writeInput(name: string, content: string): string {
  const path = join(dir, name);
  writeFileSync(path, content);
  return path;
}

test('--fsync also syncs the directory: the new work file, each manifest rename, and the rename into place', async () => {
  const calls: { dir: string; output: boolean; work: boolean }[] = [];
  const real = durability.syncDirectoryOf;
  const output = fresh();
  durability.syncDirectoryOf = async (file: string) => {
    calls.push({
      dir: dirname(file),
      output: existsSync(output),
      work: existsSync(output + WORK_FILE_SUFFIX),
    });
    await real(file);
  };
  try {
    await run({ texts: texts(4) }, { file: output, fsync: true });
    // Two batches: the first manifest (before any data file), the work file's new name, the second manifest,
    // then the rename into place.
    const at = (output: boolean, work: boolean) => ({ dir, output, work });
    assert.deepEqual(calls, [at(false, false), at(false, true), at(false, true), at(true, false)]);
    calls.length = 0;
    await run({ texts: texts(4) }, { file: fresh() });
    assert.equal(calls.length, 0, 'without --fsync nothing is synced');
  } finally {
    durability.syncDirectoryOf = real;
  }
  // The real call on a real directory, and a missing directory is an error, not silence.
  await syncDirectoryOf(output);
  await assert.rejects(syncDirectoryOf(join(dir, 'missing', 'out.jsonl')), { code: 'ENOENT' });
});
