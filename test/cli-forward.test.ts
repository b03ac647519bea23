import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough, Readable } from 'node:stream';
import { after, describe, test } from 'node:test';
import { InputError } from '../src/errors.js';
import { readForwardInput, runForward, shortestFloat32 } from '../src/cli/commands/forward.js';
import { SUPPORTED_MODEL_TYPES } from '../src/models/config.js';
import { REPO_ROOT, readSharedJson, sharedPath, skipUnlessShared } from './helpers/shared.js';
import { runCliSync } from './helpers/cli-process.js';
import { modelFixtures } from './helpers/model-fixtures.js';

const MODELS = 'fixtures/models';
const tmp = mkdtempSync(join(tmpdir(), 'seqbatch-cli-forward-'));
after(() => rmSync(tmp, { recursive: true, force: true }));

interface FixtureCase {
  name: string;
  inputs: Record<string, unknown>;
  outputs: Record<string, unknown>;
}
const caseOf = (folder: string, name: string): FixtureCase =>
  readSharedJson<{ cases: FixtureCase[] }>(MODELS, folder, 'expected.json').cases.find(
    (c) => c.name === name,
  )!;
const flatten = (x: unknown): number[] => (Array.isArray(x) ? x.flatMap(flatten) : [x as number]);

function assertClose(got: unknown, expected: unknown, what: string, atol = 1e-4): void {
  const g = flatten(got);
  const e = flatten(expected);
  assert.equal(g.length, e.length, `${what}: length`);
  for (let i = 0; i < e.length; i++) {
    assert.ok(Math.abs(g[i]! - e[i]!) <= atol + 1e-4 * Math.abs(e[i]!), `${what}[${i}]: ${g[i]} vs ${e[i]}`);
  }
}

async function forwardJson(
  args: Parameters<typeof runForward>[0],
  stdin?: string,
): Promise<Record<string, unknown>> {
  const stdout = new PassThrough();
  const chunks: Buffer[] = [];
  stdout.on('data', (c: Buffer) => chunks.push(c));
  await runForward(
    { threads: 1, cache: false, ...args },
    { stdout, stdin: stdin ? Readable.from([stdin]) : undefined },
  );
  const text = Buffer.concat(chunks).toString('utf8');
  assert.ok(text.endsWith('\n') && text.trim().split('\n').length === 1, 'one JSON object on one line');
  return JSON.parse(text) as Record<string, unknown>;
}

