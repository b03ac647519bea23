/**
 * Jobs of the other row commands: qa (question/context columns of a JSONL file), fill-mask, zero-shot,
 * similarity (--against a file, given by a relative path) and rerank (chunks scored by the worker, ranked by
 * collect), each cut into several chunks and run by a worker of its model; `collect` must give the local command's
 * bytes. With `--batch-size 2` and chunks of 8 rows (2 × 4 rows per
 * pipeline call) the worker runs the very model batches of the local command.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { Redis } from 'ioredis';
import { jobKey, type JobRecord } from '../src/jobs/job-record.js';
import { fixtureCheckpoint, labelConfig, NLI_LABELS } from './helpers/fixture-checkpoints.js';
import { JobsCli, stopWorker, type Started } from './helpers/jobs-cli.js';
import { TestRedis, skipUnlessRedis } from './helpers/redis-server.js';
import { sharedPath, skipUnlessShared } from './helpers/shared.js';
import { skipStFolder, stFolder } from './helpers/st-fixtures.js';

const skip =
  skipUnlessRedis() ||
  skipUnlessShared('fixtures', 'models') ||
  skipUnlessShared('datasets', 'sst2') ||
  skipStFolder('ce-bert-sigmoid');
const WORK = mkdtempSync(join(tmpdir(), 'seqbatch-jobs-tasks-'));
const RESULTS = join(WORK, 'results');
let redis: TestRedis;
let cli: JobsCli;

/** Sentences in the fixture tokenizer's words. */
const SUBJECTS = ['the cat', 'john', 'the old dog', 'a small bird', 'the red car', 'the sun'];
const PLACES = ['on the mat', 'in new york', 'in paris', 'in the river', 'on the road', 'in the big house'];
const SENTENCES = SUBJECTS.flatMap((subject, i) =>
  PLACES.slice(0, 3).map(
    (place, j) => `${subject} ${j % 2 === 0 ? 'sat' : 'lives'} ${PLACES[(i + j) % 6]} .`,
  ),
);

before(async () => {
  if (skip) return;
  redis = await TestRedis.start();
  cli = await JobsCli.create(WORK, redis.url);
});
after(async () => {
  await redis?.dispose();
  rmSync(WORK, { recursive: true, force: true });
});

function write(name: string, lines: readonly string[]): string {
  const file = join(WORK, name);
  writeFileSync(file, lines.join('\n') + '\n');
  return file;
}

/** Runs `seqbatch TASK` locally and as a job (chunks of 8), and checks the collected bytes equal the local ones. */
async function sameAsLocal(task: string, input: string, flags: string[], name: string): Promise<number> {
  const batch = ['--batch-size', '2'];
  const [local, submitted] = await Promise.all([
    cli.run(
      [task, '-i', input, ...batch, ...flags, '-o', join(WORK, `${name}.local.jsonl`), '--no-progress'],
      {},
      WORK,
    ),
    cli.run(
      [
        'jobs',
        'submit',
        '--task',
        task,
        '--input',
        input,
        '--chunk-size',
        '8',
        '--name',
        name,
        '--results-dir',
        RESULTS,
        ...batch,
        ...flags,
      ],
      {},
      WORK,
    ),
  ]);
  assert.equal(local.code, 0, local.stderr);
  assert.equal(submitted.code, 0, submitted.stderr);
  assert.equal(submitted.stdout, `${name}\n`);
  const collected = await cli.run([
    'jobs',
    'collect',
    name,
    '--wait',
    '--interval-ms',
    '50',
    '-o',
    join(WORK, `${name}.jsonl`),
  ]);
  assert.equal(collected.code, 0, collected.stderr);
  const got = readFileSync(join(WORK, `${name}.jsonl`), 'utf8');
  assert.equal(got, readFileSync(join(WORK, `${name}.local.jsonl`), 'utf8'), `${task}: collect = local`);
  return got.trimEnd().split('\n').length;
}

