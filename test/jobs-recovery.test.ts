/**
 * The recovery checks on real processes: a job of 20,000 SST-2 rows (bundled demo model, small chunks)
 * run by three worker processes, one SIGKILLed while every worker is mid-chunk, another stopped and started
 * again, and Redis itself restarted (append-only persistence on) half-way: `collect` must give exactly the bytes
 * of a local `seqbatch classify` over the same file, with every chunk counted once. Beside it, a job with one
 * poisoned row (too long for the model, without --truncation): its chunk is parked after its attempts and named by
 * `status`, while the job's other chunks and the big job finish.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { Redis } from 'ioredis';
import type { JobStatus } from '../src/jobs/index.js';
import { JobsCli, stopWorker, untilStatus, writeSst2Train, type Started } from './helpers/jobs-cli.js';
import { TestRedis, skipUnlessRedis } from './helpers/redis-server.js';
import { skipUnlessShared } from './helpers/shared.js';

const skip = skipUnlessRedis() || skipUnlessShared('datasets', 'sst2');
const WORK = mkdtempSync(join(tmpdir(), 'seqbatch-jobs-recovery-'));
const INPUT = join(WORK, 'train20k.tsv');
const POISONED = join(WORK, 'poisoned.tsv');
const RESULTS = join(WORK, 'results');
/** Rows of the poisoned input, and the one row too long for the demo model (128 tokens at most). */
const POISON_ROWS = 600;
const POISON_AT = 333;
let redisServer: TestRedis;
let redis: Redis;
let cli: JobsCli;

before(async () => {
  if (skip) return;
  const lines = writeSst2Train(INPUT, 20_000);
  const poisoned = lines.slice(0, POISON_ROWS + 1);
  poisoned[POISON_AT + 1] = `${'an endless , winding review '.repeat(60)}\t0`;
  writeFileSync(POISONED, poisoned.join('\n') + '\n');
  redisServer = await TestRedis.start();
  cli = await JobsCli.create(WORK, redisServer.url);
  redis = new Redis(redisServer.url, { maxRetriesPerRequest: null });
  redis.on('error', () => {}); // reconnects across the restart below
});
after(async () => {
  redis?.disconnect();
  await redisServer?.dispose();
  rmSync(WORK, { recursive: true, force: true });
});

const until = (job: string, done: (status: JobStatus) => boolean, what: string) =>
  untilStatus(redis, redisServer.url, job, done, what);

async function submit(args: string[]): Promise<string> {
  const exit = await cli.run(['jobs', 'submit', '--task', 'classify', '--results-dir', RESULTS, ...args]);
  assert.equal(exit.code, 0, exit.stderr);
  return exit.stdout.trim();
}

test(
  '20,000 rows, a worker SIGKILLed mid-chunk, one restarted, Redis restarted: collect = local classify; a poisoned chunk is parked',
  { skip },
  async () => {
    const job = await submit([
      '--input',
      INPUT,
      '--chunk-size',
      '256',
      '--attempts',
      '3',
      '--backoff-ms',
      '200',
    ]);
    const poisonedJob = await submit([
      '--input',
      POISONED,
      '--chunk-size',
      '128',
      '--attempts',
      '2',
      '--backoff-ms',
      '100',
    ]);
    const workerFlags = ['--stalled-ms', '2000'];
    const workers: Started[] = await Promise.all([0, 1, 2].map(() => cli.worker(workerFlags)));

    // Kill one worker outright while all three hold a chunk.
    await until(job, (s) => s.rows_done >= 2000 && s.running === 3, 'three running chunks');
    workers[0]!.child.kill('SIGKILL');
    // Stop another cleanly and start it again.
    await until(job, (s) => s.rows_done >= 5000, '5,000 rows');
    assert.equal((await stopWorker(workers[1]!)).code, 143);
    workers[1] = await cli.worker(workerFlags);
    // Restart Redis under the workers.
    const beforeRestart = await until(job, (s) => s.rows_done >= 9000, '9,000 rows');
    assert.ok(!beforeRestart.finished, 'Redis restarts while the job runs');
    await redisServer.restart();

    const finished = await until(job, (s) => s.finished, 'the big job to finish');
    assert.deepEqual(
      [finished.chunks, finished.done, finished.failed, finished.rows, finished.rows_done],
      [79, 79, 0, 20_000, 20_000],
      'every chunk done and counted once',
    );
    const killed = await workers[0]!.exited;
    assert.equal(killed.signal, 'SIGKILL');

    // The poisoned job: its chunk parked after two attempts, named by status; the other four finished.
    const parkedStatus = await until(poisonedJob, (s) => s.finished, 'the poisoned job to finish');
    assert.equal(parkedStatus.done, 4);
    assert.equal(parkedStatus.failed, 1);
    const [parked] = parkedStatus.parked;
    assert.equal(parked!.chunk, Math.floor(POISON_AT / 128));
    assert.equal(parked!.attempts, 2);
    assert.match(
      parked!.error,
      new RegExp(`poisoned\\.tsv:${POISON_AT + 2}: \\d+ tokens exceed the model maximum of 128`),
    );
    const shown = await cli.run(['jobs', 'status', poisonedJob]);
    assert.match(shown.stdout, /chunks: 4 done, 0 running, 0 waiting, 1 failed \(of 5\)/);
    assert.match(
      shown.stdout,
      new RegExp(
        `parked: chunk 2 \\(rows 256-383\\) after 2 attempt\\(s\\): .*poisoned\\.tsv:${POISON_AT + 2}:`,
      ),
    );
    const refused = await cli.run(['jobs', 'collect', poisonedJob, '-o', join(WORK, 'poisoned.jsonl')]);
    assert.equal(refused.code, 2);
    assert.match(refused.stderr, /1 parked \(chunk 2: .*tokens exceed/);
    const followed = await cli.run([
      'jobs',
      'collect',
      poisonedJob,
      '--wait',
      '-o',
      join(WORK, 'poisoned.jsonl'),
    ]);
    assert.equal(followed.code, 2);
    assert.match(
      followed.stderr,
      /job \S+ has parked chunks \(chunk 2: .*tokens exceed.*\); the 256 rows before chunk 2 were written/,
    );

    await Promise.all(workers.slice(1).map(stopWorker));
    const collected = await cli.run(['jobs', 'collect', job, '-o', join(WORK, 'jobs.jsonl')]);
    assert.equal(collected.code, 0, collected.stderr);
    const local = await cli.run(['classify', '-i', INPUT, '-o', join(WORK, 'local.jsonl'), '--no-progress']);
    assert.equal(local.code, 0, local.stderr);
    const got = readFileSync(join(WORK, 'jobs.jsonl'), 'utf8');
    assert.equal(got.split('\n').length, 20_001);
    assert.ok(
      got === readFileSync(join(WORK, 'local.jsonl'), 'utf8'),
      'collect equals the local classify byte for byte',
    );
  },
);
