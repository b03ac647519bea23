import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import test from 'node:test';
import { InputError } from '../src/errors.js';
import { readInputRows, type InputRow, type InputSpec } from '../src/cli/io/index.js';
import { sharedPath, skipUnlessShared } from './helpers/shared.js';

const dir = mkdtempSync(join(tmpdir(), 'seqbatch-io-input-'));

function file(name: string, content: string | Buffer): string {
  const path = join(dir, name);
  writeFileSync(path, content);
  return path;
}

async function rows(spec: InputSpec): Promise<InputRow[]> {
  const out: InputRow[] = [];
  for await (const row of readInputRows(spec)) out.push(row);
  return out;
}

async function rejectsInput(
  spec: InputSpec,
  pattern: RegExp,
  check?: (error: InputError) => void,
): Promise<void> {
  await assert.rejects(rows(spec), (error: unknown) => {
    assert.ok(error instanceof InputError, `expected InputError, got ${String(error)}`);
    assert.match(error.message, pattern);
    check?.(error);
    return true;
  });
}

test('positional texts are the input, in order', async () => {
  assert.deepEqual(await rows({ texts: ['b', 'a'] }), [
    { index: 0, text: 'b', line: 1 },
    { index: 1, text: 'a', line: 2 },
  ]);
  await rejectsInput({ texts: ['x'], file: 'in.txt' }, /not both/);
});

test('txt: one text per line, CRLF and BOM stripped, blank lines skipped, last line without newline kept', async () => {
  const path = file('a.txt', '\ufefffirst line\r\n\n  \nsecond  \nthird');
  assert.deepEqual(await rows({ file: path }), [
    { index: 0, text: 'first line', line: 1 },
    { index: 1, text: 'second  ', line: 4 },
    { index: 2, text: 'third', line: 5 },
  ]);
});

test('txt from stdin, split across chunk boundaries (including inside a multi-byte character)', async () => {
  const bytes = Buffer.from('héllo wörld\nçà\n😀 emoji\n', 'utf8');
  const chunks = [bytes.subarray(0, 2), bytes.subarray(2, 13), bytes.subarray(13, 17), bytes.subarray(17)];
  const texts = (await rows({ stdin: Readable.from(chunks) })).map((r) => r.text);
  assert.deepEqual(texts, ['héllo wörld', 'çà', '😀 emoji']);
  const viaDash = await rows({ file: '-', format: 'jsonl', stdin: Readable.from(['{"text":"x"}\n']) });
  assert.deepEqual(viaDash, [{ index: 0, text: 'x', line: 1 }]);
});

test('jsonl: default field "text", pair from text_pair, explicit --column/--pair-column, bare strings', async () => {
  const path = file(
    'a.jsonl',
    [
      '{"id": 1, "text": "one", "text_pair": "uno"}',
      '',
      '{"id": 2, "text": "two"}',
      '{"id": 3, "text": "three", "text_pair": null}',
    ].join('\n') + '\n',
  );
  assert.deepEqual(await rows({ file: path }), [
    { index: 0, text: 'one', textPair: 'uno', line: 1 },
    { index: 1, text: 'two', line: 3 },
    { index: 2, text: 'three', line: 4 },
  ]);
  const glue = file('glue.jsonl', '{"label": 1, "sentence1": "a", "sentence2": "b"}\n');
  assert.deepEqual(await rows({ file: glue }), [{ index: 0, text: 'a', textPair: 'b', line: 1 }]);
  const named = file('named.jsonl', '{"q": "who?", "c": "me", "text": "ignored"}\n');
  assert.deepEqual(await rows({ file: named, column: 'q', pairColumn: 'c' }), [
    { index: 0, text: 'who?', textPair: 'me', line: 1 },
  ]);
  const onlyKey = file('only.jsonl', '{"body": "b1"}\n');
  assert.deepEqual(await rows({ file: onlyKey }), [{ index: 0, text: 'b1', line: 1 }]);
  // Several fields and none named like a text: nothing is guessed (the first is often an id).
  await rejectsInput(
    { file: file('first.jsonl', '{"id": "7", "body": "b1"}\n') },
    /first\.jsonl:1: 2 fields and none is named "text", "sentence", "sentence1": pass --column NAME .*available fields: "id", "body"/,
    (e) => assert.equal(e.argument, '--column'),
  );
  const strings = file('strings.jsonl', '"plain"\n"second"\n');
  assert.deepEqual(
    (await rows({ file: strings })).map((r) => r.text),
    ['plain', 'second'],
  );
});

test('jsonl errors name the file, the line and the field', async () => {
  const malformed = file('bad.jsonl', '{"text": "ok"}\n{"text": oops}\n');
  await rejectsInput({ file: malformed }, /bad\.jsonl:2: malformed JSON line/, (e) =>
    assert.equal(e.file, malformed),
  );
  const missing = file('missing.jsonl', '{"text": "ok"}\n{"body": "no text"}\n');
  await rejectsInput(
    { file: missing },
    /missing\.jsonl:2: field "text" is missing; available fields: "body"/,
    (e) => assert.equal(e.field, 'text'),
  );
  await rejectsInput(
    { file: missing, column: 'sentence' },
    /missing\.jsonl:1: field "sentence" \(--column\) not found; available fields: "text"/,
    (e) => assert.equal(e.argument, '--column'),
  );
  const pairMissing = file('pair.jsonl', '{"a": "x", "b": "y"}\n{"a": "x"}\n');
  await rejectsInput(
    { file: pairMissing, column: 'a', pairColumn: 'b' },
    /pair\.jsonl:2: field "b" is missing/,
  );
  const notString = file('num.jsonl', '{"text": 5}\n');
  await rejectsInput({ file: notString }, /num\.jsonl:1: field "text" must be a string, got number/);
  const array = file('array.jsonl', '[1, 2]\n');
  await rejectsInput(
    { file: array },
    /array\.jsonl:1: expected a JSON object \(or a JSON string\), got an array/,
  );
  await rejectsInput({ file: file('empty.jsonl', '\n\n') }, /empty\.jsonl: empty input/);
});

