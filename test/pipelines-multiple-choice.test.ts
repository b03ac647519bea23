/**
 * The multiple-choice pipeline on fixtures/models-2/bert-multiple-choice (BertForMultipleChoice, checked against
 * PyTorch by the model fixture tests) with the small WordPiece tokenizer of the fixtures. Questions with different
 * numbers of choices, batched together, must give what each gives alone and what the model gives on the same
 * (question, choice) pairs run directly as [1, choices, sequence].
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { InputError } from '../src/errors.js';
import { AutoModelForMultipleChoice } from '../src/models/auto.js';
import { softmax } from '../src/pipelines/math.js';
import { pipeline, type MultipleChoiceInput } from '../src/pipelines/index.js';
import { fixtureCheckpoint, fixtureTokenizer } from './helpers/fixture-checkpoints.js';
import { skipUnlessShared } from './helpers/shared.js';

const skip = skipUnlessShared('fixtures', 'models-2');
const WORK = mkdtempSync(join(tmpdir(), 'seqbatch-pipelines-mc-'));
after(() => rmSync(WORK, { recursive: true, force: true }));
const LOAD = { cacheDir: false as const, threads: 1 };

const INPUTS: MultipleChoiceInput[] = [
  { question: 'where does john live?', choices: ['in paris', 'in new york city'] },
  { question: 'the cat sat on the', choices: ['mat', 'big red car', 'moon', 'old tree house'] },
  { question: 'what is the capital of france', choices: ['paris', 'the river', 'a small blue bird'] },
];

test(
  'multiple-choice pipeline: batched = alone = the model on [1, choices, sequence]',
  { skip },
  async () => {
    const dir = fixtureCheckpoint(WORK, 'bert-multiple-choice', { set: 'models-2', withTokenizer: true });
    const pipe = await pipeline('multiple-choice', dir, LOAD);
    const model = await AutoModelForMultipleChoice.fromPretrained(dir, LOAD);
    try {
      const batched = await pipe.run(INPUTS, { batchSize: 4 });
      assert.ok(pipe.lastRunStats!.batches >= 3, 'the 9 pairs span several batches');
      const tokenizer = fixtureTokenizer();
      for (const [i, input] of INPUTS.entries()) {
        const result = batched[i]!;
        const alone = await pipe.run(input);
        const encodings = tokenizer.encodeBatch(
          input.choices.map(() => input.question),
          [...input.choices],
          { padding: 'longest' },
        ).encodings;
        const direct = await model.forward({
          input_ids: [encodings.map((e) => e.ids)],
          attention_mask: [encodings.map((e) => e.attentionMask)],
          token_type_ids: [encodings.map((e) => e.typeIds)],
        });
        assert.deepEqual(direct.logits!.dims, [1, input.choices.length]);
        assert.equal(result.logits.length, input.choices.length);
        result.logits.forEach((logit, c) => {
          assert.ok(
            Math.abs(logit - direct.logits!.data[c]!) <= 1e-5,
            `input ${i} choice ${c}: vs the model`,
          );
          assert.ok(Math.abs(logit - alone.logits[c]!) <= 1e-5, `input ${i} choice ${c}: batched vs alone`);
        });
        const expected = softmax(result.logits);
        result.scores.forEach((s, c) => assert.ok(Math.abs(s - expected[c]!) <= 1e-12));
        assert.equal(result.best, expected.indexOf(Math.max(...expected)));
        assert.equal(result.choice, input.choices[result.best]);
      }
      // The choices are not all scored alike, so the comparison above is not of constants.
      assert.ok(new Set(batched.flatMap((r) => r.logits.map((l) => l.toFixed(4)))).size > 5);
    } finally {
      await pipe.dispose();
      await model.dispose();
    }
  },
);

test('multiple-choice pipeline refusals', { skip }, async () => {
  const dir = fixtureCheckpoint(WORK, 'bert-multiple-choice', { set: 'models-2', withTokenizer: true });
  const pipe = await pipeline('multiple-choice', dir, LOAD);
  try {
    for (const bad of [{ question: 'a', choices: [] }, { question: 1, choices: ['a'] }, 'just text']) {
      await assert.rejects(
        pipe.run([bad as never]),
        (e: unknown) => e instanceof InputError && e.argument === 'inputs[0]',
      );
    }
    await assert.rejects(
      pipe.run(INPUTS, { truncation: 'only_first' as never }),
      (e: unknown) => e instanceof InputError && e.argument === 'truncation',
    );
  } finally {
    await pipe.dispose();
  }
  // A sequence classifier is not a multiple-choice head.
  const seqcls = fixtureCheckpoint(WORK, 'bert-seqcls', { withTokenizer: true });
  await assert.rejects(
    pipeline('multiple-choice', seqcls, LOAD),
    (e: unknown) =>
      e instanceof InputError && e.argument === 'allowHeadMismatch' && /ForMultipleChoice/.test(e.message),
  );
});
