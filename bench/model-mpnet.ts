/**
 * The MPNet row of the model benchmark (issue 16), one command:
 *
 *   npx tsx bench/model-mpnet.ts [--rounds 2] [--passes 1] [--limit N] [--threads 2]
 *
 * Model: an MPNetForSequenceClassification with random weights shaped like all-mpnet-base-v2 (12 layers, hidden
 * 768, FFN 3072, 12 heads, 32 relative-position buckets; bench/lib/mpnet-checkpoint.ts), exported with
 * `seqbatch export`, plus its full-computation graph (`firstTokenOnly: false`). Input: the 872 SST-2 dev
 * sentences' ids, as in bench/model.ts. Peers, each in a fresh process through bench/workers/model-peer.ts,
 * rounds interleaved, median: seqbatch on length-sorted batches; transformers.js on the same export and the same
 * sorted batches; a raw onnxruntime-node session on the full-computation graph (what HF and an ONNX export of it
 * compute); and, in the same rounds, seqbatch on bench/model.ts's DistilBERT-base checkpoint, the reference for
 * the issue's rule that a new architecture executes at least 70% of DistilBERT's GFLOPS on the same machine.
 * Prints Markdown; writes bench/out/model-mpnet.json.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { exportModel } from '../src/cli/commands/export.js';
import { buildModelGraph } from '../src/models/index.js';
import { loadWeights } from '../src/weights/index.js';
import { prepareWorkers } from './lib/build.js';
import { ensureBenchModel } from './lib/checkpoint.js';
import { BENCH_CACHE_DIR } from './lib/data.js';
import type { DistilBertShape } from './lib/checkpoint.js';
import { batchFlops, type GraphWork } from './lib/flops.js';
import { machineInfo, machineMarkdown } from './lib/machine.js';
import { makeMpnetCheckpoint } from './lib/mpnet-checkpoint.js';
import { log, writeJsonResult } from './lib/output.js';
import { runRounds, type Variant } from './lib/rounds.js';
import { markdownTable, median, percent, ratio, sig } from './lib/stats.js';

const { values: opts } = parseArgs({
  options: {
    tsx: { type: 'boolean', default: false },
    rounds: { type: 'string', default: '2' },
    passes: { type: 'string', default: '1' },
    limit: { type: 'string' },
    threads: { type: 'string', default: '2' },
  },
});
const machine = machineInfo(['onnxruntime-node', '@huggingface/transformers', 'tsx']);
log(machineMarkdown(machine));
prepareWorkers(opts.tsx!);

/** The MPNet checkpoint, its export and its full-computation graph, written on first use. */
async function ensureMpnetModel(): Promise<{
  checkpointDir: string;
  exportDir: string;
  fullGraphPath: string;
}> {
  const checkpointDir = join(BENCH_CACHE_DIR, 'mpnet-base-random');
  if (!existsSync(join(checkpointDir, 'model.safetensors'))) {
    log(`writing the random checkpoint ${checkpointDir}`);
    await makeMpnetCheckpoint(checkpointDir);
  }
  const exportDir = `${checkpointDir}-export`;
  log(`exporting ${checkpointDir} → ${exportDir}/onnx/model.onnx`);
  await exportModel(checkpointDir, exportDir);
  const config = JSON.parse(readFileSync(join(checkpointDir, 'config.json'), 'utf8')) as Record<
    string,
    unknown
  >;
  const fullGraphPath = join(exportDir, 'onnx', 'model-full.onnx');
  const full = buildModelGraph(config, await loadWeights(checkpointDir), {
    task: 'sequence-classification',
    firstTokenOnly: false,
  });
  writeFileSync(fullGraphPath, full.bytes);
  return { checkpointDir, exportDir, fullGraphPath };
}

const distilbert = await ensureBenchModel();
const mpnet = await ensureMpnetModel();
const mpnetConfig = JSON.parse(readFileSync(join(mpnet.checkpointDir, 'config.json'), 'utf8')) as Record<
  string,
  number
>;
/**
 * An MPNet layer does BERT's matrix products (the position bias is one addition per score), and its
 * classification head is DistilBERT's dense + classifier on the first token: the DistilBERT count applies.
 */
const MPNET_SHAPE: DistilBertShape = {
  dim: mpnetConfig.hidden_size!,
  hidden_dim: mpnetConfig.intermediate_size!,
  n_layers: mpnetConfig.num_hidden_layers!,
  n_heads: mpnetConfig.num_attention_heads!,
  vocab_size: mpnetConfig.vocab_size!,
  max_position_embeddings: mpnetConfig.max_position_embeddings!,
};

