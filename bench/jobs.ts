/**
 * Issue 18: a corpus job through the queue against the local command, in one run on one machine. The same N SST-2
 * train rows (default 20,000; `--rows all` for the whole train set) are classified by the bundled demo model:
 * `seqbatch classify` over the file, then jobs timed end to end, from the start of `jobs submit` to the end of
 * `jobs collect --wait` (started as soon as submit prints the job name, so it writes chunks while the workers
 * run). Workers are started before the job, as a pool waiting for work would be, and the job is submitted once
 * they have opened their pipeline (which a worker does at start): one fresh worker (its first job), the same worker
 * on a second job, two fresh workers of 1 ONNX Runtime
 * thread each, and two of 2 threads each. Each job's collected file must equal the local output byte for byte.
 * Also timed: a plain `collect` of a finished job, and `submit` alone. Every peer is fresh processes of the CLI
 * compiled to JavaScript, one peer after the other, against a private redis-server (append-only persistence,
 * fsync on every write, as in production). Peak RSS is sampled from /proc every 100 ms.
 *
 * With `--rounds N` every peer runs N times, round after round (each round every peer once, in the same order), and
 * the table gives medians, with each round's ratio to that round's local run.
 *
 *   npx tsx bench/jobs.ts [--rows 20000|all] [--chunk-size 1024] [--rounds 1]
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { Redis } from 'ioredis';
import { compileCli } from '../test/helpers/compiled-cli.js';
import { TestRedis } from '../test/helpers/redis-server.js';
import { BENCH_CACHE_DIR, sharedPath } from './lib/data.js';
import { machineInfo, machineMarkdown } from './lib/machine.js';
import { log, writeJsonResult } from './lib/output.js';
import { markdownTable, median, sig } from './lib/stats.js';

const { values } = parseArgs({
  options: {
    rows: { type: 'string', default: '20000' },
    'chunk-size': { type: 'string', default: '1024' },
    rounds: { type: 'string', default: '1' },
  },
});
const ROUNDS = Number(values.rounds);
const lines = readFileSync(sharedPath('datasets', 'sst2', 'train.tsv'), 'utf8')
  .trimEnd()
  .split('\n');
const ROWS = values.rows === 'all' ? lines.length - 1 : Number(values.rows);
const CHUNK = Number(values['chunk-size']);
const WORK = join(BENCH_CACHE_DIR, 'jobs');
rmSync(WORK, { recursive: true, force: true });
mkdirSync(WORK, { recursive: true });
const INPUT = join(WORK, 'input.tsv');
writeFileSync(INPUT, lines.slice(0, ROWS + 1).join('\n') + '\n');

const machine = machineInfo(['onnxruntime-node', 'bullmq', 'ioredis']);
const nodeArgs = await compileCli(join(WORK, 'cli'));
const redisServer = await TestRedis.start();
const redis = new Redis(redisServer.url, { maxRetriesPerRequest: null });
const env = { ...process.env, REDIS_URL: redisServer.url, SEQBATCH_CACHE: join(WORK, 'graph-cache') };

/** A CLI process with its peak RSS (VmHWM, sampled until it exits). */
function start(args: string[]) {
  const child = spawn(process.execPath, nodeArgs(args), { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  let peakKiB = 0;
  const sampler = setInterval(() => {
    try {
      const status = readFileSync(`/proc/${child.pid}/status`, 'utf8');
      peakKiB = Math.max(peakKiB, Number(/VmHWM:\s+(\d+)/.exec(status)?.[1] ?? 0));
    } catch {
      // exited between samples
    }
  }, 100);
  const exited = once(child, 'exit').then(([code]) => {
    clearInterval(sampler);
    if (code !== 0 && code !== 143) throw new Error(`seqbatch ${args.join(' ')} exited ${code}: ${stderr}`);
    return { stdout, stderr };
  });
  return { child, exited, stdout: () => stdout, stderr: () => stderr, peakMiB: () => peakKiB / 1024 };
}

async function timed<T>(work: () => Promise<T>): Promise<{ seconds: number; value: T }> {
  const t0 = performance.now();
  const value = await work();
  return { seconds: (performance.now() - t0) / 1000, value };
}

interface PeerResult {
  peer: string;
  /** End to end: submit start to collect end (the local command: its whole run). */
  seconds: number;
  /** Submit start until it exits (it queues the last chunk). */
  submitSeconds: number;
  /** Submit start until the last chunk is done (from the job's counters). */
  lastChunkSeconds: number;
  /** Last chunk done until collect --wait exits. */
  collectTailSeconds: number;
  peakMiB: number;
  identical: boolean;
}

const localOutput = join(WORK, 'local.jsonl');

async function localPeer(): Promise<PeerResult> {
  const run = start(['classify', '-i', INPUT, '-o', localOutput, '--no-progress']);
  const { seconds } = await timed(() => run.exited);
  return {
    peer: 'local `seqbatch classify`',
    seconds,
    submitSeconds: 0,
    lastChunkSeconds: seconds,
    collectTailSeconds: 0,
    peakMiB: run.peakMiB(),
    identical: true,
  };
}

type Started = ReturnType<typeof start>;

/** Starts workers and waits until each listens on its queue with its pipeline open (a pool waiting for work). */
async function startWorkers(count: number, flags: string[]): Promise<Started[]> {
  const workers = Array.from({ length: count }, () => start(['jobs', 'worker', ...flags]));
  for (const worker of workers) {
    while (!worker.stderr().includes('pipeline open, waiting for chunks')) {
      if (worker.child.exitCode !== null) throw new Error(`a worker exited: ${worker.stderr()}`);
      await new Promise((done) => setTimeout(done, 20));
    }
  }
  return workers;
}

async function stopWorkers(workers: Started[]): Promise<void> {
  for (const worker of workers) worker.child.kill('SIGTERM');
  await Promise.all(workers.map((w) => w.exited));
}

let jobs = 0;

/** One job through running workers: submit, and collect --wait from the moment the job name is printed. */
async function jobPeer(peer: string, workers: Started[]): Promise<PeerResult> {
  const name = `bench-${++jobs}`;
  const output = join(WORK, `${name}.jsonl`);
  const t0 = Date.now(); // epoch ms, as the workers' last_done_at
  const submit = start([
    'jobs',
    'submit',
    '--task',
    'classify',
    '--input',
    INPUT,
    '--chunk-size',
    String(CHUNK),
    '--name',
    name,
    '--results-dir',
    join(WORK, 'results'),
  ]);
  while (!submit.stdout().includes('\n')) {
    if (submit.child.exitCode !== null) break;
    await new Promise((done) => setTimeout(done, 5));
  }
  const collect = start(['jobs', 'collect', name, '--wait', '--interval-ms', '50', '-o', output]);
  const submitted = submit.exited.then(() => Date.now());
  await collect.exited;
  const end = Date.now();
  const submitEnd = await submitted;
  const lastDoneAt = Number(await redis.hget(`seqbatch:job:${name}`, 'last_done_at'));
  return {
    peer,
    seconds: (end - t0) / 1000,
    submitSeconds: (submitEnd - t0) / 1000,
    lastChunkSeconds: (lastDoneAt - t0) / 1000,
    collectTailSeconds: (end - lastDoneAt) / 1000,
    peakMiB: Math.max(...workers.map((w) => w.peakMiB())),
    identical: readFileSync(output, 'utf8') === readFileSync(localOutput, 'utf8'),
  };
}

/** Each round runs every peer once, in the same order, so each round's ratios compare peers run side by side. */
const rounds: PeerResult[][] = [];
/** A plain `collect` of a finished job, once per round. */
const plainCollectRounds: number[] = [];
try {
  for (let round = 1; round <= ROUNDS; round++) {
    log(`round ${round} of ${ROUNDS}`);
    rounds.push(await runRound());
  }
} finally {
  redis.disconnect();
  await redisServer.dispose();
}

async function runRound(): Promise<PeerResult[]> {
  const results: PeerResult[] = [];
  log(`local classify of ${ROWS} rows`);
  results.push(await localPeer());
  log('one worker, fresh');
  const one = await startWorkers(1, []);
  results.push(await jobPeer('job, 1 worker (2 threads), fresh', one));
  log('the same worker, second job');
  results.push(await jobPeer('job, 1 worker (2 threads), second job', one));
  await stopWorkers(one);
  log('collect of a finished job');
  plainCollectRounds.push(
    (await timed(() => start(['jobs', 'collect', `bench-${jobs}`, '-o', join(WORK, 'again.jsonl')]).exited))
      .seconds,
  );
  log('two workers, 1 thread each');
  const twoThin = await startWorkers(2, ['--threads', '1']);
  results.push(await jobPeer('job, 2 workers (1 thread each), fresh', twoThin));
  await stopWorkers(twoThin);
  log('two workers, 2 threads each');
  const twoWide = await startWorkers(2, []);
  results.push(await jobPeer('job, 2 workers (2 threads each), fresh', twoWide));
  await stopWorkers(twoWide);
  return results;
}

/** Per peer: the median of its rounds (ratios are medians of each round's own ratio). */
const results = rounds[0]!.map((first, i): PeerResult & { ratios: number[]; speedUps: number[] } => {
  const runs = rounds.map((round) => round[i]!);
  const of = (pick: (r: PeerResult) => number) => median(runs.map(pick));
  return {
    peer: first.peer,
    seconds: of((r) => r.seconds),
    submitSeconds: of((r) => r.submitSeconds),
    lastChunkSeconds: of((r) => r.lastChunkSeconds),
    collectTailSeconds: of((r) => r.collectTailSeconds),
    peakMiB: Math.max(...runs.map((r) => r.peakMiB)),
    identical: runs.every((r) => r.identical),
    ratios: rounds.map((round) => round[0]!.seconds / round[i]!.seconds),
    speedUps: rounds.map((round) => round[1]!.seconds / round[i]!.seconds),
  };
});
const local = results[0]!;
const table = markdownTable(
  [
    'peer',
    'end to end (s)',
    'rows/s end to end',
    '÷ local (median)',
    '÷ local, each round',
    'speed-up over 1 fresh worker',
    'submit exits (s)',
    'last chunk done (s)',
    'collect after the last chunk (s)',
    'peak RSS per worker (MiB)',
    'output = local',
  ],
  results.map((r) => [
    r.peer,
    sig(r.seconds),
    sig(ROWS / r.seconds),
    `${sig(100 * median(r.ratios))}%`,
    r === local ? '' : r.ratios.map((x) => `${sig(100 * x)}%`).join(', '),
    r === local ? '' : `${sig(median(r.speedUps))}×`,
    r === local ? '' : sig(r.submitSeconds),
    sig(r.lastChunkSeconds),
    r === local ? '' : sig(r.collectTailSeconds),
    sig(r.peakMiB),
    r.identical ? 'yes' : '**no**',
  ]),
);
const plainCollectSeconds = median(plainCollectRounds);
process.stdout.write(
  `${machineMarkdown(machine)}\n\n${ROWS} rows, chunks of ${CHUNK}, ${ROUNDS} round(s) (medians).\n\n${table}\n\n` +
    `A plain \`jobs collect\` of the finished ${ROWS}-row job (no --wait, median of the rounds): ${sig(plainCollectSeconds)} s.\n`,
);
log(
  `full result: ${writeJsonResult('jobs', { machine, rows: ROWS, chunkSize: CHUNK, plainCollectRounds, rounds })}`,
);
