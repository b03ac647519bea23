/**
 * End to end, raw text → label, seqbatch against its peers (issue 4), one command:
 *
 *   npx tsx bench/pipeline.ts [--rounds 3] [--passes 1] [--limit N] [--threads 2] [--small] [--no-sweep]
 *                             [--sweep-only]
 *
 * The 872 SST-2 dev sentences (shared/datasets/sst2/dev.tsv) through the DistilBERT-base-shaped random checkpoint
 * (see bench/model.ts). Peers, each in a fresh process, rounds interleaved, median of the timed passes:
 *   seqbatch pipeline('text-classification') on the whole array;
 *   transformers.js pipeline('text-classification') on our export: the whole array at once (its default usage),
 *   and consecutive chunks of 32;
 *   a hand-written loop: Rust `tokenizers` binding + seqbatch's planner + raw onnxruntime-node + softmax.
 * Reports seq/s, padding (share of computed tokens that are padding), achieved GFLOPS (bench/lib/flops.ts) and
 * label agreement with seqbatch. Then sweeps seqbatch's `batchSize` × `maxBatchTokens` to choose defaults.
 * Workers run tsc-compiled JavaScript (bench/lib/build.ts); --tsx runs the TypeScript sources instead.
 * Prints Markdown; writes bench/out/pipeline.json.
 */
import { parseArgs } from 'node:util';
import { Tokenizer } from '../src/tokenizers/tokenizer.js';
import {
  DEFAULT_BATCH_OVERHEAD_TOKENS,
  DEFAULT_BATCH_SIZE,
  DEFAULT_MAX_BATCH_TOKENS,
} from '../src/batching/options.js';
import { ensureBenchModel } from './lib/checkpoint.js';
import { runWorker } from './lib/child.js';
import { readSst2Sentences } from './lib/data.js';
import { batchFlops, usefulFlops } from './lib/flops.js';
import { prepareWorkers } from './lib/build.js';
import { machineInfo, machineMarkdown } from './lib/machine.js';
import { log, writeJsonResult } from './lib/output.js';
import { ROUND_OPTIONS, runRounds, type Variant } from './lib/rounds.js';
import { markdownTable, median, percent, ratio, sig } from './lib/stats.js';

const { values: opts } = parseArgs({
  options: {
    ...ROUND_OPTIONS,
    'no-sweep': { type: 'boolean', default: false },
    'sweep-only': { type: 'boolean', default: false },
  },
});
const rounds = Number(opts.rounds);
const machine = machineInfo(['onnxruntime-node', '@huggingface/transformers', 'tokenizers', 'tsx']);
log(machineMarkdown(machine));
prepareWorkers(opts.tsx!);
const model = await ensureBenchModel(opts.small);
const texts = readSst2Sentences('dev').slice(0, opts.limit ? Number(opts.limit) : undefined);

// Token lengths (untimed) to derive the batch shapes of the peers that do not report them.
const tokenizer = Tokenizer.fromPretrainedSync(model.checkpointDir);
const lengths = tokenizer.encodeBatch(texts).encodings.map((e) => e.length);
const useful = usefulFlops(model.config, lengths);

interface Shape {
  rows: number;
  paddedLength: number;
  realTokens: number;
}
function chunkShapes(size: number): Shape[] {
  const shapes: Shape[] = [];
  for (let start = 0; start < lengths.length; start += size) {
    const chunk = lengths.slice(start, start + size);
    shapes.push({
      rows: chunk.length,
      paddedLength: Math.max(...chunk),
      realTokens: chunk.reduce((a, b) => a + b, 0),
    });
  }
  return shapes;
}
function shapeTotals(shapes: readonly Shape[]) {
  let padded = 0;
  let real = 0;
  let flops = 0;
  for (const s of shapes) {
    padded += s.rows * s.paddedLength;
    real += s.realTokens;
    flops += batchFlops(model.config, s.rows, s.paddedLength);
  }
  return { batches: shapes.length, padded, real, paddingRatio: (padded - real) / padded, flops };
}

