/**
 * Issue 18: a corpus job through the queue against the local command, in one run on one machine. The same N SST-2
 * train rows (default 20,000) are classified by the bundled demo model four ways: `seqbatch classify` over the
 * file; `jobs submit` + one `jobs worker` + `jobs collect`; the same with two workers of 1 ONNX Runtime thread
 * each; and two workers of 2 threads each. Each job's collected file must equal the local output byte for byte.
 * Peers run one after the other, each as fresh processes of the CLI compiled to JavaScript, against a private
 * redis-server (append-only persistence on, as in production). Peak RSS is sampled from /proc every 100 ms.
 *
 *   npx tsx bench/jobs.ts [--rows 20000] [--chunk-size 1024]
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { Redis } from 'ioredis';
import { jobStatus } from '../src/jobs/index.js';
import { compileCli } from '../test/helpers/compiled-cli.js';
import { TestRedis } from '../test/helpers/redis-server.js';
import { BENCH_CACHE_DIR, sharedPath } from './lib/data.js';
import { machineInfo, machineMarkdown } from './lib/machine.js';
import { log, writeJsonResult } from './lib/output.js';
import { markdownTable, sig } from './lib/stats.js';

const { values } = parseArgs({
  options: { rows: { type: 'string', default: '20000' }, 'chunk-size': { type: 'string', default: '1024' } },
});
const ROWS = Number(values.rows);
const CHUNK = Number(values['chunk-size']);
const WORK = join(BENCH_CACHE_DIR, 'jobs');
rmSync(WORK, { recursive: true, force: true });
mkdirSync(WORK, { recursive: true });
const INPUT = join(WORK, 'input.tsv');
const lines = readFileSync(sharedPath('datasets', 'sst2', 'train.tsv'), 'utf8').split('\n');
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
  return { child, exited, peakMiB: () => peakKiB / 1024 };
}

async function timed<T>(work: () => Promise<T>): Promise<{ seconds: number; value: T }> {
  const t0 = performance.now();
  const value = await work();
  return { seconds: (performance.now() - t0) / 1000, value };
}

interface PeerResult {
  peer: string;
  seconds: number;
  /** Jobs: the workers' part (start of the workers to the last chunk done, model loading included). */
  workSeconds: number;
  submitSeconds: number;
  collectSeconds: number;
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
    workSeconds: seconds,
    submitSeconds: 0,
    collectSeconds: 0,
    peakMiB: run.peakMiB(),
    identical: true,
  };
}

async function jobPeer(peer: string, workers: number, workerFlags: string[]): Promise<PeerResult> {
  const name = `bench-${workers}-${workerFlags.join('')}`.replace(/[^A-Za-z0-9-]/g, '');
  const submit = await timed(
    () =>
      start([
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
      ]).exited,
  );
  const work = await timed(async () => {
    const running = Array.from({ length: workers }, () => start(['jobs', 'worker', ...workerFlags]));
    for (;;) {
      const status = await jobStatus(redis, name, redisServer.url);
      if (status.finished) break;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    return running;
  });
  for (const worker of work.value) worker.child.kill('SIGTERM');
  await Promise.all(work.value.map((w) => w.exited));
  const output = join(WORK, `${name}.jsonl`);
  const collect = await timed(() => start(['jobs', 'collect', name, '-o', output]).exited);
  return {
    peer,
    seconds: submit.seconds + work.seconds + collect.seconds,
    workSeconds: work.seconds,
    submitSeconds: submit.seconds,
    collectSeconds: collect.seconds,
    peakMiB: Math.max(...work.value.map((w) => w.peakMiB())),
    identical: readFileSync(output, 'utf8') === readFileSync(localOutput, 'utf8'),
  };
}

const results: PeerResult[] = [];
try {
  log(`local classify of ${ROWS} rows`);
  results.push(await localPeer());
  log('one worker');
  results.push(await jobPeer('job, 1 worker (2 threads)', 1, []));
  log('two workers, 1 thread each');
  results.push(await jobPeer('job, 2 workers (1 thread each)', 2, ['--threads', '1']));
  log('two workers, 2 threads each');
  results.push(await jobPeer('job, 2 workers (2 threads each)', 2, []));
} finally {
  redis.disconnect();
  await redisServer.dispose();
}

const local = results[0]!;
const oneWorker = results[1]!;
const table = markdownTable(
  [
    'peer',
    'wall (s)',
    'rows/s end to end',
    '÷ local',
    'submit (s)',
    'workers (s)',
    'rows/s of the workers',
    'workers ÷ local',
    'speed-up over 1 worker',
    'collect (s)',
    'peak RSS per process (MiB)',
    'output = local',
  ],
  results.map((r) => [
    r.peer,
    sig(r.seconds),
    sig(ROWS / r.seconds),
    `${sig((100 * local.seconds) / r.seconds)}%`,
    sig(r.submitSeconds),
    sig(r.workSeconds),
    sig(ROWS / r.workSeconds),
    `${sig((100 * local.seconds) / r.workSeconds)}%`,
    r === local ? '' : `${sig(oneWorker.workSeconds / r.workSeconds)}×`,
    sig(r.collectSeconds),
    sig(r.peakMiB),
    r.identical ? 'yes' : '**no**',
  ]),
);
process.stdout.write(`${machineMarkdown(machine)}\n\n${ROWS} rows, chunks of ${CHUNK}.\n\n${table}\n`);
log(`full result: ${writeJsonResult('jobs', { machine, rows: ROWS, chunkSize: CHUNK, results })}`);
