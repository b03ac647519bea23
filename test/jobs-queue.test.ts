/**
 * `seqbatch jobs` end to end on a small job, with real processes and a private redis-server: submit prints only
 * the job name, a worker of another model leaves the job alone, a worker of the job's model runs it, `status`
 * reports it (JSON keys as the issue names them), and `collect` writes the bytes and manifest of a local
 * `seqbatch classify` over the same file, in JSONL and in CSV, the same on a second collect; embed and ner jobs
 * (the latter on a token-classification fixture, served by that other worker) give their local commands' bytes. Then the refusals:
 * flags the task command rejects, a flag the model refuses (no job left), a submit failing half-way (the job marked
 * failed), --output at submit, an unfinished or unknown job, an unreachable Redis.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { Redis } from 'ioredis';
import { fixtureCheckpoint, labelConfig, NER_LABELS } from './helpers/fixture-checkpoints.js';
import { JobsCli, stopWorker } from './helpers/jobs-cli.js';
import { TestRedis, skipUnlessRedis } from './helpers/redis-server.js';
import { sharedPath, skipUnlessShared } from './helpers/shared.js';

const skip =
  skipUnlessRedis() || skipUnlessShared('datasets', 'sst2') || skipUnlessShared('fixtures', 'models');
const WORK = mkdtempSync(join(tmpdir(), 'seqbatch-jobs-'));
const INPUT = join(WORK, 'dev300.tsv');
const RESULTS = join(WORK, 'results');
let redis: TestRedis;
let cli: JobsCli;

before(async () => {
  if (skip) return;
  const lines = readFileSync(sharedPath('datasets', 'sst2', 'dev.tsv'), 'utf8').split('\n');
  writeFileSync(INPUT, lines.slice(0, 301).join('\n') + '\n');
  redis = await TestRedis.start();
  cli = await JobsCli.create(WORK, redis.url);
});
after(async () => {
  await redis?.dispose();
  rmSync(WORK, { recursive: true, force: true });
});

async function submitJob(args: string[]): Promise<string> {
  const exit = await cli.run(['jobs', 'submit', '--results-dir', RESULTS, ...args]);
  assert.equal(exit.code, 0, exit.stderr);
  return exit.stdout.trim();
}

function statusJson(stdout: string): Record<string, unknown> {
  const lines = stdout.trim().split('\n');
  assert.equal(lines.length, 1, `status --json prints one line, got: ${stdout}`);
  return JSON.parse(lines[0]!) as Record<string, unknown>;
}

test('a small job: submit, workers of two models, status, collect = local classify', { skip }, async () => {
  const flags = ['--top-k', '2', '--column', 'sentence'];
  const submit = await cli.run([
    'jobs',
    'submit',
    '--task',
    'classify',
    '--input',
    INPUT,
    '--chunk-size',
    '64',
    '--results-dir',
    RESULTS,
    ...flags,
  ]);
  assert.equal(submit.code, 0, submit.stderr);
  const lines = submit.stdout.split('\n');
  assert.equal(lines.length, 2, 'one line on stdout');
  const job = lines[0]!;
  assert.match(job, /^classify-\d{8}-\d{6}-[0-9a-f]{4}$/);

  let status = statusJson((await cli.run(['jobs', 'status', job, '--json'])).stdout);
  for (const key of ['chunks', 'done', 'running', 'waiting', 'failed', 'rows_done']) {
    assert.ok(key in status, `status --json has "${key}"`);
  }
  assert.deepEqual(
    [
      status.chunks,
      status.done,
      status.running,
      status.waiting,
      status.failed,
      status.rows_done,
      status.rows,
    ],
    [5, 0, 0, 5, 0, 0, 300],
  );

  // Jobs of other tasks: embed on the same model, ner on a token-classification fixture.
  const embedJob = await submitJob([
    '--task',
    'embed',
    '--input',
    INPUT,
    '--chunk-size',
    '128',
    '--name',
    'embed-300',
  ]);
  // collect --wait follows the embed job from before any worker runs it to its last chunk.
  const embedFollowed = cli.start([
    'jobs',
    'collect',
    embedJob,
    '--wait',
    '--interval-ms',
    '50',
    '-o',
    join(WORK, 'embed-followed.jsonl'),
  ]);
  const nerModel = fixtureCheckpoint(WORK, 'bert-tokcls', {
    config: labelConfig(NER_LABELS),
    withTokenizer: true,
  });
  const nerFlags = ['--model', nerModel, '--aggregation', 'first'];
  const nerJob = await submitJob([
    '--task',
    'ner',
    '--input',
    INPUT,
    '--chunk-size',
    '128',
    '--name',
    'ner-300',
    ...nerFlags,
  ]);

  // A worker of another model listens on that model's queue: it runs the ner job, and the classify job's chunks
  // never reach it.
  const other = await cli.worker(['--model', nerModel]);
  const nerWatched = await cli.run(['jobs', 'status', nerJob, '--watch', '--interval-ms', '200']);
  assert.equal(nerWatched.code, 0, nerWatched.stderr);
  status = statusJson((await cli.run(['jobs', 'status', job, '--json'])).stdout);
  assert.equal(status.waiting, 5, 'a worker of another model took nothing');
  await stopWorker(other);
  assert.match(other.stderr(), /on queue model-[0-9a-f]{16}/);
  // A worker opens its checkpoint's own task ahead of work when serve would run it (classify here), not another
  // head's (the token-classification fixture's ner opens on first use).
  assert.doesNotMatch(other.stderr(), /pipeline open/);

  const worker = await cli.worker();
  const watched = await cli.run(['jobs', 'status', job, '--watch', '--interval-ms', '200']);
  assert.equal(watched.code, 0, watched.stderr);
  assert.match(watched.stdout, /chunks: 5 done, 0 running, 0 waiting, 0 failed \(of 5\)/);
  assert.match(watched.stdout, /rows: 300 of 300 done/);
  // The same worker runs the embed job of its model.
  const embedWatched = await cli.run(['jobs', 'status', embedJob, '--watch', '--interval-ms', '200']);
  assert.equal(embedWatched.code, 0, embedWatched.stderr);
  const exit = await stopWorker(worker);
  assert.equal(exit.code, 143, 'a worker stops on SIGTERM with 143');
  assert.match(worker.stderr(), /classify pipeline open, waiting for chunks \(warmed up on 256 texts\)/);

  const local = await cli.run([
    'classify',
    '-i',
    INPUT,
    ...flags,
    '-o',
    join(WORK, 'local.jsonl'),
    '--no-progress',
  ]);
  assert.equal(local.code, 0, local.stderr);
  const localCsv = await cli.run([
    'classify',
    '-i',
    INPUT,
    ...flags,
    '-o',
    join(WORK, 'local.csv'),
    '--no-progress',
  ]);
  assert.equal(localCsv.code, 0, localCsv.stderr);
  for (const [name, local] of [
    ['jobs.jsonl', 'local.jsonl'],
    ['jobs.csv', 'local.csv'],
    ['again.jsonl', 'local.jsonl'],
  ]) {
    const collect = await cli.run(['jobs', 'collect', job, '--output', join(WORK, name!)]);
    assert.equal(collect.code, 0, collect.stderr);
    assert.equal(collect.stdout, '');
    assert.equal(readFileSync(join(WORK, name!), 'utf8'), readFileSync(join(WORK, local!), 'utf8'), name);
    // The manifest is the local command's: same fingerprint, same digests, so --resume accepts it.
    assert.deepEqual(JSON.parse(readFileSync(join(WORK, `${name}.seqbatch.json`), 'utf8')), {
      ...JSON.parse(readFileSync(join(WORK, `${local}.seqbatch.json`), 'utf8')),
      input: INPUT,
    });
  }
  assert.equal(readFileSync(join(WORK, 'jobs.jsonl'), 'utf8').split('\n').length, 301);

  // The other tasks give their local command's bytes too.
  for (const [name, args] of [
    [embedJob, ['embed']],
    [nerJob, ['ner', ...nerFlags]],
  ] as const) {
    const local = await cli.run([
      ...args,
      '-i',
      INPUT,
      '-o',
      join(WORK, `${name}.local.jsonl`),
      '--no-progress',
    ]);
    assert.equal(local.code, 0, local.stderr);
    const collect = await cli.run(['jobs', 'collect', name, '-o', join(WORK, `${name}.jsonl`)]);
    assert.equal(collect.code, 0, collect.stderr);
    const got = readFileSync(join(WORK, `${name}.jsonl`), 'utf8');
    assert.equal(got, readFileSync(join(WORK, `${name}.local.jsonl`), 'utf8'), name);
    assert.equal(got.split('\n').length, 301);
  }
  const followed = await embedFollowed.exited;
  assert.equal(followed.code, 0, followed.stderr);
  assert.equal(
    readFileSync(join(WORK, 'embed-followed.jsonl'), 'utf8'),
    readFileSync(join(WORK, `${embedJob}.local.jsonl`), 'utf8'),
    'collect --wait started before the workers writes the same bytes',
  );
});

test('refusals name the flag, the job or the Redis URL', { skip }, async () => {
  const submit = (...args: string[]) =>
    cli.run(['jobs', 'submit', '--input', INPUT, '--results-dir', RESULTS, ...args]);
  // Independent refusals run side by side (each is a process start).
  const [topK, output, int8, task, name] = await Promise.all([
    submit('--task', 'classify', '--top-k', 'many'),
    submit('--task', 'classify', '--output', join(WORK, 'x.jsonl')),
    submit('--task', 'embed', '--precision', 'int8'),
    submit('--task', 'translate'),
    submit('--task', 'classify', '--name', 'bad name!'),
  ]);
  assert.equal(topK.code, 2);
  assert.match(topK.stderr, /--top-k: expected a whole number/);
  assert.equal(output.code, 2);
  assert.match(output.stderr, /--output: a job's rows are written by "seqbatch jobs collect/);
  assert.equal(int8.code, 2);
  assert.match(int8.stderr, /--calibration/);
  assert.notEqual(task.code, 0);
  assert.match(task.stderr, /--task.*translate/);
  assert.equal(name.code, 2);
  assert.match(name.stderr, /--name: expected a job name/);

  let exit = await submit('--task', 'classify', '--name', 'pending', '--chunk-size', '100');
  assert.equal(exit.code, 0, exit.stderr);
  assert.equal(exit.stdout, 'pending\n');
  exit = await submit('--task', 'classify', '--name', 'pending');
  assert.equal(exit.code, 2);
  assert.match(exit.stderr, /a job "pending" already exists/);
  exit = await cli.run(['jobs', 'collect', 'pending', '-o', join(WORK, 'pending.jsonl')]);
  assert.equal(exit.code, 2);
  assert.match(
    exit.stderr,
    /job pending is not finished: 0 of 3 chunks done, 0 running, 3 waiting, 0 parked \(collect --wait follows it/,
  );

  // A flag only the model can refuse: the check runs while the first chunks are queued, and fails with the local
  // command's own error; no name is printed and nothing of the job is left (keys, queued chunks, files).
  const [checked, local] = await Promise.all([
    submit('--task', 'classify', '--name', 'toolong', '--max-length', '1000', '--chunk-size', '10'),
    cli.run(['classify', '--input', INPUT, '--max-length', '1000']),
  ]);
  assert.equal(checked.code, 2);
  assert.equal(checked.stdout, '');
  assert.match(checked.stderr, /--max-length: 1000 exceeds the model maximum of 128 tokens/);
  assert.equal(checked.stderr, local.stderr);
  const client = new Redis(redis.url);
  try {
    assert.deepEqual(await client.keys('*toolong*'), []);
  } finally {
    client.disconnect();
  }
  assert.equal(existsSync(join(RESULTS, 'toolong')), false);

  // A submit that fails half-way (a malformed row after 250 good ones) marks its job failed with the error, which
  // status shows and collect names.
  const broken = join(WORK, 'broken.jsonl');
  writeFileSync(broken, '{"text": "a fine film"}\n'.repeat(250) + 'not json\n');
  exit = await cli.run([
    'jobs',
    'submit',
    '--task',
    'classify',
    '--input',
    broken,
    '--results-dir',
    RESULTS,
    '--name',
    'broken',
    '--chunk-size',
    '100',
  ]);
  assert.equal(exit.code, 2);
  assert.match(exit.stderr, /broken\.jsonl:251: malformed JSON line/);
  exit = await cli.run(['jobs', 'status', 'broken', '--json']);
  const failed = statusJson(exit.stdout);
  assert.equal(failed.submitted, false);
  assert.match(String(failed.submit_error), /broken\.jsonl:251: malformed JSON line/);
  exit = await cli.run(['jobs', 'status', 'broken']);
  assert.match(exit.stdout, /\[submit failed after 2 chunk\(s\): .*broken\.jsonl:251/);
  exit = await cli.run(['jobs', 'collect', 'broken', '--wait', '-o', join(WORK, 'broken.out.jsonl')]);
  assert.equal(exit.code, 2);
  assert.match(
    exit.stderr,
    /job broken: its submit failed \(.*broken\.jsonl:251.*\); the 0 rows before chunk 0 were written/,
  );

  exit = await cli.run(['jobs', 'status', 'nosuchjob']);
  assert.equal(exit.code, 2);
  assert.match(exit.stderr, /job "nosuchjob" not found in Redis at redis:\/\/127\.0\.0\.1:\d+ \(REDIS_URL\)/);
  exit = await cli.run(['jobs', 'status', 'pending'], { REDIS_URL: 'redis://127.0.0.1:1' });
  assert.equal(exit.code, 2);
  assert.match(exit.stderr, /cannot reach Redis at redis:\/\/127\.0\.0\.1:1 \(REDIS_URL\)/);
});
