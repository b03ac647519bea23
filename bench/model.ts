/**
 * Encoder throughput on pre-tokenized ids, seqbatch against its peers (issue 3), one command:
 *
 *   npx tsx bench/model.ts [--arch distilbert,modernbert] [--rounds 3] [--passes 1] [--limit N] [--threads 2] [--small]
 *
 * Model: a DistilBERT-base-shaped random checkpoint (6 layers, dim 768, FFN 3072, 12 heads; the cost of a forward
 * pass does not depend on the weight values), written once to .cache/bench by scripts/make-random-checkpoint.ts
 * and exported with `seqbatch export` for the peers. Input: the token ids of the 872 SST-2 dev sentences
 * (shared/fixtures/pipeline/sst2-dev-ids.json). Peers, each in a fresh process, rounds interleaved, median:
 *   seqbatch `AutoModelForSequenceClassification` on length-sorted batches (src/batching defaults);
 *   transformers.js on the exported graph in chunks of 32 in input order (and, for reference, on the sorted
 *   batches); a raw onnxruntime-node session on the sorted batches, on the exported graph and on the
 *   full-computation graph (every position of every layer, what HF's PyTorch model and an ONNX export of it
 *   compute; seqbatch's graph computes the last layer for the first token only). All with 2 intra-op threads.
 * Reports seq/s, achieved GFLOPS (analytic count, see bench/lib/flops.ts), padding, peak RSS, and the largest
 * logit difference from seqbatch (same weights, so the peers must agree to float32 noise).
 * Workers run tsc-compiled JavaScript (bench/lib/build.ts); --tsx runs the TypeScript sources instead.
 * `--arch` runs several architectures in one invocation (default: distilbert), their peers interleaved in the same
 * rounds, so their executed GFLOPS are measured on the same machine in the same state: `modernbert`, `mpnet` and
 * `deberta-v2` are base-shaped random checkpoints (ModernBERT-base, all-mpnet-base-v2, DeBERTa-v3-base; configs in
 * bench/lib/arch-configs.ts, weights by `makeRandomCheckpointFromConfig`). An architecture whose classifier
 * computes every position (no first-token shortcut: ModernBERT's mean pooling, DeBERTa) has an export that already
 * is the full computation, so its separate `ort` peer is left out. The report ends with each architecture's
 * executed GFLOPS as a share of DistilBERT's in the same run (issue 16: at least 70%, or a written reason).
 * Prints Markdown; writes bench/out/model.json.
 */
import { parseArgs } from 'node:util';
import { BENCH_ARCHS, ensureArchBenchModel, type ArchBenchModel, type BenchArch } from './lib/checkpoint.js';
import type { GraphWork } from './lib/flops.js';
import { prepareWorkers } from './lib/build.js';
import { machineInfo, machineMarkdown } from './lib/machine.js';
import { log, writeJsonResult } from './lib/output.js';
import { readSharedIds } from './lib/pipeline-data.js';
import { runRounds, type Variant } from './lib/rounds.js';
import { markdownTable, median, percent, ratio, sig } from './lib/stats.js';

const { values: opts } = parseArgs({
  options: {
    tsx: { type: 'boolean', default: false },
    arch: { type: 'string', default: 'distilbert' },
    rounds: { type: 'string', default: '3' },
    passes: { type: 'string', default: '1' },
    limit: { type: 'string' },
    threads: { type: 'string', default: '2' },
    small: { type: 'boolean', default: false },
  },
});
const archs = opts.arch!.split(',') as BenchArch[];
for (const arch of archs) {
  if (!BENCH_ARCHS.includes(arch)) throw new Error(`--arch: ${arch} is not one of ${BENCH_ARCHS.join(', ')}`);
}
const machine = machineInfo(['onnxruntime-node', '@huggingface/transformers', 'tsx']);
log(machineMarkdown(machine));
prepareWorkers(opts.tsx!);

interface ModelResult {
  peer: string;
  sequences: number;
  batches: { rows: number; paddedLength: number; realTokens: number }[];
  loadSeconds: number;
  seconds: number[];
  logits: number[][];
  peakRssMiB: number;
}

const LABELS: Record<string, string> = {
  seqbatch: 'seqbatch `AutoModelForSequenceClassification`, sorted batches',
  transformersjs: 'transformers.js, chunks of 32 in input order',
  'transformersjs-sorted': 'transformers.js, same sorted batches',
  ort: 'raw onnxruntime-node session, same sorted batches',
  'ort-full':
    'raw onnxruntime-node session, full computation (as HF / a PyTorch export), same sorted batches',
};

/**
 * Which computation each peer's graph performs: the export is seqbatch's graph, with the first-token last layer
 * when the architecture has that shortcut.
 */
function workOf(peer: string, model: ArchBenchModel): GraphWork {
  return peer === 'ort-full' || !model.firstTokenShortcut ? 'full' : 'first-token';
}

const ids = readSharedIds().slice(0, opts.limit ? Number(opts.limit) : undefined);
const rounds = Number(opts.rounds);
const reports: string[] = [];
const json: Record<string, unknown>[] = [];
const executedBySeqbatch = new Map<BenchArch, number>();

