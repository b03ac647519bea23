/**
 * `seqbatch jobs list` and `seqbatch jobs clean` on real processes and a private redis-server: list shows every
 * job with its progress; clean refuses a job with chunks left unless --force, and then leaves nothing of it in
 * Redis (record, counters, queued and parked chunks) or in the results folder; a chunk running when its job is
 * cleaned is dropped by its worker, which writes no results and recreates no key.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { Redis } from 'ioredis';
import type { JobStatus } from '../src/jobs/index.js';
import { JobsCli, stopWorker, untilStatus, writeSst2Train } from './helpers/jobs-cli.js';
import { TestRedis, skipUnlessRedis } from './helpers/redis-server.js';
import { skipUnlessShared } from './helpers/shared.js';

const skip = skipUnlessRedis() || skipUnlessShared('datasets', 'sst2');
const WORK = mkdtempSync(join(tmpdir(), 'seqbatch-jobs-clean-'));
const SMALL = join(WORK, 'small.tsv');
const BIG = join(WORK, 'big.tsv');
const RESULTS = join(WORK, 'results');
let redisServer: TestRedis;
let redis: Redis;
let cli: JobsCli;

before(async () => {
  if (skip) return;
  writeSst2Train(SMALL, 200);
  writeSst2Train(BIG, 6000);
  redisServer = await TestRedis.start();
  cli = await JobsCli.create(WORK, redisServer.url);
  redis = new Redis(redisServer.url, { maxRetriesPerRequest: null });
});
after(async () => {
  redis?.disconnect();
  await redisServer?.dispose();
  rmSync(WORK, { recursive: true, force: true });
});

async function submit(name: string, input: string, chunkSize: number): Promise<void> {
  const exit = await cli.run([
    'jobs',
    'submit',
    '--task',
    'classify',
    '--input',
    input,
    '--chunk-size',
    String(chunkSize),
    '--name',
    name,
    '--results-dir',
    RESULTS,
  ]);
  assert.equal(exit.code, 0, exit.stderr);
}

const until = (job: string, done: (status: JobStatus) => boolean, what: string) =>
  untilStatus(redis, redisServer.url, job, done, what);

/** Every Redis key that names the job: its record and done set, and BullMQ's hashes of its chunks. */
async function keysOf(job: string): Promise<string[]> {
  return (await redis.keys(`*${job}*`)).sort();
}

test(
  'list shows the jobs; clean refuses an unfinished job without --force and removes every trace',
  { skip },
  async () => {
    await submit('finished', SMALL, 100);
    await submit('pending', SMALL, 50);
    const worker = await cli.worker();
    await until('finished', (s) => s.finished, 'the first job');
    await until('pending', (s) => s.finished, 'the second job');
    assert.equal((await stopWorker(worker)).code, 143);
    await submit('waiting', SMALL, 50); // no worker: its 4 chunks wait

    const [listed, table] = await Promise.all([
      cli.run(['jobs', 'list', '--json']),
      cli.run(['jobs', 'list']),
    ]);
    assert.equal(listed.code, 0, listed.stderr);
    const jobs = listed.stdout
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as Record<string, unknown>);
    assert.deepEqual(
      jobs.map((j) => [j.job, j.task, j.chunks, j.done, j.rows, j.rows_done]),
      [
        ['finished', 'classify', 2, 2, 200, 200],
        ['pending', 'classify', 4, 4, 200, 200],
        ['waiting', 'classify', 4, 0, 200, 0],
      ],
    );
    assert.match(table.stdout, /^waiting\tclassify\tseqbatch-demo-sst2\t\S+\t0\/4 chunks\t0\/200 rows$/m);

    const refused = await cli.run(['jobs', 'clean', 'waiting']);
    assert.equal(refused.code, 2);
    assert.match(
      refused.stderr,
      /job waiting is not finished: 0 chunk\(s\) running, 4 waiting; pass --force/,
    );
    assert.ok(existsSync(join(RESULTS, 'waiting')), 'a refused clean leaves the folder');
    assert.ok((await keysOf('waiting')).length > 0);

    const forced = await cli.run(['jobs', 'clean', 'waiting', '--force']);
    assert.equal(forced.code, 0, forced.stderr);
    assert.match(forced.stderr, /removed job waiting: 4 queued or parked chunk\(s\)/);
    const finished = await cli.run(['jobs', 'remove', 'finished']);
    assert.equal(finished.code, 0, finished.stderr);
    for (const job of ['waiting', 'finished']) {
      assert.deepEqual(await keysOf(job), [], `no key of ${job} is left`);
      assert.ok(!existsSync(join(RESULTS, job)), `the folder of ${job} is gone`);
      const status = await cli.run(['jobs', 'status', job]);
      assert.equal(status.code, 2);
      assert.match(status.stderr, new RegExp(`job "${job}" not found`));
    }
    assert.ok(existsSync(join(RESULTS, 'pending', 'results')), 'other jobs are untouched');
    const left = await cli.run(['jobs', 'list', '--json']);
    assert.deepEqual(
      left.stdout
        .trim()
        .split('\n')
        .map((line) => (JSON.parse(line) as { job: string }).job),
      ['pending'],
    );
    const unknown = await cli.run(['jobs', 'clean', 'nosuchjob']);
    assert.equal(unknown.code, 2);
    assert.match(unknown.stderr, /job "nosuchjob" not found in Redis/);
  },
);

test('a chunk running when its job is cleaned is dropped by its worker', { skip }, async () => {
  await submit('cleaned-while-running', BIG, 3000);
  const worker = await cli.worker();
  try {
    await until('cleaned-while-running', (s) => s.running === 1, 'a running chunk');
    const forced = await cli.run(['jobs', 'clean', 'cleaned-while-running', '--force']);
    assert.equal(forced.code, 0, forced.stderr);
    assert.match(
      forced.stderr,
      /1 queued or parked chunk\(s\).*; 1 running chunk\(s\) will be dropped by their workers/,
    );
    while (!worker.stderr().includes('dropped')) {
      if (worker.child.exitCode !== null) throw new Error(worker.stderr());
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    assert.match(
      worker.stderr(),
      /chunk 0 of job cleaned-while-running dropped: the job was cleaned while it ran/,
    );
  } finally {
    await stopWorker(worker);
  }
  assert.deepEqual(await keysOf('cleaned-while-running'), []);
  assert.ok(!existsSync(join(RESULTS, 'cleaned-while-running')));
});