test(
  "qa, fill-mask, zero-shot, similarity and rerank jobs give their local command's bytes",
  { skip },
  async () => {
    const qaModel = fixtureCheckpoint(WORK, 'bert-qa', { withTokenizer: true });
    const mlmModel = fixtureCheckpoint(WORK, 'bert-mlm', { withTokenizer: true });
    const nliModel = fixtureCheckpoint(WORK, 'bert-seqcls', {
      config: labelConfig(NLI_LABELS),
      withTokenizer: true,
    });
    const questions = ['where does john live ?', 'what is the capital of france ?', 'who sat on the mat ?'];
    const qaInput = write(
      'qa.jsonl',
      SENTENCES.map((context, i) => JSON.stringify({ question: questions[i % 3], context })),
    );
    const maskInput = write(
      'mask.txt',
      SENTENCES.map((text, i) =>
        i % 5 === 0
          ? text.replace(/^\S+/, '[MASK]').replace(/ \.$/, ' [MASK] .')
          : text.replace(/ \S+ \.$/, ' [MASK] .'),
      ),
    );
    const plainInput = write('plain.txt', SENTENCES);
    const against = write('against.txt', [
      'the cat sat on the mat .',
      'paris is in france',
      'the green tree',
    ]);
    const crossEncoder = stFolder('ce-bert-sigmoid');
    const sst2 = readFileSync(sharedPath('datasets', 'sst2', 'dev.tsv'), 'utf8').split('\n');
    const reviews = write('reviews.tsv', sst2.slice(0, 21));

    const workers: Started[] = await Promise.all(
      [qaModel, mlmModel, nliModel, crossEncoder, undefined].map((model) =>
        cli.worker(model === undefined ? [] : ['--model', model]),
      ),
    );
    try {
      const rows = await Promise.all([
        sameAsLocal('qa', qaInput, ['--model', qaModel, '--top-k', '2'], 'qa-job'),
        sameAsLocal('fill-mask', maskInput, ['--model', mlmModel, '--top-k', '3'], 'fill-mask-job'),
        sameAsLocal(
          'zero-shot',
          plainInput,
          ['--model', nliModel, '--labels', 'cat,city,river', '--multi-label'],
          'zero-shot-job',
        ),
        // --against by a path relative to the submitter's folder: the worker runs elsewhere.
        sameAsLocal('similarity', reviews, ['--against', 'against.txt'], 'similarity-job'),
        // The chunks' scores are ranked by collect: the best 10 of the 18 documents, with their text.
        sameAsLocal(
          'rerank',
          plainInput,
          ['--model', crossEncoder, '--query', 'who lives in paris ?', '--top-k', '10', '--return-documents'],
          'rerank-job',
        ),
      ]);
      assert.deepEqual(rows, [18, 18, 18, 20, 10]);
      // The cross-encoder's worker opened its rerank pipeline while it waited for work.
      assert.match(workers[3]!.stderr(), /rerank pipeline open, waiting for chunks/);
      // The job records --against as the absolute path it named in the submitter's folder.
      const client = new Redis(redis.url);
      try {
        const record = JSON.parse((await client.hget(jobKey('similarity-job'), 'record'))!) as JobRecord;
        assert.equal(record.options.against, against);
      } finally {
        client.disconnect();
      }

      // Each task's flags are checked as its command checks them.
      const submit = (...args: string[]) =>
        cli.run(['jobs', 'submit', '--input', plainInput, '--results-dir', RESULTS, ...args]);
      const [pairs, labels, question] = await Promise.all([
        submit('--task', 'fill-mask', '--model', mlmModel, '--pair-column', 'x'),
        submit('--task', 'zero-shot', '--model', nliModel),
        submit('--task', 'qa', '--model', qaModel, '--question', ' '),
      ]);
      assert.equal(pairs.code, 2);
      assert.match(pairs.stderr, /--pair-column: fill-mask reads one text per row/);
      assert.equal(labels.code, 2);
      assert.match(labels.stderr, /--labels/);
      assert.equal(question.code, 2);
      assert.match(question.stderr, /--question: expected a question/);
    } finally {
      await Promise.all(workers.map(stopWorker));
    }
  },
);