describe('seqbatch forward', { skip: skipUnlessShared(MODELS) }, () => {
  test('prints the outputs and the loss under HF names (sequence classification with labels)', async () => {
    const c = caseOf('bert-seqcls', 'labels');
    const input = join(tmp, 'labels.json');
    writeFileSync(input, JSON.stringify(c.inputs));
    const out = await forwardJson({ model: sharedPath(MODELS, 'bert-seqcls'), input });
    assert.deepEqual(Object.keys(out).sort(), ['logits', 'loss']);
    assertClose(out.logits, c.outputs.logits, 'logits');
    assertClose(out.loss, c.outputs.loss, 'loss');
  });

  test('--output-hidden-states and --output-attentions, input from stdin', async () => {
    const c = caseOf('distilbert-model', 'batch_padded');
    const out = await forwardJson(
      {
        model: sharedPath(MODELS, 'distilbert-model'),
        input: '-',
        outputHiddenStates: true,
        outputAttentions: true,
      },
      JSON.stringify(c.inputs),
    );
    assertClose(out.last_hidden_state, c.outputs.last_hidden_state, 'last_hidden_state');
    assert.equal((out.hidden_states as unknown[]).length, 3);
    assertClose(out.hidden_states, c.outputs.hidden_states, 'hidden_states');
    assertClose(out.attentions, c.outputs.attentions, 'attentions', 1e-5);
  });

  test('QA positions and the task override', async () => {
    const c = caseOf('roberta-qa', 'labels_out_of_range');
    const input = join(tmp, 'qa.json');
    writeFileSync(input, JSON.stringify(c.inputs));
    const out = await forwardJson({ model: sharedPath(MODELS, 'roberta-qa'), input });
    assertClose(out.loss, c.outputs.loss, 'loss');
    assertClose(out.start_logits, c.outputs.start_logits, 'start_logits');
    const base = await forwardJson(
      { model: sharedPath(MODELS, 'bert-seqcls'), input: '-', task: 'base' },
      '{"input_ids":[[2,5,3]]}',
    );
    assert.deepEqual(Object.keys(base).sort(), ['last_hidden_state', 'pooler_output']);
  });

  test(
    'Longformer: global_attention_mask from the file, global_attentions printed',
    {
      skip: !SUPPORTED_MODEL_TYPES.includes('longformer') && 'longformer graphs not registered',
    },
    async () => {
      const c = caseOf('longformer-model', 'global_attention');
      const out = await forwardJson(
        { model: sharedPath(MODELS, 'longformer-model'), input: '-', outputAttentions: true },
        JSON.stringify(c.inputs),
      );
      assertClose(out.last_hidden_state, c.outputs.last_hidden_state, 'last_hidden_state');
      assertClose(out.global_attentions, c.outputs.global_attentions, 'global_attentions', 1e-5);
    },
  );

  test('every fixture folder of models/ and models-2/: batch_padded and labels cases', async (t) => {
    for (const { label, dir, skip } of modelFixtures()) {
      await t.test(label, { skip }, async () => {
        const { cases } = JSON.parse(readFileSync(join(dir, 'expected.json'), 'utf8')) as {
          cases: (FixtureCase & {
            options?: { output_hidden_states?: boolean; output_attentions?: boolean };
          })[];
        };
        for (const c of cases.filter((c) => c.name === 'batch_padded' || c.name === 'labels')) {
          const out = await forwardJson(
            {
              model: dir,
              input: '-',
              outputHiddenStates: c.options?.output_hidden_states,
              outputAttentions: c.options?.output_attentions,
            },
            JSON.stringify(c.inputs),
          );
          for (const [key, expected] of Object.entries(c.outputs)) {
            assert.ok(key in out, `${label}/${c.name}: ${key} printed`);
            assertClose(
              out[key],
              expected,
              `${label}/${c.name}/${key}`,
              key.endsWith('attentions') ? 1e-5 : 1e-4,
            );
          }
        }
      });
    }
  });

  test('input file errors name --input and the key', async () => {
    const write = (name: string, text: string) => {
      const path = join(tmp, name);
      writeFileSync(path, text);
      return path;
    };
    const rejects = (path: string, pattern: RegExp) =>
      assert.rejects(readForwardInput(path), (e: unknown) => {
        assert.ok(e instanceof InputError, String(e));
        assert.equal(e.argument, '--input');
        assert.match(e.message, pattern);
        return true;
      });
    await rejects(join(tmp, 'missing.json'), /cannot read/);
    await rejects(write('bad.json', '{"input_ids": [[1, 2]'), /not valid JSON/);
    await rejects(write('array.json', '[[1, 2]]'), /expected a JSON object/);
    await rejects(
      write('typo.json', '{"input_ids": [[1]], "attention_masks": [[1]]}'),
      /unknown keys attention_masks/,
    );
    await rejects(write('noids.json', '{"attention_mask": [[1]]}'), /input_ids is required/);
  });

  test('the command line: JSON on stdout, typed errors as one line on stderr with exit code 2', () => {
    const input = join(tmp, 'cli.json');
    writeFileSync(input, JSON.stringify({ input_ids: [[2, 78, 78, 14, 72, 47, 42, 60, 3]] }));
    const run = (args: string[]) =>
      runCliSync(args, { cwd: REPO_ROOT, env: { ...process.env, SEQBATCH_CACHE: join(tmp, 'cache') } });
    const ok = run([
      'forward',
      '--model',
      sharedPath(MODELS, 'bert-seqcls'),
      '--input',
      input,
      '--threads',
      '1',
    ]);
    assert.equal(ok.status, 0, ok.stderr);
    const out = JSON.parse(ok.stdout) as { logits: number[][] };
    assertClose(out.logits, caseOf('bert-seqcls', 'single').outputs.logits, 'logits');

    // --task multiple-choice: inputs [batch, choices, sequence], logits [batch, choices].
    const choices = readSharedJson<{ cases: FixtureCase[] }>(
      'fixtures/models-2',
      'bert-multiple-choice',
      'expected.json',
    ).cases.find((c) => c.name === 'labels')!;
    writeFileSync(input, JSON.stringify(choices.inputs));
    const mc = run([
      'forward',
      '--model',
      sharedPath('fixtures/models-2', 'bert-multiple-choice'),
      '--task',
      'multiple-choice',
      '--input',
      input,
      '--threads',
      '1',
    ]);
    assert.equal(mc.status, 0, mc.stderr);
    const mcOut = JSON.parse(mc.stdout) as { logits: number[][]; loss: number };
    assertClose(mcOut.logits, choices.outputs.logits, 'multiple-choice logits');
    assertClose(mcOut.loss, choices.outputs.loss, 'multiple-choice loss');

    writeFileSync(input, JSON.stringify({ input_ids: [[2, 500, 3]] }));
    const bad = run(['forward', '--model', sharedPath(MODELS, 'bert-seqcls'), '--input', input]);
    assert.equal(bad.status, 2);
    assert.match(bad.stderr, /^seqbatch: input_ids\[0\]\[1\] = 500 is out of range \[0, 99\)/);
    assert.equal(bad.stdout, '');
  });
});

test(
  'floats print as the shortest decimal that reads back as the same float32 (the fixtures convention)',
  {
    skip: skipUnlessShared(MODELS),
  },
  () => {
    // The fixtures were written by Python with exactly this rule, so re-printing their values must give their text.
    const text = readFileSync(sharedPath(MODELS, 'bert-mlm', 'expected.json'), 'utf8');
    const tokens = text.match(/-?\d+\.\d+(?:e-?\d+)?/g)!.slice(0, 3000);
    assert.ok(tokens.length > 1000);
    for (const token of tokens) {
      const value = Math.fround(Number(token));
      assert.equal(Number(shortestFloat32(value)), Number(token), token);
      assert.equal(Math.fround(Number(shortestFloat32(value))), value);
    }
    assert.equal(shortestFloat32(Math.fround(0.1)), '0.1');
    assert.equal(shortestFloat32(Math.fround(-1.4068545)), '-1.4068545');
    assert.equal(shortestFloat32(NaN), 'null');
  },
);
