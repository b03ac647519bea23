/**
 * Where a pipeline's time goes, by operator type, read from ONNX Runtime's own profiler (the `profileFilePrefix`
 * runtime option), and how much of it is spent outside `session.run`:
 *
 *   npx tsx bench/ort-profile.ts [--dtype fp32|int8|both] [--order random|sorted] [--group 33] [--passes 2]
 *                                [--model DIR] [--small]
 *
 * random (default): the SST-2 dev sentences shuffled (fixed seed) and run in consecutive groups of --group, one
 * pipeline call per group on the packed graph, as the server runs its batches; sorted: all of them in one call on
 * the default `packed: 'auto'`, length-sorted by the scheduler, as the offline pipeline (and bench/int8.ts) runs.
 * Each pass is timed; a 64-text warm-up runs first and is profiled too. `--dtype both` profiles fp32 and then
 * int8, each with its own pipeline. Default model: the DistilBERT-base-shaped checkpoint of the other benchmarks.
 *
 * Per dtype it prints: kernel time per operator type; the nodes of each type that ran (after ONNX Runtime's graph
 * optimisations: a fusion shows as a fused type replacing the built ones); the op types of the graph as seqbatch
 * built it (the graph the model opened first: packed for `--order random`, padded for `sorted`); and the wall time of the timed passes against the time inside ORT's runs
 * (`model_run` events), the rest being tokenization, batching, tensor transfer and post-processing. Profiling
 * adds some overhead to every kernel, so the shares are what to read. Writes bench/out/ort-profile.json.
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { ModelProto, type GraphProtoData } from '../src/onnx/proto.js';
import { pipeline } from '../src/pipelines/index.js';
import { mulberry32 } from '../src/util/random.js';
import { ensureBenchCheckpoint } from './lib/checkpoint.js';
import { BENCH_CACHE_DIR, readSst2Sentences } from './lib/data.js';
import { machineInfo, machineMarkdown } from './lib/machine.js';
import { log, writeJsonResult } from './lib/output.js';
import { markdownTable, percent, sig } from './lib/stats.js';

const { values: opts } = parseArgs({
  options: {
    dtype: { type: 'string', default: 'fp32' },
    order: { type: 'string', default: 'random' },
    group: { type: 'string', default: '33' },
    passes: { type: 'string', default: '2' },
    model: { type: 'string' },
    small: { type: 'boolean', default: false },
  },
});
if (opts.order !== 'random' && opts.order !== 'sorted') throw new Error('--order must be random or sorted');
const DTYPES = { fp32: ['fp32'], int8: ['int8'], both: ['fp32', 'int8'] } as const;
if (!Object.hasOwn(DTYPES, opts.dtype!)) throw new Error('--dtype must be fp32, int8 or both');
const group = Number(opts.group);
const modelDir = opts.model ?? (await ensureBenchCheckpoint(opts.small));
const texts = readSst2Sentences('dev');
log(machineMarkdown(machineInfo(['onnxruntime-node'])));

interface TraceEvent {
  cat?: string;
  name: string;
  dur?: number;
  args?: { op_name?: string };
}

/** Op type → node count of a built graph (subgraphs included). */
function builtOpTypes(graphPath: string): Map<string, number> {
  const counts = new Map<string, number>();
  const visit = (graph: GraphProtoData) => {
    for (const node of graph.node ?? []) {
      counts.set(node.opType, (counts.get(node.opType) ?? 0) + 1);
      for (const a of node.attribute ?? []) if (a.g) visit(a.g);
    }
  };
  const model = ModelProto.toObject(ModelProto.decode(readFileSync(graphPath))) as { graph: GraphProtoData };
  visit(model.graph);
  return counts;
}