const common = ['--checkpoint', model.checkpointDir, '--export', model.exportDir, '--threads', opts.threads!];
if (opts.limit) common.push('--limit', opts.limit);

interface SweepConfig {
  batchSize: number | null;
  maxBatchTokens: number | null;
  batchOverheadTokens: number | null;
}

interface PeerResult {
  peer: string;
  sequences: number;
  loadSeconds: number;
  seconds: number[];
  labels: string[];
  scores: number[];
  batches: Shape[];
  peakRssMiB: number;
}
const LABELS: Record<string, string> = {
  seqbatch: "seqbatch `pipeline('text-classification')`",
  'transformersjs-whole': 'transformers.js pipeline, whole array (default usage)',
  'transformersjs-chunks': 'transformers.js pipeline, chunks of 32',
  'ort-raw': 'Rust `tokenizers` + seqbatch planner + raw onnxruntime-node',
};

const sections: string[] = ['## Pipeline (bench/pipeline.ts)', '', machineMarkdown(machine), ''];
const json: Record<string, unknown> = { machine, options: opts, model, lengths };

if (!opts['sweep-only']) {
  const variants: Variant[] = Object.keys(LABELS).map((peer) => ({
    name: peer,
    run: { worker: 'pipeline-peer.ts', args: ['--peer', peer, '--passes', opts.passes!, ...common] },
  }));
  log(`pipeline: ${rounds} rounds of ${variants.length} peers`);
  const results = await runRounds<PeerResult>(variants, rounds);
  const reference = results.get('seqbatch')![0];
  const summary = [...results].map(([name, runs]) => {
    const first = runs[0];
    const shapes =
      name === 'transformersjs-whole'
        ? chunkShapes(lengths.length)
        : name === 'transformersjs-chunks'
          ? chunkShapes(32)
          : first.batches;
    const totals = shapeTotals(shapes);
    const seconds = median(runs.flatMap((r) => r.seconds));
    let labelDisagreements = 0;
    let maxScoreDiff = 0;
    first.labels.forEach((label, i) => {
      if (label !== reference.labels[i]) labelDisagreements++;
      maxScoreDiff = Math.max(maxScoreDiff, Math.abs(first.scores[i] - reference.scores[i]));
    });
    return {
      name,
      label: LABELS[name],
      sequences: first.sequences,
      seconds,
      samples: runs.flatMap((r) => r.seconds),
      sequencesPerSecond: first.sequences / seconds,
      ...totals,
      computedGflops: totals.flops / seconds / 1e9,
      usefulGflops: useful / seconds / 1e9,
      loadSeconds: median(runs.map((r) => r.loadSeconds)),
      peakRssMiB: median(runs.map((r) => r.peakRssMiB)),
      labelDisagreements,
      maxScoreDiff,
    };
  });
  const ours = summary.find((s) => s.name === 'seqbatch')!;
  json.summary = summary;
  sections.push(
    `${ours.sequences} SST-2 dev sentences, raw text → label, DistilBERT-shaped random checkpoint ` +
      `(${model.config.n_layers} layers, dim ${model.config.dim}), ${opts.threads} intra-op threads; median of ` +
      `${ours.samples.length} timed passes per peer (fresh process each, rounds interleaved), after a 64-text ` +
      `warm-up. Padding = padded − real tokens over padded tokens. Targets: ≥ 85 seq/s, padding ≤ 2%.`,
    '',
    markdownTable(
      [
        'peer',
        'seq/s',
        'seqbatch ÷ this',
        'batches',
        'padding',
        'GFLOPS computed',
        'GFLOPS useful',
        'load (s)',
        'peak RSS (MiB)',
        'labels ≠ seqbatch',
        'max abs Δscore',
      ],
      summary.map((s) => [
        s.label,
        sig(s.sequencesPerSecond),
        s.name === 'seqbatch' ? '—' : ratio(s.seconds, ours.seconds),
        String(s.batches),
        percent(s.paddingRatio),
        sig(s.computedGflops),
        sig(s.usefulGflops),
        sig(s.loadSeconds),
        sig(s.peakRssMiB),
        String(s.labelDisagreements),
        s.maxScoreDiff.toExponential(1),
      ]),
    ),
    '',
  );
}

