/**
 * HTTP serving throughput against the offline pipeline on the same texts (issue 5), one command:
 *
 *   npx tsx bench/server.ts [--rounds 3] [--duration 20] [--warmup 3] [--connections 64] [--model DIR]
 *                           [--threads 2] [--replicas 1] [--limit N] [--serve-flags '{"maxBatchSize":"32"}']
 *
 * Each round: (1) the offline baseline, seqbatch's text-classification pipeline on the SST-2 dev sentences in a
 * fresh process; (2) seqbatch's server in a fresh process (bench/workers/serve-demo.ts: the production pipeline
 * engine and the serve flags' defaults) on a free loopback port, a warm-up, then autocannon with 64 concurrent
 * connections, each request `POST /classify {"inputs": "<one sentence>"}` cycling through the same sentences;
 * then SIGTERM and a wait for a clean exit; (3) the offline baseline again. The round's offline rate is the mean
 * of (1) and (3), so a steady drift of the host's speed over the round cancels out. autocannon runs in this
 * process, on the same 2 cores as the server, as any loopback benchmark does. Reports texts/s served as a share of offline seq/s, p50/p99 latency, errors,
 * the server's peak RSS (VmHWM), and from its /metrics read before and after the measured load: the batches' mean
 * size, the share of batches of 16 inputs or fewer, and the engine's busy share of the wall time. Default model:
 * the DistilBERT-base-shaped random checkpoint the model and pipeline benchmarks use (.cache/bench, written on
 * first use; --small for the 2-layer variant); --model DIR runs another folder, e.g. models/seqbatch-demo-sst2,
 * whose tiny encoder leaves HTTP as the main cost.
 * --threads is the intra-op threads of the offline pipeline and, divided among them, of the server's --replicas.
 * Workers run tsc-compiled JavaScript (bench/lib/build.ts); --tsx runs the TypeScript sources instead.
 * Prints Markdown; writes bench/out/server.json.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import autocannon from 'autocannon';
import { REPO_ROOT, runWorker, workerCommand } from './lib/child.js';
import { ensureBenchCheckpoint } from './lib/checkpoint.js';
import { readSst2Sentences } from './lib/data.js';
import { prepareWorkers } from './lib/build.js';
import { machineInfo, machineMarkdown } from './lib/machine.js';
import { log, writeJsonResult } from './lib/output.js';
import { markdownTable, median, percent, sig } from './lib/stats.js';

const { values: opts } = parseArgs({
  options: {
    tsx: { type: 'boolean', default: false },
    rounds: { type: 'string', default: '3' },
    duration: { type: 'string', default: '20' },
    warmup: { type: 'string', default: '3' },
    connections: { type: 'string', default: '64' },
    model: { type: 'string' },
    threads: { type: 'string', default: '2' },
    replicas: { type: 'string', default: '1' },
    limit: { type: 'string' },
    small: { type: 'boolean', default: false },
    'serve-flags': { type: 'string', default: '{}' },
  },
});
const rounds = Number(opts.rounds);
const replicas = Number(opts.replicas);
const serverThreads = Math.max(1, Math.floor(Number(opts.threads) / replicas));
const connections = Number(opts.connections);
const modelDir = opts.model ?? (await ensureBenchCheckpoint(opts.small));
const texts = readSst2Sentences('dev').slice(0, opts.limit ? Number(opts.limit) : undefined);
const machine = machineInfo(['onnxruntime-node', 'fastify', 'autocannon', 'tsx']);
log(machineMarkdown(machine));
prepareWorkers(opts.tsx!);

interface Server {
  child: ChildProcess;
  url: string;
}

/** Starts the server worker and resolves once it listens and /ready answers 200. */
async function startServer(): Promise<Server> {
  const child = spawn(
    process.execPath,
    [
      ...workerCommand('serve-demo.ts'),
      ...['--model', modelDir, '--threads', String(serverThreads), '--replicas', String(replicas)],
      ...['--flags', opts['serve-flags']!],
    ],
    {
      cwd: REPO_ROOT,
      env: { ...process.env, SEQBATCH_REPO_ROOT: REPO_ROOT },
      stdio: ['ignore', 'ignore', 'pipe'],
    },
  );
  let stderr = '';
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`server did not start in 120 s:\n${stderr}`)), 120_000);
    child.stderr!.setEncoding('utf8').on('data', (chunk: string) => {
      stderr += chunk;
      const match = / on (http:\/\/\S+)/.exec(stderr);
      if (match) {
        clearTimeout(timer);
        resolve(match[1]);
      }
    });
    child.on('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`server exited with ${code} before listening:\n${stderr}`));
    });
  });
  for (let attempt = 0; attempt < 200; attempt++) {
    const ready = await fetch(`${url}/ready`).catch(() => null);
    if (ready?.ok) return { child, url };
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`${url}/ready never answered 200`);
}

