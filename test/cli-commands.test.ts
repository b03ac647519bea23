/**
 * The task commands end to end: embed on the bundled demo checkpoint, ner / qa / fill-mask / zero-shot on the tiny
 * fixture checkpoints (each given a small WordPiece tokenizer.json written here, whose ids fit their 99-token
 * vocabulary). Each command's rows must be what the pipeline gives for the same inputs and options (the pipelines
 * themselves are checked against PyTorch elsewhere), in input order, with the flags mapped to the right options;
 * bad flags and inputs are errors naming the flag or the input line.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { runEmbed } from '../src/cli/commands/embed.js';
import { runFillMask } from '../src/cli/commands/fill-mask.js';
import { runNer } from '../src/cli/commands/ner.js';
import { runQa } from '../src/cli/commands/qa.js';
import { runZeroShot } from '../src/cli/commands/zero-shot.js';
import { InputError } from '../src/errors.js';
import { pipeline } from '../src/pipelines/index.js';
import { float32ToString } from '../src/util/float32-json.js';
import { fixtureCheckpoint, labelConfig, NER_LABELS, NLI_LABELS } from './helpers/fixture-checkpoints.js';
import { capture } from './helpers/cli-capture.js';
import { REPO_ROOT, skipUnlessShared } from './helpers/shared.js';
import { deepCloseAsserter } from './helpers/assert-close.js';

const DEMO = join(REPO_ROOT, 'models', 'seqbatch-demo-sst2');
const WORK = mkdtempSync(join(tmpdir(), 'seqbatch-cli-commands-'));
after(() => rmSync(WORK, { recursive: true, force: true }));
const skip = skipUnlessShared('fixtures', 'models');
const LOAD = { cacheDir: false as const };
const CLI = { graphCache: false, progress: false };

/** A fixture checkpoint (weights linked) with config.json fields replaced and the small tokenizer beside it. */
function fixture(name: string, config: Record<string, unknown> = {}): string {
  return fixtureCheckpoint(WORK, name, { config, withTokenizer: true });
}

function write(name: string, content: string): string {
  const file = join(WORK, name);
  writeFileSync(file, content);
  return file;
}

const assertClose = deepCloseAsserter(1e-6, 'record');

async function rejectsNaming(work: Promise<unknown>, argument: string, message?: RegExp): Promise<void> {
  await assert.rejects(work, (error: unknown) => {
    assert.ok(error instanceof InputError, String(error));
    assert.equal(error.argument, argument, error.message);
    if (message) assert.match(error.message, message);
    return true;
  });
}

const TEXTS = ['the cat sat on the mat .', 'john lives in new york', 'where is paris ?', 'zebra'];

test('embed: mean-pooled vectors of the demo model by default; --pooling cls and --normalize', async () => {
  const texts = [
    'a gorgeous , witty , seductive movie .',
    'dull',
    'the acting is wooden and the plot is a mess',
  ];
  const direct = await pipeline('feature-extraction', DEMO, LOAD);
  const mean = (await direct.run(texts, { pooling: 'mean' })) as number[][];
  const tokens = (await direct.run(texts, { pooling: 'none' })) as number[][][];
  await direct.dispose();

  const plain = capture();
  await runEmbed(texts, { ...CLI, batchSize: '2' }, plain.io);
  assertClose(
    plain.records().map((r) => r.embedding),
    mean,
  );
  assert.equal((plain.records()[0]!.embedding as number[]).length, 128);
  // Each value is written as the shortest decimal of its float32, not as a 17-digit double. (The values equal the
  // pipeline's within 1e-5 above; their bits may differ with the batch composition.)
  for (const line of plain.stdout().trim().split('\n')) {
    const written = /^\{"embedding":\[(.*)\]\}$/.exec(line)![1]!.split(',');
    assert.equal(written.length, 128);
    for (const text of written) assert.equal(text, float32ToString(Number(text)), line);
  }

  const cls = capture();
  await runEmbed(texts, { ...CLI, pooling: 'cls', normalize: true }, cls.io);
  cls.records().forEach((record, i) => {
    const first = tokens[i]![0]!;
    const norm = Math.hypot(...first);
    assertClose(
      record.embedding,
      first.map((x) => x / norm),
      `cls ${i}`,
    );
  });
});

test('ner: entity groups per text from a CSV column, as the pipeline gives them', { skip }, async () => {
  const dir = fixture('bert-tokcls', labelConfig(NER_LABELS));
  const direct = await pipeline('ner', dir, LOAD);
  const grouped = await direct.run(TEXTS, { aggregationStrategy: 'simple' });
  // The random fixture tags something in these texts, so the comparison below is not of empty lists.
  assert.ok(grouped.some((entities) => entities.length > 0));
  const perToken = await direct.run(TEXTS, { aggregationStrategy: 'first', ignoreLabels: ['O', 'B-PER'] });
  await direct.dispose();

  const input = write('ner.csv', 'id,body\n' + TEXTS.map((t, i) => `${i},${t}`).join('\n') + '\n');
  const simple = capture();
  await runNer([], { ...CLI, model: dir, input, column: 'body', batchSize: '2' }, simple.io);
  assertClose(
    simple.records().map((r) => r.entities),
    grouped,
  );
  const first = capture();
  await runNer(TEXTS, { ...CLI, model: dir, aggregation: 'first', ignoreLabels: 'O,B-PER' }, first.io);
  assertClose(
    first.records().map((r) => r.entities),
    perToken,
  );
  await rejectsNaming(runNer(['x'], { ...CLI, model: dir, ignoreLabels: ' , ' }), '--ignore-labels');
  await rejectsNaming(runNer(['x'], { ...CLI, model: dir, pairColumn: 'b' }), '--pair-column');
});