if (!opts['no-sweep']) {
  // null = Infinity (no limit) in the JSON handed to the worker; batchOverheadTokens null = its default.
  const caps: SweepConfig[] = [16, 32, 64, null].flatMap((batchSize) =>
    [2048, 4096, 8192].map((maxBatchTokens) => ({ batchSize, maxBatchTokens, batchOverheadTokens: null })),
  );
  const overheads: SweepConfig[] = [0, 8, 128, 512].map((batchOverheadTokens) => ({
    batchSize: DEFAULT_BATCH_SIZE,
    maxBatchTokens: DEFAULT_MAX_BATCH_TOKENS,
    batchOverheadTokens,
  }));
  const configs = [...caps, ...overheads];
  const key = (c: SweepConfig) =>
    `${c.batchSize ?? '∞'}/${c.maxBatchTokens ?? '∞'}/${c.batchOverheadTokens ?? 'default'}`;
  const times = new Map<string, number[]>(configs.map((c) => [key(c), []]));
  const shapes = new Map<string, Shape[]>();
  for (let round = 0; round < rounds; round++) {
    // Rotate the order each round so no configuration always runs first (coldest) or last.
    const order = configs.map((_, i) => configs[(i + round * 5) % configs.length]);
    const started = performance.now();
    const result = await runWorker<{ results: (SweepConfig & { seconds: number; batches: Shape[] })[] }>({
      worker: 'pipeline-peer.ts',
      args: ['--peer', 'sweep', '--sweep', JSON.stringify(order), ...common],
    });
    for (const r of result.results) {
      times.get(key(r))!.push(r.seconds);
      shapes.set(key(r), r.batches);
    }
    log(`  sweep round ${round + 1}/${rounds}: ${((performance.now() - started) / 1000).toFixed(1)} s`);
  }
  const sweep = configs.map((c) => {
    const seconds = median(times.get(key(c))!);
    const totals = shapeTotals(shapes.get(key(c))!);
    return { ...c, seconds, sequencesPerSecond: texts.length / seconds, ...totals };
  });
  const best = sweep.reduce((a, b) => (b.sequencesPerSecond > a.sequencesPerSecond ? b : a));
  json.sweep = sweep;
  sections.push(
    `Sweep of seqbatch's pipeline over \`batchSize\` × \`maxBatchTokens\` (∞ = no limit), then ` +
      `\`batchOverheadTokens\` at the default caps (current defaults: batchSize ${DEFAULT_BATCH_SIZE}, maxBatchTokens ` +
      `${DEFAULT_MAX_BATCH_TOKENS}, batchOverheadTokens ${DEFAULT_BATCH_OVERHEAD_TOKENS}). One process per round with ` +
      `the model loaded once, order rotated each round; median of ${rounds}.`,
    '',
    markdownTable(
      [
        'batchSize',
        'maxBatchTokens',
        'batchOverheadTokens',
        'seq/s',
        'batches',
        'padding',
        'GFLOPS computed',
      ],
      sweep.map((s) => [
        String(s.batchSize ?? '∞'),
        String(s.maxBatchTokens ?? '∞'),
        String(s.batchOverheadTokens ?? `${DEFAULT_BATCH_OVERHEAD_TOKENS} (default)`),
        `${sig(s.sequencesPerSecond)}${s === best ? ' (best)' : ''}`,
        String(s.batches),
        percent(s.paddingRatio),
        sig(s.flops / s.seconds / 1e9),
      ]),
    ),
    '',
  );
}

process.stdout.write(sections.join('\n'));
log(`wrote ${writeJsonResult('pipeline', json)}`);