/** Peak resident set of a live process (Linux VmHWM), in MiB. */
function peakRssOf(pid: number): number | null {
  try {
    const line = readFileSync(`/proc/${pid}/status`, 'utf8')
      .split('\n')
      .find((l) => l.startsWith('VmHWM:'));
    return line ? Number(line.split(/\s+/)[1]) / 1024 : null;
  } catch {
    return null;
  }
}

async function stopServer(server: Server): Promise<number | null> {
  const exited = new Promise<number | null>((resolve) => server.child.on('exit', (code) => resolve(code)));
  server.child.kill('SIGTERM');
  const timeout = new Promise<'timeout'>((resolve) => setTimeout(() => resolve('timeout'), 15_000));
  const outcome = await Promise.race([exited, timeout]);
  if (outcome === 'timeout') {
    server.child.kill('SIGKILL');
    return null;
  }
  return outcome;
}

function load(url: string, duration: number) {
  let next = 0;
  return autocannon({
    url,
    connections,
    duration,
    timeout: 30,
    requests: [
      {
        method: 'POST',
        path: '/classify',
        headers: { 'content-type': 'application/json' },
        setupRequest: (request) => ({
          ...request,
          body: JSON.stringify({ inputs: texts[next++ % texts.length] }),
        }),
      },
    ],
  });
}

interface RoundResult {
  /** Mean of the offline runs before and after the server's. */
  offlineSeqPerSecond: number;
  offlineBefore: number;
  offlineAfter: number;
  served: number;
  requestsPerSecond: number;
  latencyP50: number;
  latencyP99: number;
  latencyMax: number;
  errors: number;
  non2xx: number;
  timeouts: number;
  serverPeakRssMiB: number | null;
  exitCode: number | null;
  labelMismatches: number;
  /** Batches run during the measured load, from the server's /metrics. */
  batches: number;
  meanBatchSize: number;
  /** Share of those batches holding 16 inputs or fewer. */
  smallBatchShare: number;
  /** Engine time (seqbatch_batch_duration_seconds) over the measured wall time. */
  engineBusyShare: number;
}

interface BatchMetrics {
  count: number;
  sizeSum: number;
  upTo16: number;
  secondsSum: number;
}

/** The classify batches' counters from /metrics (differences of two readings bracket the measured load). */
async function batchMetrics(url: string): Promise<BatchMetrics> {
  const text = await (await fetch(`${url}/metrics`)).text();
  const value = (pattern: RegExp) => Number(pattern.exec(text)?.[1] ?? NaN);
  return {
    count: value(/^seqbatch_batch_size_count\{task="classify"\} (\S+)$/m),
    sizeSum: value(/^seqbatch_batch_size_sum\{task="classify"\} (\S+)$/m),
    upTo16: value(/^seqbatch_batch_size_bucket\{task="classify",le="16"\} (\S+)$/m),
    secondsSum: value(/^seqbatch_batch_duration_seconds_sum\{task="classify"\} (\S+)$/m),
  };
}

/** One pass of seqbatch's offline text-classification pipeline over the texts, in a fresh process. */
async function runOffline(): Promise<{ seqPerSecond: number; labels: string[] }> {
  const args = ['--peer', 'seqbatch', '--checkpoint', modelDir, '--threads', opts.threads!];
  if (opts.limit) args.push('--limit', opts.limit);
  const offline = await runWorker<{ sequences: number; seconds: number[]; labels: string[] }>({
    worker: 'pipeline-peer.ts',
    args,
  });
  return { seqPerSecond: offline.sequences / median(offline.seconds), labels: offline.labels };
}

