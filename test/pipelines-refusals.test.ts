/**
 * Wrong models and wrong numbers are refused (issue 15): non-finite outputs are an error naming the model and the
 * input, integer tensors where float weights belong are refused by name, and a task whose head does not fit the
 * checkpoint's is refused unless overridden. Built on copies of the bundled demo checkpoint.
 */
import assert from 'node:assert/strict';
import { copyFileSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { InferenceError, InputError, WeightsError } from '../src/errors.js';
import { pipeline } from '../src/pipelines/index.js';
import { Tokenizer } from '../src/tokenizers/tokenizer.js';
import { loadWeights, serializeSafetensors, type TensorToWrite } from '../src/weights/index.js';
import { runCliSync } from './helpers/cli-process.js';
import { REPO_ROOT } from './helpers/shared.js';

const DEMO = join(REPO_ROOT, 'models', 'seqbatch-demo-sst2');
const tmp = mkdtempSync(join(tmpdir(), 'seqbatch-refusals-'));
after(() => rmSync(tmp, { recursive: true, force: true }));
const LOAD = { cacheDir: false as const, threads: 1 };

/** A copy of the demo checkpoint whose tensors pass through `change` (which may replace or alter them). */
async function demoCopy(name: string, change: (tensor: TensorToWrite) => TensorToWrite): Promise<string> {
  const dir = join(tmp, name);
  mkdirSync(dir);
  for (const file of readdirSync(DEMO))
    if (file !== 'model.safetensors') copyFileSync(join(DEMO, file), join(dir, file));
  const weights = await loadWeights(DEMO);
  const tensors = weights.names().map((n) => {
    const { shape, data } = weights.getFloat32(n);
    return change({ name: n, dtype: 'F32', shape, data: Float32Array.from(data) });
  });
  writeFileSync(join(dir, 'model.safetensors'), serializeSafetensors(tensors));
  return dir;
}

/** The InferenceError itself, or the one a batch failure wraps as its cause. */
function nonFinite(error: unknown): InferenceError | undefined {
  if (error instanceof InferenceError) return error;
  const cause = (error as { cause?: unknown } | null)?.cause;
  return cause instanceof InferenceError ? cause : undefined;
}

test('NaN in the weights: an InferenceError naming the model and the input, never a null score', async () => {
  const tokenizer = await Tokenizer.fromPretrained(DEMO);
  const [poisoned] = tokenizer.encode('film', null, { addSpecialTokens: false }).ids;
  const width = 128;
  const dir = await demoCopy('nan-row', (t) => {
    // One word's embedding row is NaN: only inputs containing that word go wrong.
    if (t.name.endsWith('word_embeddings.weight'))
      (t.data as Float32Array).fill(Number.NaN, poisoned! * width, (poisoned! + 1) * width);
    return t;
  });
  const classify = await pipeline('text-classification', dir, LOAD);
  assert.equal((await classify.run(['a good day', 'a bad day'])).length, 2, 'clean inputs still run');
  await assert.rejects(
    classify.run(['a good day', 'a bad day', 'a charming film']),
    (error: unknown) =>
      nonFinite(error)?.message.includes(dir) === true &&
      /logits for input 2\b/.test(nonFinite(error)!.message),
  );
  const embed = await pipeline('feature-extraction', dir, LOAD);
  await assert.rejects(embed.run(['a charming film', 'a good day']), (error: unknown) =>
    /last_hidden_state for input 0\b.*contains NaN at token/.test(nonFinite(error)?.message ?? ''),
  );
  await Promise.all([classify.dispose(), embed.dispose()]);

  // The CLI: an error and a failing exit status, no `"score":null` row.
  const cli = runCliSync(['classify', '--model', dir, '--no-graph-cache', 'a good day', 'a charming film']);
  assert.notEqual(cli.status, 0);
  assert.doesNotMatch(cli.stdout, /null/);
  assert.match(cli.stderr, /logits for input 1\b/);
});

test('an integer tensor where a float weight belongs is refused with its name', async () => {
  const dir = await demoCopy('i32-weight', (t) =>
    t.name === 'pre_classifier.weight'
      ? {
          ...t,
          dtype: 'I32',
          data: new Uint8Array(Int32Array.from(t.data as Float32Array, (v) => Math.round(v * 100)).buffer),
        }
      : t,
  );
  await assert.rejects(
    pipeline('text-classification', dir, LOAD),
    (error: unknown) =>
      error instanceof WeightsError &&
      error.field === 'pre_classifier.weight' &&
      /"pre_classifier\.weight" has dtype I32/.test(error.message),
  );
});

test('a task that does not fit the head is refused, naming both heads, unless allowHeadMismatch', async () => {
  const refused = (needed: RegExp) => (error: unknown) =>
    error instanceof InputError &&
    error.argument === 'allowHeadMismatch' &&
    error.message.includes('DistilBertForSequenceClassification') &&
    needed.test(error.message);
  await assert.rejects(pipeline('ner', DEMO, LOAD), refused(/needs a \*ForTokenClassification head/));
  await assert.rejects(pipeline('question-answering', DEMO, LOAD), refused(/\*ForQuestionAnswering/));
  await assert.rejects(pipeline('fill-mask', DEMO, LOAD), refused(/\*ForMaskedLM/));
  await assert.rejects(
    pipeline('zero-shot-classification', DEMO, LOAD),
    (error: unknown) =>
      error instanceof InputError && /"entailment" label.*NEGATIVE, POSITIVE/.test(error.message),
  );
  // Explicitly overridden: the pipeline runs (on a head it was not trained for, as asked).
  const ner = await pipeline('ner', DEMO, { ...LOAD, allowHeadMismatch: true });
  assert.ok(Array.isArray(await ner.run('a charming film')));
  const zeroShot = await pipeline('zero-shot-classification', DEMO, { ...LOAD, allowHeadMismatch: true });
  assert.deepEqual((await zeroShot.run('a charming film', { candidateLabels: ['a', 'b'] })).labels.sort(), [
    'a',
    'b',
  ]);
  // Tasks that fit are not refused: classification on its head, embeddings on any encoder.
  const classify = await pipeline('text-classification', DEMO, LOAD);
  const embed = await pipeline('feature-extraction', DEMO, LOAD);
  await Promise.all([ner.dispose(), zeroShot.dispose(), classify.dispose(), embed.dispose()]);
});

test('the CLI refuses ner and zero-shot on the demo sentiment model; --allow-head-mismatch runs them', () => {
  const ner = runCliSync(['ner', '--model', DEMO, '--no-graph-cache', 'John lives in Paris']);
  assert.notEqual(ner.status, 0);
  assert.equal(ner.stdout, '');
  assert.match(
    ner.stderr,
    /DistilBertForSequenceClassification.*ForTokenClassification.*--allow-head-mismatch/s,
  );
  const zeroShot = runCliSync([
    'zero-shot',
    '--model',
    DEMO,
    '--no-graph-cache',
    '--labels',
    'a,b',
    'some text',
  ]);
  assert.notEqual(zeroShot.status, 0);
  assert.match(zeroShot.stderr, /entailment/);
  const forced = runCliSync([
    'ner',
    '--model',
    DEMO,
    '--no-graph-cache',
    '--allow-head-mismatch',
    'John lives in Paris',
  ]);
  assert.equal(forced.status, 0, forced.stderr);
});
