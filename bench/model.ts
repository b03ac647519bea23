/**
 * Encoder throughput on pre-tokenized ids, seqbatch against its peers (issue 3), one command:
 *
 *   npx tsx bench/model.ts [--rounds 3] [--passes 1] [--limit N] [--threads 2] [--small] [--arch distilbert]
 *
 * `--arch deberta-v2` runs the same peers on a DeBERTa-v3-base-shaped random checkpoint instead (bench/lib/
 * checkpoint.ts), plus seqbatch on the DistilBERT checkpoint in the same rounds: the report gives the new
 * architecture's executed GFLOPS as a share of DistilBERT's on the same machine and load.
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
 * Prints Markdown; writes bench/out/model.json.
 */
import { parseArgs } from 'node:util';
import { BENCH_ARCHITECTURES, ensureBenchModel, type BenchArchitecture } from './lib/checkpoint.js';
import { batchFlops, usefulFlops, type GraphWork } from './lib/flops.js';
import { prepareWorkers } from './lib/build.js';
import { machineInfo, machineMarkdown } from './lib/machine.js';
import { log, writeJsonResult } from './lib/output.js';
import { readSharedIds } from './lib/pipeline-data.js';
import { runRounds, type Variant } from './lib/rounds.js';
import { markdownTable, median, percent, ratio, sig } from './lib/stats.js';

const { values: opts } = parseArgs({
  options: {
    tsx: { type: 'boolean', default: false },
    rounds: { type: 'string', default: '3' },
    passes: { type: 'string', default: '1' },
    limit: { type: 'string' },
    threads: { type: 'string', default: '2' },
    small: { type: 'boolean', default: false },
    arch: { type: 'string', default: 'distilbert' },
  },
});
const arch = opts.arch as BenchArchitecture;
if (!BENCH_ARCHITECTURES.includes(arch))
  throw new Error(`--arch must be one of ${BENCH_ARCHITECTURES.join(', ')}`);
const machine = machineInfo(['onnxruntime-node', '@huggingface/transformers', 'tsx']);
log(machineMarkdown(machine));
prepareWorkers(opts.tsx!);
const model = await ensureBenchModel(opts.small, arch);
/** The reference architecture, run by seqbatch in the same rounds when another one is measured. */
const distilbert = arch === 'distilbert' ? null : await ensureBenchModel(opts.small, 'distilbert');

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
  'seqbatch-distilbert':
    'reference: seqbatch on the DistilBERT checkpoint of the same size class, sorted batches',
};

/** Which computation each peer's graph performs: the export is seqbatch's graph, first-token last layer included. */
const WORK: Record<string, GraphWork> = {
  seqbatch: 'first-token',
  transformersjs: 'first-token',
  'transformersjs-sorted': 'first-token',
  ort: 'first-token',
  'ort-full': 'full',
  'seqbatch-distilbert': 'first-token',
};

const common = ['--checkpoint', model.checkpointDir, '--export', model.exportDir, '--passes', opts.passes!];
common.push('--full-graph', model.fullGraphPath);
common.push('--threads', opts.threads!);
if (opts.limit) common.push('--limit', opts.limit);
const variants: Variant[] = Object.keys(LABELS)
  .filter((peer) => peer !== 'seqbatch-distilbert')
  .map((peer) => ({
    name: peer,
    run: { worker: 'model-peer.ts', args: ['--peer', peer, ...common] },
  }));
if (distilbert) {
  const args = [
    '--peer',
    'seqbatch',
    ...common,
    '--checkpoint',
    distilbert.checkpointDir,
    '--export',
    distilbert.exportDir,
  ];
  variants.push({ name: 'seqbatch-distilbert', run: { worker: 'model-peer.ts', args } });
}
const shapeFor = (name: string) => (name === 'seqbatch-distilbert' ? distilbert!.config : model.config);
const rounds = Number(opts.rounds);
log(`model: ${rounds} rounds of ${variants.length} peers`);
const results = await runRounds<ModelResult>(variants, rounds);

const ids = readSharedIds().slice(0, opts.limit ? Number(opts.limit) : undefined);
const lengths = ids.map((r) => r.length);
const useful = usefulFlops(model.config, lengths);
const reference = results.get('seqbatch')![0].logits;
const summary = [...results].map(([name, runs]) => {
  const seconds = median(runs.flatMap((r) => r.seconds));
  const first = runs[0];
  const shape = shapeFor(name);
  const computed = first.batches.reduce((sum, b) => sum + batchFlops(shape, b.rows, b.paddedLength), 0);
  const executed = first.batches.reduce(
    (sum, b) => sum + batchFlops(shape, b.rows, b.paddedLength, WORK[name]),
    0,
  );
  const padded = first.batches.reduce((sum, b) => sum + b.rows * b.paddedLength, 0);
  const real = first.batches.reduce((sum, b) => sum + b.realTokens, 0);
  let maxDiff = 0;
  for (const run of name === 'seqbatch-distilbert' ? [] : runs) {
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
    usefulGflops: (name === 'seqbatch-distilbert' ? usefulFlops(shape, lengths) : useful) / seconds / 1e9,
    loadSeconds: median(runs.map((r) => r.loadSeconds)),
    peakRssMiB: median(runs.map((r) => r.peakRssMiB)),
    maxLogitDiffFromSeqbatch: maxDiff,
  };
});
const ours = summary.find((s) => s.name === 'seqbatch')!;
const shape = model.config;
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
    s.name === 'seqbatch-distilbert' ? '—' : s.maxLogitDiffFromSeqbatch.toExponential(1),
  ]),
);
const distilbertRow = summary.find((s) => s.name === 'seqbatch-distilbert');
const shareOfDistilbert = distilbertRow ? ours.executedGflops / distilbertRow.executedGflops : null;
const report = [
  '## Model (bench/model.ts)',
  '',
  machineMarkdown(machine),
  '',
  `${arch === 'distilbert' ? 'DistilBERT' : 'DeBERTa-v3-base'}-shaped random checkpoint (${shape.n_layers} layers, ` +
    `dim ${shape.dim}, FFN ${shape.hidden_dim}, ${shape.n_heads} heads), ${ours.sequences} SST-2 dev sequences (pre-tokenized ids), ${opts.threads} intra-op ` +
    `threads; median of ${ours.samples.length} timed passes per peer (fresh process each, rounds interleaved). ` +
    `GFLOPS: matrix-product FLOPs counted analytically (bench/lib/flops.ts) over the padded batches ("computed") ` +
    `or over each sequence's own length ("useful"), divided by the wall time; both count the work of HF's model. ` +
    `"Executed" counts what the peer's graph actually computes (the first-token last layer does less). ` +
    (arch === 'distilbert'
      ? `Target ≥ 80 seq/s.`
      : `DeBERTa computes every position, so its "ort" and "ort-full" graphs are the same.`),
  '',
  table,
  '',
  ...(shareOfDistilbert === null
    ? []
    : [
        `seqbatch's executed GFLOPS on ${arch}: ${percent(shareOfDistilbert)} of DistilBERT's in the same rounds ` +
          '(target ≥ 70%).',
        '',
      ]),
].join('\n');
process.stdout.write(report);
log(
  `wrote ${writeJsonResult(arch === 'distilbert' ? 'model' : `model-${arch}`, { machine, options: opts, model, summary, shareOfDistilbert })}`,
);
