/**
 * `seqbatch tokenize`: rows printed for JSON lines and plain text, batches padded together, overflow rows with a
 * global sample mapping, and errors naming the flag or the input line. Most cases run the command in-process on
 * in-memory streams; two spawn the real CLI entry (main) through tsx.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough, Writable } from 'node:stream';
import test, { after } from 'node:test';
import { runTokenize, type TokenizeCliOptions } from '../src/cli/commands/tokenize.js';
import { InputError, SeqbatchError } from '../src/errors.js';
import { Tokenizer } from '../src/tokenizers/tokenizer.js';
import { REPO_ROOT, sharedPath, skipUnlessShared } from './helpers/shared.js';

const BERT = sharedPath('tokenizers', 'bert-base-uncased');
const skip = skipUnlessShared('tokenizers', 'bert-base-uncased');
const scratch = mkdtempSync(join(tmpdir(), 'seqbatch-cli-tokenize-'));
after(() => rmSync(scratch, { recursive: true, force: true }));

interface Row {
  input_ids: number[];
  attention_mask: number[];
  token_type_ids: number[];
  special_tokens_mask: number[];
  offset_mapping: [number, number][];
  word_ids: (number | null)[];
  tokens: string[];
  overflow_to_sample_mapping?: number;
}

/** Runs the command on `input` (stdin) and returns the parsed rows and stderr. */
async function run(
  options: Partial<TokenizeCliOptions>,
  input: string,
): Promise<{ rows: Row[]; stderr: string }> {
  const stdin = new PassThrough();
  stdin.end(input);
  let out = '';
  let err = '';
  const sink = (append: (s: string) => void) =>
    new Writable({
      write(chunk, _encoding, done) {
        append(String(chunk));
        done();
      },
    });
  await runTokenize(
    { tokenizer: BERT, ...options },
    { stdin, stdout: sink((s) => (out += s)), stderr: sink((s) => (err += s)) },
  );
  const rows = out
    .split('\n')
    .filter((line) => line !== '')
    .map((line) => JSON.parse(line) as Row);
  return { rows, stderr: err };
}

test(
  'JSON lines with and without pairs: rows equal the API, each batch padded to its longest row',
  { skip },
  async () => {
    const lines = [
      { text: 'The first sentence.' },
      { text: 'A question?', text_pair: 'An answer with several words in it.' },
      { text: 'Short.' },
    ];
    const input = `${lines.map((l) => JSON.stringify(l)).join('\n')}\n\n`;
    const { rows } = await run({ padding: 'longest', batchSize: 2 }, input);
    assert.equal(rows.length, 3);
    const tokenizer = Tokenizer.fromPretrainedSync(BERT);
    const firstBatch = tokenizer.encodeBatch([lines[0].text, lines[1].text], [null, lines[1].text_pair!], {
      padding: 'longest',
    });
    for (const r of [0, 1]) {
      const { sequence_ids: _unused, ...expected } = firstBatch.row(r);
      assert.deepEqual(rows[r], expected, `row ${r}`);
    }
    assert.equal(rows[0].input_ids.length, rows[1].input_ids.length);
    // The third row is a batch of its own: not padded to the first two.
    assert.deepEqual(rows[2].tokens, ['[CLS]', 'short', '.', '[SEP]']);
    assert.deepEqual(Object.keys(rows[2]), [
      'input_ids',
      'attention_mask',
      'token_type_ids',
      'special_tokens_mask',
      'offset_mapping',
      'word_ids',
      'tokens',
    ]);
  },
);

test(
  'plain text lines, --no-special-tokens, --max-length alone truncates with the transformers warning',
  { skip },
  async () => {
    const { rows, stderr } = await run(
      { specialTokens: false, maxLength: 3 },
      'one two three four\r\nfive six\n',
    );
    assert.deepEqual(
      rows.map((r) => r.tokens),
      [
        ['one', 'two', 'three'],
        ['five', 'six'],
      ],
    );
    assert.match(stderr, /^seqbatch: warning: Truncation was not explicitly activated/);
    assert.equal(stderr.split('\n').filter(Boolean).length, 1, 'each distinct warning is printed once');
  },
);