// Every peer of every architecture runs in the same rounds (interleaved), so load drifts on a shared machine hit
// the architectures alike and their GFLOPS ratio holds.
const models = new Map<BenchArch, ArchBenchModel>();
for (const arch of archs) models.set(arch, await ensureArchBenchModel(arch, opts.small));
const variants: Variant[] = [];
for (const [arch, model] of models) {
  const common = ['--checkpoint', model.checkpointDir, '--export', model.exportDir, '--passes', opts.passes!];
  common.push('--full-graph', model.fullGraphPath);
  common.push('--threads', opts.threads!);
  if (opts.limit) common.push('--limit', opts.limit);
  for (const peer of Object.keys(LABELS).filter((p) => p !== 'ort' || model.firstTokenShortcut)) {
    variants.push({
      name: `${arch}:${peer}`,
      run: { worker: 'model-peer.ts', args: ['--peer', peer, ...common] },
    });
  }
}
log(`model (${archs.join(', ')}): ${rounds} rounds of ${variants.length} peers`);
const allResults = await runRounds<ModelResult>(variants, rounds);

for (const [arch, model] of models) {
  const results = new Map(
    [...allResults]
      .filter(([name]) => name.startsWith(`${arch}:`))
      .map(([name, runs]) => [name.slice(arch.length + 1), runs]),
  );
  const flopsOf = (length: number, work: GraphWork): number => model.sequenceFlops(length, work);
  const useful = ids.reduce((sum, r) => sum + flopsOf(r.length, 'full'), 0);
  const reference = results.get('seqbatch')![0].logits;
  const summary = [...results].map(([name, runs]) => {
    const seconds = median(runs.flatMap((r) => r.seconds));
    const first = runs[0];
    const computed = first.batches.reduce((sum, b) => sum + b.rows * flopsOf(b.paddedLength, 'full'), 0);
    const executed = first.batches.reduce(
      (sum, b) => sum + b.rows * flopsOf(b.paddedLength, workOf(name, model)),
      0,
    );
    const padded = first.batches.reduce((sum, b) => sum + b.rows * b.paddedLength, 0);
    const real = first.batches.reduce((sum, b) => sum + b.realTokens, 0);
    let maxDiff = 0;
    for (const run of runs) {
      run.logits.forEach((row, i) =>
        row.forEach((v, j) => (maxDiff = Math.max(maxDiff, Math.abs(v - reference[i][j])))),
      );
    }
    return {
      name,
      label: LABELS[name],
      sequences: first.sequences,
      batches: first.batches.length,
      seconds,
      samples: runs.flatMap((r) => r.seconds),
      sequencesPerSecond: first.sequences / seconds,
      paddingRatio: (padded - real) / padded,
      computedGflops: computed / seconds / 1e9,
      executedGflops: executed / seconds / 1e9,
      usefulGflops: useful / seconds / 1e9,
      loadSeconds: median(runs.map((r) => r.loadSeconds)),
      peakRssMiB: median(runs.map((r) => r.peakRssMiB)),
      maxLogitDiffFromSeqbatch: maxDiff,
    };
  });
  const ours = summary.find((s) => s.name === 'seqbatch')!;
  executedBySeqbatch.set(arch, ours.executedGflops);
  const table = markdownTable(
    [
      'peer',
      'seq/s',
      'seqbatch ÷ this',
      'batches',
      'padding',
      'GFLOPS computed',
      'GFLOPS useful',
      'GFLOPS executed',
      'load (s)',
      'peak RSS (MiB)',
      'max abs Δlogit vs seqbatch',
    ],
    summary.map((s) => [
      s.label,
      sig(s.sequencesPerSecond),
      s.name === 'seqbatch' ? '—' : ratio(s.seconds, ours.seconds),
      String(s.batches),
      percent(s.paddingRatio),
      sig(s.computedGflops),
      sig(s.usefulGflops),
      sig(s.executedGflops),
      sig(s.loadSeconds),
      sig(s.peakRssMiB),
      s.maxLogitDiffFromSeqbatch.toExponential(1),
    ]),
  );
  reports.push(
    [
      `### ${arch}`,
      '',
      `${model.description}, ${ours.sequences} SST-2 dev sequences (pre-tokenized ids), ${opts.threads} intra-op ` +
        `threads; median of ${ours.samples.length} timed passes per peer (fresh process each, rounds interleaved). ` +
        `GFLOPS: matrix-product FLOPs counted analytically (bench/lib/flops.ts) over the padded batches ("computed") ` +
        `or over each sequence's own length ("useful"), divided by the wall time; both count the work of HF's model. ` +
        (model.firstTokenShortcut
          ? `"Executed" counts what the peer's graph actually computes (the first-token last layer does less).`
          : `"Executed" equals "computed": every graph computes every position (no first-token shortcut).`),
      '',
      table,
      '',
    ].join('\n'),
  );
  json.push({ arch, model, summary });
}

const distilbert = executedBySeqbatch.get('distilbert');
const comparison = distilbert
  ? [...executedBySeqbatch]
      .filter(([arch]) => arch !== 'distilbert')
      .map(
        ([arch, gflops]) =>
          `- ${arch}: seqbatch executes ${sig(gflops)} GFLOPS, ${percent(gflops / distilbert)} of DistilBERT's ` +
          `${sig(distilbert)} in the same run.`,
      )
  : [];
const report = [
  '## Model (bench/model.ts)',
  '',
  machineMarkdown(machine),
  '',
  ...reports,
  ...comparison,
  '',
].join('\n');
process.stdout.write(report);
log(`wrote ${writeJsonResult('model', { machine, options: opts, models: json })}`);