test('csv: header, quoted fields with commas, quotes and newlines, column defaults and selection', async () => {
  const path = file(
    'a.csv',
    'id,sentence,other\r\n1,"Hello, ""world""",x\r\n2,"two\nlines",y\r\n3,plain,z\r\n',
  );
  assert.deepEqual(await rows({ file: path }), [
    { index: 0, text: 'Hello, "world"', line: 2 },
    { index: 1, text: 'two\nlines', line: 4 },
    { index: 2, text: 'plain', line: 5 },
  ]);
  assert.deepEqual(
    (await rows({ file: path, column: 'other', pairColumn: 'sentence' })).map((r) => [r.text, r.textPair]),
    [
      ['x', 'Hello, "world"'],
      ['y', 'two\nlines'],
      ['z', 'plain'],
    ],
  );
  const single = file('single.csv', 'body\nb\n');
  assert.deepEqual(await rows({ file: single }), [{ index: 0, text: 'b', line: 2 }]);
  // Several columns and none named like a text: refused with the columns, instead of classifying an id column.
  await rejectsInput(
    { file: file('first.csv', 'id,review,label\n1,great,1\n') },
    /first\.csv:1: 3 columns and none is named "text", "sentence", "sentence1": pass --column NAME .*available columns: "id", "review", "label"/,
    (e) => assert.equal(e.argument, '--column'),
  );
  await rejectsInput(
    { file: file('first.tsv', 'id\treview\n1\tgreat\n'), format: 'tsv' },
    /first\.tsv:1: 2 columns .*available columns: "id", "review"/,
  );
});

test('csv errors: missing column lists the header, ragged rows and empty files name file and line', async () => {
  const path = file('b.csv', 'id,body\n1,x\n');
  await rejectsInput(
    { file: path, column: 'text' },
    /b\.csv:1: column "text" \(--column\) not found; available columns: "id", "body"/,
    (e) => {
      assert.equal(e.file, path);
      assert.equal(e.field, 'text');
    },
  );
  await rejectsInput(
    { file: path, column: 'body', pairColumn: 'nope' },
    /column "nope" \(--pair-column\) not found/,
  );
  const ragged = file('ragged.csv', 'text,label\na,1\nb\n');
  await rejectsInput({ file: ragged }, /ragged\.csv:3: malformed CSV: .*expect 2, got 1/, (e) =>
    assert.ok(!e.message.includes('--quote'), 'no quote hint when quotes are not involved'),
  );
  const unclosed = file('unclosed.csv', 'text\n"open\n');
  await rejectsInput({ file: unclosed }, /unclosed\.csv:\d+: malformed CSV: Quote Not Closed.*--quote none/);
  await rejectsInput({ file: file('empty.csv', '') }, /empty\.csv: empty input: no header row/);
  await rejectsInput(
    { file: file('header.csv', 'text,label\n') },
    /header\.csv: empty input: a header row but no data rows/,
  );
  await rejectsInput({ file: join(dir, 'absent.csv') }, /absent\.csv: cannot read input: file not found/);
  await rejectsInput({ file: dir, format: 'txt' }, /is a directory/);
  await rejectsInput({ file: file('x.parquet', 'x') }, /cannot tell the input format.*--input-format/);
});

test('tsv: tab-separated, quotes as text with quote: null', async () => {
  const path = file('a.tsv', 'text\ttext_pair\tlabel\nHe said "hi\tshe said bye"\t1\n');
  assert.deepEqual(await rows({ file: path, quote: null }), [
    { index: 0, text: 'He said "hi', textPair: 'she said bye"', line: 2 },
  ]);
});

test(
  'real datasets: SST-2 dev (872 rows), RTE dev with quoted multi-line pairs, MRPC with --quote none',
  {
    skip: skipUnlessShared('datasets'),
  },
  async () => {
    const sst2 = await rows({ file: sharedPath('datasets', 'sst2', 'dev.tsv') });
    assert.equal(sst2.length, 872);
    assert.equal(sst2[0]!.text, "it 's a charming and often affecting journey . ");
    assert.equal(sst2[871]!.index, 871);

    const rte = await rows({ file: sharedPath('datasets', 'rte', 'dev.tsv') });
    assert.equal(rte.length, 277, 'GLUE RTE dev has 277 pairs');
    assert.ok(rte.every((r) => r.textPair !== undefined && r.textPair.length > 0));
    assert.match(rte[0]!.text, /^Dana Reeve/);

    await assert.rejects(
      rows({ file: sharedPath('datasets', 'mrpc', 'dev.tsv'), column: '#1 String' }),
      InputError,
    );
    const mrpc = await rows({
      file: sharedPath('datasets', 'mrpc', 'dev.tsv'),
      column: '#1 String',
      pairColumn: '#2 String',
      quote: null,
    });
    assert.equal(mrpc.length, 408, 'GLUE MRPC dev has 408 pairs');
    assert.equal(
      mrpc[0]!.textPair,
      '"The foodservice pie business does not fit our long-term growth strategy.',
    );
  },
);