const results: RoundResult[] = [];
for (let round = 1; round <= rounds; round++) {
  const offline = await runOffline();

  const server = await startServer();
  // Sanity: the served labels must be the offline pipeline's.
  const sample = texts.slice(0, 16);
  const answer = (await (
    await fetch(`${server.url}/classify`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ inputs: sample }),
    })
  ).json()) as { label: string; score: number }[][];
  const labelMismatches = sample.filter((_, i) => answer[i]?.[0]?.label !== offline.labels[i]).length;

  await load(server.url, Number(opts.warmup));
  const before = await batchMetrics(server.url);
  const measured = await load(server.url, Number(opts.duration));
  const after = await batchMetrics(server.url);
  const serverPeakRssMiB = peakRssOf(server.child.pid!);
  const exitCode = await stopServer(server);
  // The host's speed drifts by several percent over a round; the mean of the offline runs just before and just
  // after the server's cancels a steady drift, which one run before it would fold into the ratio.
  const offlineAfter = await runOffline();
  const result: RoundResult = {
    offlineSeqPerSecond: (offline.seqPerSecond + offlineAfter.seqPerSecond) / 2,
    offlineBefore: offline.seqPerSecond,
    offlineAfter: offlineAfter.seqPerSecond,
    served: measured['2xx'],
    requestsPerSecond: measured['2xx'] / measured.duration,
    latencyP50: measured.latency.p50,
    latencyP99: measured.latency.p99,
    latencyMax: measured.latency.max,
    errors: measured.errors,
    non2xx: measured.non2xx,
    timeouts: measured.timeouts,
    serverPeakRssMiB,
    exitCode,
    labelMismatches,
    batches: after.count - before.count,
    meanBatchSize: (after.sizeSum - before.sizeSum) / (after.count - before.count),
    smallBatchShare: (after.upTo16 - before.upTo16) / (after.count - before.count),
    engineBusyShare: (after.secondsSum - before.secondsSum) / measured.duration,
  };
  results.push(result);
  log(
    `  round ${round}/${rounds}: offline ${sig(result.offlineBefore)} and ${sig(result.offlineAfter)} seq/s, served ${sig(result.requestsPerSecond)} ` +
      `req/s, p50 ${result.latencyP50} ms, p99 ${result.latencyP99} ms, errors ${result.errors + result.non2xx}, ` +
      `${result.batches} batches of ${sig(result.meanBatchSize)} on average (${percent(result.smallBatchShare, 0)} ` +
      `of ≤ 16), engine busy ${percent(result.engineBusyShare, 1)}`,
  );
}

const pick = (f: (r: RoundResult) => number) => median(results.map(f));
const offline = pick((r) => r.offlineSeqPerSecond);
const served = pick((r) => r.requestsPerSecond);
const table = markdownTable(
  [
    'offline pipeline (seq/s)',
    'served (texts/s)',
    'served ÷ offline (median of rounds)',
    'p50 latency (ms)',
    'p99 latency (ms)',
    'errors / non-2xx / timeouts',
    'server peak RSS (MiB)',
    'clean exit on SIGTERM',
    'labels ≠ offline (16 checked)',
    'mean batch size',
    'batches of ≤ 16',
    'engine busy',
  ],
  [
    [
      sig(offline),
      sig(served),
      percent(
        pick((r) => r.requestsPerSecond / r.offlineSeqPerSecond),
        1,
      ),
      sig(pick((r) => r.latencyP50)),
      sig(pick((r) => r.latencyP99)),
      `${results.reduce((s, r) => s + r.errors, 0)} / ${results.reduce((s, r) => s + r.non2xx, 0)} / ` +
        `${results.reduce((s, r) => s + r.timeouts, 0)}`,
      sig(pick((r) => r.serverPeakRssMiB ?? NaN)),
      results.every((r) => r.exitCode === 0) ? 'yes' : `no (${results.map((r) => r.exitCode).join(', ')})`,
      String(results.reduce((s, r) => s + r.labelMismatches, 0)),
      sig(pick((r) => r.meanBatchSize)),
      percent(
        pick((r) => r.smallBatchShare),
        0,
      ),
      percent(
        pick((r) => r.engineBusyShare),
        1,
      ),
    ],
  ],
);
const report = [
  '## Server (bench/server.ts)',
  '',
  machineMarkdown(machine),
  '',
  `Model ${modelDir.replace(`${REPO_ROOT}/`, '')}; ${texts.length} SST-2 dev sentences; ${opts.threads} intra-op ` +
    `threads${replicas > 1 ? ` (the server: ${replicas} replicas of ${serverThreads})` : ''}; autocannon, ${connections} connections on loopback, one sentence per \`POST /classify\`, ` +
    `${opts.warmup} s warm-up then ${opts.duration} s measured; server flags ${serveFlagsText()}; medians of ` +
    `${rounds} rounds (offline and server each in a fresh process per round; the offline rate is the mean of a ` +
    `run just before and one just after the server's). Errors are summed over rounds.`,
  '',
  `Per-round served ÷ offline: ${results.map((r) => percent(r.requestsPerSecond / r.offlineSeqPerSecond, 1)).join(', ')}; ` +
    `mean ${percent(results.reduce((sum, r) => sum + r.requestsPerSecond / r.offlineSeqPerSecond, 0) / results.length, 1)}.`,
  '',
  table,
  '',
].join('\n');
process.stdout.write(report);

function serveFlagsText(): string {
  const flags = JSON.parse(opts['serve-flags']!) as Record<string, string>;
  const set = Object.entries(flags).map(([k, v]) => `${k} ${v}`);
  return set.length === 0 ? 'at their defaults' : `at their defaults except ${set.join(', ')}`;
}
log(`wrote ${writeJsonResult('server', { machine, options: opts, modelDir, results })}`);