test(
  'overflow windows are rows; overflow_to_sample_mapping counts inputs across batches',
  { skip },
  async () => {
    const long = 'word '.repeat(30).trim();
    const input = ['tiny', long, long].map((text) => JSON.stringify({ text })).join('\n');
    const { rows } = await run(
      { truncation: 'longest_first', maxLength: 12, stride: 2, returnOverflowingTokens: true, batchSize: 2 },
      input,
    );
    const mapping = rows.map((r) => r.overflow_to_sample_mapping);
    // 30 words, windows of 10 tokens with stride 2: starts 0, 8, 16, 24 → 4 windows per long text.
    assert.deepEqual(mapping, [0, 1, 1, 1, 1, 2, 2, 2, 2]);
    assert.ok(rows.every((r) => r.input_ids.length <= 12));
  },
);

test('errors name the flag or the input line', { skip }, async () => {
  const expectError = async (options: Partial<TokenizeCliOptions>, input: string, pattern: RegExp) => {
    await assert.rejects(
      run(options, input),
      (e: unknown) => e instanceof SeqbatchError && pattern.test(e.message),
      String(pattern),
    );
  };
  await expectError(
    {},
    '{"text": "ok"}\n{"text": 5}\n',
    /^stdin:2: expected a JSON object with a "text" string$/,
  );
  await expectError(
    {},
    '{"text": "ok"}\n{"text": "a", "text_pair": 3}\n',
    /^stdin:2: "text_pair" must be a string/,
  );
  await expectError({}, '{"text": "ok"}\n\n{broken\n', /^stdin:3: not valid JSON/);
  await expectError(
    { truncation: 'longest_first', maxLength: 4, stride: 3 },
    'hello\n',
    /^--stride: tokenizer stride set to 3/,
  );
  await expectError(
    { truncation: 'only_first', maxLength: 8 },
    `{"text": "fine", "text_pair": "x"}\n{"text": "a", "text_pair": "${'b '.repeat(20)}"}\n`,
    /^stdin:2: Truncation error: Sequence to truncate too short/,
  );
  await expectError(
    { padToMultipleOf: 4, padding: 'longest', truncation: 'longest_first', maxLength: 10 },
    'a\n',
    /^--pad-to-multiple-of: /,
  );
  await assert.rejects(
    run({ input: join(scratch, 'missing.txt') }, ''),
    (e: unknown) => e instanceof InputError && e.argument === '--input' && /ENOENT/.test(e.message),
  );
});

const ENTRY =
  "const {main}=await import('./src/cli/main.ts'); await main(['node','seqbatch',...process.argv.slice(1)])";

function cli(args: string[], input?: string) {
  return spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', ENTRY, '--', ...args], {
    cwd: REPO_ROOT,
    input,
    encoding: 'utf8',
  });
}

test('the real CLI: --input file, exit status 0, one JSON object per row', { skip }, () => {
  const file = join(scratch, 'input.jsonl');
  writeFileSync(file, '{"text": "Hello world!"}\n{"text": "Second line here"}\n');
  const result = cli([
    'tokenize',
    '--tokenizer',
    BERT,
    '--input',
    file,
    '--padding',
    'max_length',
    '--max-length',
    '8',
  ]);
  assert.equal(result.status, 0, result.stderr);
  const rows = result.stdout
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as Row);
  assert.deepEqual(
    rows.map((r) => r.input_ids),
    [
      [101, 7592, 2088, 999, 102, 0, 0, 0],
      [101, 2117, 2240, 2182, 102, 0, 0, 0],
    ],
  );
});

test('the real CLI: bad flags and bad lines give one-line errors and a non-zero status', { skip }, () => {
  const badChoice = cli(['tokenize', '--tokenizer', BERT, '--padding', 'wide'], '');
  assert.notEqual(badChoice.status, 0);
  assert.match(badChoice.stderr, /--padding <strategy>' argument 'wide' is invalid/);
  const badLine = cli(['tokenize', '--tokenizer', BERT], '{"text": "ok"}\n[1, 2]\n');
  assert.equal(badLine.status, 2);
  assert.equal(badLine.stderr, 'seqbatch: stdin:2: expected a JSON object with a "text" string\n');
  // The batch holding the bad line is not printed.
  assert.equal(badLine.stdout, '');
});