test(
  'qa: question/context columns of a JSONL file, and one --question asked of every context',
  { skip },
  async () => {
    const dir = fixture('bert-qa');
    const pairs = [
      { question: 'where does john live ?', context: 'john lives in new york and the cat sat on the mat .' },
      { question: 'what is the capital of france ?', context: 'paris is the capital of france .' },
    ];
    const direct = await pipeline('question-answering', dir, LOAD);
    const best = await direct.run(pairs);
    const top2 = await direct.run(pairs, { topK: 2, maxAnswerLen: 4 });
    const fixed = await direct.run(pairs.map((p) => ({ question: 'who ?', context: p.context })));
    await direct.dispose();

    const input = write('qa.jsonl', pairs.map((p) => JSON.stringify(p)).join('\n') + '\n');
    const one = capture();
    await runQa([], { ...CLI, model: dir, input }, one.io);
    assertClose(one.records(), best);
    const two = capture();
    await runQa([], { ...CLI, model: dir, input, topK: '2', maxAnswerLen: '4' }, two.io);
    two.records().forEach((record, i) => {
      const answers = top2[i] as Array<{ answer: string; score: number; start: number; end: number }>;
      assertClose(record, {
        answer: answers.map((a) => a.answer),
        score: answers.map((a) => a.score),
        start: answers.map((a) => a.start),
        end: answers.map((a) => a.end),
      });
    });
    const asked = capture();
    await runQa(
      pairs.map((p) => p.context),
      { ...CLI, model: dir, question: 'who ?' },
      asked.io,
    );
    assertClose(asked.records(), fixed);

    await rejectsNaming(runQa(['some context'], { ...CLI, model: dir }), '--question');
    await rejectsNaming(
      runQa(['some context'], { ...CLI, model: dir, question: 'who ?', docStride: 'x' }),
      '--doc-stride',
    );
  },
);

test(
  'fill-mask: top-k lists per mask; --targets; a text without the mask names its argument',
  { skip },
  async () => {
    const dir = fixture('bert-mlm');
    const texts = ['the cat sat on the [MASK] .', 'paris is in [MASK] and [MASK] is in france'];
    const direct = await pipeline('fill-mask', dir, LOAD);
    const expected = await direct.run(texts, { topK: 3 });
    const targeted = await direct.run(texts[0]!, { targets: ['mat', 'dog'] });
    await direct.dispose();

    const lists = (
      predictions: Array<{ token_str: string; score: number; token: number; sequence: string }>,
    ) => ({
      token_str: predictions.map((p) => p.token_str),
      score: predictions.map((p) => p.score),
      token: predictions.map((p) => p.token),
      sequence: predictions.map((p) => p.sequence),
    });
    const run = capture();
    await runFillMask(texts, { ...CLI, model: dir, topK: '3' }, run.io);
    const [single, double] = run.records();
    assertClose(single, lists(expected[0] as never));
    // Two masks: each field is one list per mask, in text order.
    const perMask = (expected[1] as never[]).map((m) => lists(m));
    assertClose(double, {
      token_str: perMask.map((m) => m.token_str),
      score: perMask.map((m) => m.score),
      token: perMask.map((m) => m.token),
      sequence: perMask.map((m) => m.sequence),
    });

    const targets = capture();
    await runFillMask([texts[0]!], { ...CLI, model: dir, targets: 'mat,dog' }, targets.io);
    assertClose(targets.records()[0], lists(targeted as never));

    await rejectsNaming(
      runFillMask(['no mask here', 'x [MASK]'], { ...CLI, model: dir }),
      '--input',
      /^argument 1: /,
    );
  },
);

test(
  'zero-shot: --labels scored per text, single- and multi-label, as the pipeline gives them',
  { skip },
  async () => {
    const dir = fixture('bert-seqcls', labelConfig(NLI_LABELS));
    const candidateLabels = ['cat', 'city', 'river'];
    const direct = await pipeline('zero-shot-classification', dir, LOAD);
    const single = await direct.run(TEXTS, { candidateLabels });
    const multi = await direct.run(TEXTS, {
      candidateLabels,
      multiLabel: true,
      hypothesisTemplate: 'it is about {} .',
    });
    await direct.dispose();

    const one = capture();
    await runZeroShot(TEXTS, { ...CLI, model: dir, labels: 'cat, city,river' }, one.io);
    assertClose(
      one.records(),
      single.map((r) => ({ label: r.labels, score: r.scores })),
    );
    const many = capture();
    await runZeroShot(
      TEXTS,
      {
        ...CLI,
        model: dir,
        labels: 'cat,city,river',
        multiLabel: true,
        hypothesisTemplate: 'it is about {} .',
      },
      many.io,
    );
    assertClose(
      many.records(),
      multi.map((r) => ({ label: r.labels, score: r.scores })),
    );
    await rejectsNaming(runZeroShot(['x'], { ...CLI, model: dir, labels: ',' }), '--labels');
    await rejectsNaming(
      runZeroShot(['x'], { ...CLI, model: dir, labels: 'a', hypothesisTemplate: 'no slot' }),
      '--hypothesis-template',
    );
  },
);