async function profile(dtype: 'fp32' | 'int8') {
  const profileDir = mkdtempSync(join(tmpdir(), 'seqbatch-ort-profile-'));
  const classify = await pipeline('text-classification', modelDir, {
    threads: 2,
    packed: opts.order === 'random' ? true : 'auto',
    cacheDir: join(BENCH_CACHE_DIR, 'graph-cache'),
    profileFilePrefix: join(profileDir, 'session'),
    ...(dtype === 'int8' ? { dtype: 'int8' as const } : {}),
  });
  const random = mulberry32(7);
  const shuffled = texts.slice();
  for (let i = shuffled.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [shuffled[i], shuffled[j]] = [shuffled[j]!, shuffled[i]!];
  }
  const warmStart = performance.now();
  await classify.run(texts.slice(0, 64));
  const warmSeconds = (performance.now() - warmStart) / 1000;
  const passSeconds: number[] = [];
  for (let pass = 0; pass < Number(opts.passes); pass++) {
    const start = performance.now();
    if (opts.order === 'sorted') await classify.run(texts);
    else {
      for (let at = 0; at < shuffled.length; at += group) {
        const batch = shuffled.slice(at, at + group);
        await classify.run(batch, { batchSize: batch.length });
      }
    }
    passSeconds.push((performance.now() - start) / 1000);
  }
  const graphPath = classify.model.graphPath;
  await classify.dispose(); // ORT writes the profile when the session is released

  const byOp = new Map<string, number>();
  const nodesByOp = new Map<string, Set<string>>();
  const runMicroseconds: number[] = [];
  const files = readdirSync(profileDir).filter((f) => f.endsWith('.json'));
  for (const file of files) {
    for (const event of JSON.parse(readFileSync(join(profileDir, file), 'utf8')) as TraceEvent[]) {
      if (event.cat === 'Session' && event.name === 'model_run') runMicroseconds.push(event.dur ?? 0);
      if (event.cat !== 'Node' || !event.name.endsWith('_kernel_time') || !event.args?.op_name) continue;
      const op = event.args.op_name;
      byOp.set(op, (byOp.get(op) ?? 0) + (event.dur ?? 0));
      if (!nodesByOp.has(op)) nodesByOp.set(op, new Set());
      nodesByOp.get(op)!.add(`${file}:${event.name}`);
    }
  }
  rmSync(profileDir, { recursive: true, force: true });
  const total = [...byOp.values()].reduce((a, b) => a + b, 0);
  // The profile covers the warm-up too, so the wall time compared with the runs' time includes it.
  const wall = warmSeconds + passSeconds.reduce((a, b) => a + b, 0);
  const runSeconds = runMicroseconds.reduce((a, b) => a + b, 0) / 1e6;
  const built = graphPath ? builtOpTypes(graphPath) : new Map<string, number>();
  return {
    dtype,
    passSeconds,
    wall,
    runSeconds,
    runs: runMicroseconds.length,
    files: files.length,
    byOp,
    nodesByOp,
    total,
    built,
  };
}

const results = [];
const sections: string[] = ['## ONNX Runtime profile (bench/ort-profile.ts)', ''];
for (const dtype of DTYPES[opts.dtype as keyof typeof DTYPES]) {
  const r = await profile(dtype);
  results.push(r);
  const rows = [...r.byOp.entries()].sort((a, b) => b[1] - a[1]);
  sections.push(
    `### ${dtype}`,
    '',
    `${texts.length} SST-2 dev sentences, ${opts.order === 'random' ? `shuffled, in pipeline calls of ${group} on the packed graph` : "one length-sorted pipeline call (packed: 'auto')"}; ` +
      `${opts.passes} passes after a 64-text warm-up (${r.passSeconds.map((s) => sig(texts.length / s)).join(', ')} seq/s while profiling); ` +
      `${r.runs} runs in ${r.files} profile file(s); kernel time ${sig(r.total / 1000)} ms (warm-up included).`,
    '',
    `Wall time of the warm-up and the passes ${sig(r.wall)} s, inside ORT's runs ${sig(r.runSeconds)} s: ` +
      `**${percent(1 - r.runSeconds / r.wall, 1)} outside \`session.run\`** (tokenization, batching, tensors, ` +
      'the hop to the ORT thread, post-processing).',
    '',
    markdownTable(
      ['operator (as ORT ran it)', 'nodes', 'kernel time (ms)', 'share'],
      rows.map(([op, us]) => [
        op,
        String(r.nodesByOp.get(op)!.size),
        sig(us / 1000),
        percent(us / r.total, 1),
      ]),
    ),
    '',
    `Op types of the ${opts.order === 'random' ? 'packed' : 'padded'} graph as built: ${[...r.built.entries()]
      .sort((a, b) => b[1] - a[1])
      .map(([op, n]) => `${op} ${n}`)
      .join(', ')}.`,
    '',
  );
}
process.stdout.write(sections.join('\n'));
log(
  `wrote ${writeJsonResult('ort-profile', {
    options: opts,
    modelDir,
    results: results.map((r) => ({
      ...r,
      byOp: Object.fromEntries(r.byOp),
      nodesByOp: Object.fromEntries([...r.nodesByOp].map(([op, s]) => [op, s.size])),
      built: Object.fromEntries(r.built),
    })),
  })}`,
);