interface Peer {
  name: string;
  label: string;
  shape: DistilBertShape;
  work: GraphWork;
  model: { checkpointDir: string; exportDir: string; fullGraphPath: string };
  worker: string;
}
const PEERS: Peer[] = [
  {
    name: 'mpnet-seqbatch',
    label: 'MPNet: seqbatch `AutoModelForSequenceClassification`, sorted batches',
    shape: MPNET_SHAPE,
    work: 'first-token',
    model: mpnet,
    worker: 'seqbatch',
  },
  {
    name: 'mpnet-transformersjs',
    label: 'MPNet: transformers.js on the same export, same sorted batches',
    shape: MPNET_SHAPE,
    work: 'first-token',
    model: mpnet,
    worker: 'transformersjs-sorted',
  },
  {
    name: 'mpnet-ort-full',
    label:
      'MPNet: raw onnxruntime-node session, full computation (as HF / a PyTorch export), same sorted batches',
    shape: MPNET_SHAPE,
    work: 'full',
    model: mpnet,
    worker: 'ort-full',
  },
  {
    name: 'distilbert-seqbatch',
    label: 'DistilBERT (bench/model.ts checkpoint): seqbatch, sorted batches',
    shape: distilbert.config,
    work: 'first-token',
    model: distilbert,
    worker: 'seqbatch',
  },
];

interface PeerResult {
  sequences: number;
  batches: { rows: number; paddedLength: number; realTokens: number }[];
  loadSeconds: number;
  seconds: number[];
  logits: number[][];
  peakRssMiB: number;
}

const variants: Variant[] = PEERS.map((peer) => {
  const args = [
    '--peer',
    peer.worker,
    '--checkpoint',
    peer.model.checkpointDir,
    '--export',
    peer.model.exportDir,
  ];
  args.push('--full-graph', peer.model.fullGraphPath, '--passes', opts.passes!, '--threads', opts.threads!);
  if (opts.limit) args.push('--limit', opts.limit);
  return { name: peer.name, run: { worker: 'model-peer.ts', args } };
});
const rounds = Number(opts.rounds);
log(`model (MPNet): ${rounds} rounds of ${variants.length} peers`);
const results = await runRounds<PeerResult>(variants, rounds);

const mpnetReference = results.get('mpnet-seqbatch')![0].logits;
const summary = PEERS.map((peer) => {
  const runs = results.get(peer.name)!;
  const seconds = median(runs.flatMap((r) => r.seconds));
  const first = runs[0]!;
  const flops = (work: GraphWork) =>
    first.batches.reduce((sum, b) => sum + batchFlops(peer.shape, b.rows, b.paddedLength, work), 0);
  const padded = first.batches.reduce((sum, b) => sum + b.rows * b.paddedLength, 0);
  const real = first.batches.reduce((sum, b) => sum + b.realTokens, 0);
  let maxDiff = 0;
  if (peer.model === mpnet) {
    for (const run of runs) {
      run.logits.forEach((row, i) =>
        row.forEach((v, j) => (maxDiff = Math.max(maxDiff, Math.abs(v - mpnetReference[i]![j]!)))),
      );
    }
  }
  return {
    ...peer,
    sequences: first.sequences,
    seconds,
    samples: runs.flatMap((r) => r.seconds),
    sequencesPerSecond: first.sequences / seconds,
    paddingRatio: (padded - real) / padded,
    computedGflops: flops('full') / seconds / 1e9,
    executedGflops: flops(peer.work) / seconds / 1e9,
    peakRssMiB: median(runs.map((r) => r.peakRssMiB)),
    maxLogitDiff: peer.model === mpnet ? maxDiff.toExponential(1) : '—',
  };
});
const ours = summary.find((s) => s.name === 'mpnet-seqbatch')!;
const reference = summary.find((s) => s.name === 'distilbert-seqbatch')!;
const table = markdownTable(
  [
    'peer',
    'seq/s',
    'seqbatch MPNet ÷ this (time)',
    'padding',
    'GFLOPS computed',
    'GFLOPS executed',
    'peak RSS (MiB)',
    'max abs Δlogit vs seqbatch',
  ],
  summary.map((s) => [
    s.label,
    sig(s.sequencesPerSecond),
    s === ours || s === reference ? '—' : ratio(s.seconds, ours.seconds),
    percent(s.paddingRatio),
    sig(s.computedGflops),
    sig(s.executedGflops),
    sig(s.peakRssMiB),
    s.maxLogitDiff,
  ]),
);
const share = ours.executedGflops / reference.executedGflops;
const report = [
  '## Model: MPNet (bench/model-mpnet.ts)',
  '',
  machineMarkdown(machine),
  '',
  `MPNet-base-shaped random checkpoint (${MPNET_SHAPE.n_layers} layers, hidden ${MPNET_SHAPE.dim}, FFN ` +
    `${MPNET_SHAPE.hidden_dim}, ${MPNET_SHAPE.n_heads} heads, 32 relative-position buckets), ${ours.sequences} ` +
    `SST-2 dev sequences (pre-tokenized ids), ${opts.threads} intra-op threads; median of ${ours.samples.length} ` +
    `timed passes per peer (fresh process each, rounds interleaved). GFLOPS as in bench/model.ts: "computed" ` +
    `counts HF's full computation over the padded batches, "executed" what the peer's graph computes.`,
  '',
  table,
  '',
  `seqbatch executes ${sig(ours.executedGflops)} GFLOPS on MPNet, ${percent(share, 1)} of the ` +
    `${sig(reference.executedGflops)} it executes on DistilBERT in the same rounds (rule: at least 70%).`,
  '',
].join('\n');
process.stdout.write(report);
log(`wrote ${writeJsonResult('model-mpnet', { machine, options: opts, summary })}`);
