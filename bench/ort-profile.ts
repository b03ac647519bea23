/**
 * Where ONNX Runtime spends a pipeline's time, by operator type, read from ORT's own profiler (the
 * `profileFilePrefix` runtime option):
 *
 *   npx tsx bench/ort-profile.ts [--order random|sorted] [--group 33] [--passes 2] [--model DIR] [--small]
 *
 * random (default): the SST-2 dev sentences shuffled (fixed seed) and run in consecutive groups of --group, one
 * pipeline call per group on the packed graph, as the server runs its batches; sorted: all of them in one call on
 * the default `packed: 'auto'`, length-sorted by the scheduler, as the offline pipeline runs. Each pass is timed;
 * a 64-text warm-up runs first and is profiled too. Default model: the DistilBERT-base-shaped checkpoint of the
 * other benchmarks. Prints kernel time per operator type (Markdown); writes bench/out/ort-profile.json.
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { pipeline } from '../src/pipelines/index.js';
import { mulberry32 } from '../src/util/random.js';
import { ensureBenchCheckpoint } from './lib/checkpoint.js';
import { BENCH_CACHE_DIR, readSst2Sentences } from './lib/data.js';
import { machineInfo, machineMarkdown } from './lib/machine.js';
import { log, writeJsonResult } from './lib/output.js';
import { markdownTable, percent, sig } from './lib/stats.js';

const { values: opts } = parseArgs({
  options: {
    order: { type: 'string', default: 'random' },
    group: { type: 'string', default: '33' },
    passes: { type: 'string', default: '2' },
    model: { type: 'string' },
    small: { type: 'boolean', default: false },
  },
});
if (opts.order !== 'random' && opts.order !== 'sorted') throw new Error('--order must be random or sorted');
const group = Number(opts.group);
const modelDir = opts.model ?? (await ensureBenchCheckpoint(opts.small));
const texts = readSst2Sentences('dev');
log(machineMarkdown(machineInfo(['onnxruntime-node'])));

const profileDir = mkdtempSync(join(tmpdir(), 'seqbatch-ort-profile-'));
const classify = await pipeline('text-classification', modelDir, {
  threads: 2,
  packed: opts.order === 'random' ? true : 'auto',
  cacheDir: join(BENCH_CACHE_DIR, 'graph-cache'),
  profileFilePrefix: join(profileDir, 'session'),
});
const random = mulberry32(7);
const shuffled = texts.slice();
for (let i = shuffled.length - 1; i > 0; i--) {
  const j = Math.floor(random() * (i + 1));
  [shuffled[i], shuffled[j]] = [shuffled[j]!, shuffled[i]!];
}
await classify.run(texts.slice(0, 64));
const seqPerSecond: number[] = [];
for (let pass = 0; pass < Number(opts.passes); pass++) {
  const start = performance.now();
  if (opts.order === 'sorted') await classify.run(texts);
  else {
    for (let at = 0; at < shuffled.length; at += group) {
      const batch = shuffled.slice(at, at + group);
      await classify.run(batch, { batchSize: batch.length });
    }
  }
  seqPerSecond.push(texts.length / ((performance.now() - start) / 1000));
}
await classify.dispose(); // ORT writes the profile when the session is released

interface TraceEvent {
  cat?: string;
  name: string;
  dur?: number;
  args?: { op_name?: string };
}
const byOp = new Map<string, number>();
let runs = 0;
const files = readdirSync(profileDir).filter((f) => f.endsWith('.json'));
for (const file of files) {
  for (const event of JSON.parse(readFileSync(join(profileDir, file), 'utf8')) as TraceEvent[]) {
    if (event.cat === 'Session' && event.name === 'model_run') runs++;
    if (event.cat !== 'Node' || !event.name.endsWith('_kernel_time') || !event.args?.op_name) continue;
    byOp.set(event.args.op_name, (byOp.get(event.args.op_name) ?? 0) + (event.dur ?? 0));
  }
}
rmSync(profileDir, { recursive: true, force: true });
const total = [...byOp.values()].reduce((a, b) => a + b, 0);
const rows = [...byOp.entries()].sort((a, b) => b[1] - a[1]);
const report = [
  '## ONNX Runtime profile (bench/ort-profile.ts)',
  '',
  `${texts.length} SST-2 dev sentences, ${opts.order === 'random' ? `shuffled, in pipeline calls of ${group} on the packed graph` : "one length-sorted pipeline call (packed: 'auto')"}; ` +
    `${opts.passes} passes after a 64-text warm-up (${seqPerSecond.map((r) => sig(r)).join(', ')} seq/s while profiling); ` +
    `${runs} runs in ${files.length} profile file(s); kernel time ${sig(total / 1000)} ms.`,
  '',
  markdownTable(
    ['operator', 'kernel time (ms)', 'share'],
    rows.map(([op, us]) => [op, sig(us / 1000), percent(us / total, 1)]),
  ),
  '',
].join('\n');
process.stdout.write(report);
log(
  `wrote ${writeJsonResult('ort-profile', { options: opts, modelDir, seqPerSecond, runs, kernelMicroseconds: Object.fromEntries(rows) })}`,
);
