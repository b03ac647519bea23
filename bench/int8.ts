/**
 * int8 end to end, raw text → label (issue 19), one command:
 *
 *   npx tsx bench/int8.ts [--rounds 3] [--passes 1] [--limit N] [--threads 2] [--small]
 *
 * The 872 SST-2 dev sentences through the DistilBERT-base-shaped random checkpoint (see bench/model.ts), exported
 * with `seqbatch export --dtype int8` (onnx/model_quantized.onnx). Peers, each in a fresh process, rounds
 * interleaved, median of the timed passes (bench/workers/pipeline-peer.ts):
 *   seqbatch pipeline('text-classification'), fp32, dtype 'int8' (symmetric weights, the default) and dtype
 *   'int8' with int8Weights 'asymmetric';
 *   transformers.js pipeline('text-classification') with dtype 'q8' on the same int8 export, chunks of 32 and
 *   the whole array at once, and chunks of 32 on the export with asymmetric weights (`--int8-weights asymmetric`,
 *   written beside it as <export>-asymmetric);
 *   Rust `tokenizers` + seqbatch's planner + a raw onnxruntime-node session on the same int8 export.
 * Reports seq/s, the ratios to seqbatch int8, peak RSS (of the whole process: load and run) and label agreement.
 * Then the peak RSS of loading alone (bench/workers/load-peak.ts, no graph cache), fp32 against both int8 weight
 * schemes, per round.
 * The checkpoint's weights are random, so its labels mean nothing against the dataset: accuracy is measured on
 * the demo model instead (`seqbatch bench --dtype int8`, test/models-int8.test.ts).
 * Prints Markdown; writes bench/out/int8.json.
 */
import { parseArgs } from 'node:util';
import { exportModel } from '../src/cli/commands/export.js';
import { ensureBenchModel } from './lib/checkpoint.js';
import { prepareWorkers } from './lib/build.js';
import { cpuFlagsMarkdown, machineInfo, machineMarkdown } from './lib/machine.js';
import { log, writeJsonResult } from './lib/output.js';
import { runWorker } from './lib/child.js';
import { ROUND_OPTIONS, runRounds, type Variant } from './lib/rounds.js';
import { markdownTable, median, ratio, sig } from './lib/stats.js';

const { values: opts } = parseArgs({
  options: {
    ...ROUND_OPTIONS,
  },
});
const machine = machineInfo(['onnxruntime-node', '@huggingface/transformers', 'tokenizers', 'tsx']);
log(machineMarkdown(machine));
prepareWorkers(opts.tsx!);
const model = await ensureBenchModel(opts.small);
log(`exporting ${model.checkpointDir} --dtype int8 → ${model.exportDir}/onnx/model_quantized.onnx`);
await exportModel(model.checkpointDir, model.exportDir, { dtype: 'int8' });
// The same export with asymmetric weights, in a folder of its own (transformers.js reads model_quantized.onnx).
const asymmetricExportDir = `${model.exportDir}-asymmetric`;
log(`exporting ${model.checkpointDir} --dtype int8 --int8-weights asymmetric → ${asymmetricExportDir}`);
await exportModel(model.checkpointDir, asymmetricExportDir, { dtype: 'int8', int8Weights: 'asymmetric' });

const common = ['--checkpoint', model.checkpointDir, '--threads', opts.threads!];
if (opts.limit) common.push('--limit', opts.limit);
common.push('--passes', opts.passes!);

const PEERS: {
  name: string;
  peer: string;
  dtype: 'fp32' | 'int8';
  weights?: string;
  /** Another export folder than the symmetric int8 one. */
  exportDir?: string;
  label: string;
}[] = [
  {
    name: 'seqbatch-fp32',
    peer: 'seqbatch',
    dtype: 'fp32',
    label: "seqbatch `pipeline('text-classification')`, fp32",
  },
  {
    name: 'seqbatch-int8',
    peer: 'seqbatch',
    dtype: 'int8',
    label: "seqbatch `pipeline(…, { dtype: 'int8' })` (symmetric weights, the default)",
  },
  {
    name: 'seqbatch-int8-asymmetric',
    peer: 'seqbatch',
    dtype: 'int8',
    weights: 'asymmetric',
    label: "seqbatch `pipeline(…, { dtype: 'int8', int8Weights: 'asymmetric' })`",
  },
  {
    name: 'transformersjs-q8-chunks',
    peer: 'transformersjs-chunks',
    dtype: 'int8',
    label: "transformers.js pipeline, dtype 'q8' on our int8 export, chunks of 32",
  },
  {
    name: 'transformersjs-q8-chunks-asymmetric',
    peer: 'transformersjs-chunks',
    dtype: 'int8',
    exportDir: asymmetricExportDir,
    label: "transformers.js pipeline, dtype 'q8' on our int8 export with asymmetric weights, chunks of 32",
  },
  {
    name: 'transformersjs-q8-whole',
    peer: 'transformersjs-whole',
    dtype: 'int8',
    label: "transformers.js pipeline, dtype 'q8' on our int8 export, whole array",
  },
  {
    name: 'ort-raw-int8',
    peer: 'ort-raw',
    dtype: 'int8',
    label: 'Rust `tokenizers` + seqbatch planner + raw onnxruntime-node on the int8 export',
  },
];

interface PeerResult {
  sequences: number;
  loadSeconds: number;
  seconds: number[];
  labels: string[];
  peakRssMiB: number;
}

const variants: Variant[] = PEERS.map((p) => ({
  name: p.name,
  run: {
    worker: 'pipeline-peer.ts',
    args: [
      '--peer',
      p.peer,
      '--dtype',
      p.dtype,
      ...(p.weights ? ['--int8-weights', p.weights] : []),
      ...common,
      '--export',
      p.exportDir ?? model.exportDir,
    ],
  },
}));
log(`int8: ${opts.rounds} rounds of ${variants.length} peers`);
const results = await runRounds<PeerResult>(variants, Number(opts.rounds));
const fp32 = results.get('seqbatch-fp32')![0]!;
const int8 = results.get('seqbatch-int8')![0]!;
const agreement = (a: readonly string[], b: readonly string[]): string =>
  `${((100 * a.filter((label, i) => label === b[i]).length) / a.length).toFixed(1)}%`;
const summary = PEERS.map((p) => {
  const runs = results.get(p.name)!;
  const seconds = median(runs.flatMap((r) => r.seconds));
  return {
    ...p,
    sequences: runs[0]!.sequences,
    seconds,
    samples: runs.flatMap((r) => r.seconds),
    sequencesPerSecond: runs[0]!.sequences / seconds,
    loadSeconds: median(runs.map((r) => r.loadSeconds)),
    peakRssMiB: median(runs.map((r) => r.peakRssMiB)),
    agreeFp32: agreement(runs[0]!.labels, fp32.labels),
    agreeInt8: agreement(runs[0]!.labels, int8.labels),
  };
});
const ours = summary.find((s) => s.name === 'seqbatch-int8')!;
const sections = [
  '## int8 (bench/int8.ts)',
  '',
  machineMarkdown(machine),
  cpuFlagsMarkdown(),
  '',
  `${ours.sequences} SST-2 dev sentences, raw text → label, DistilBERT-shaped random checkpoint, ` +
    `${opts.threads} intra-op threads; median of ${ours.samples.length} timed passes per peer (fresh process ` +
    'each, rounds interleaved), after a 64-text warm-up. Peak RSS is the whole process (load and run).',
  '',
  markdownTable(
    ['peer', 'seq/s', 'seqbatch int8 ÷ this', 'load (s)', 'peak RSS (MiB)', 'labels = fp32', 'labels = int8'],
    summary.map((s) => [
      s.label,
      sig(s.sequencesPerSecond),
      s.name === 'seqbatch-int8' ? '—' : ratio(s.seconds, ours.seconds),
      sig(s.loadSeconds),
      sig(s.peakRssMiB),
      s.agreeFp32,
      s.agreeInt8,
    ]),
  ),
  '',
];
// Loading alone: fp32, int8 and int8 with asymmetric weights in turn, a fresh process each.
const LOADS = {
  fp32: ['--dtype', 'fp32'],
  int8: ['--dtype', 'int8'],
  'int8 asymmetric': ['--dtype', 'int8', '--int8-weights', 'asymmetric'],
};
const loadPeaks: Record<keyof typeof LOADS, number[]> = { fp32: [], int8: [], 'int8 asymmetric': [] };
for (let round = 0; round < Number(opts.rounds); round++) {
  for (const [name, args] of Object.entries(LOADS) as [keyof typeof LOADS, string[]][]) {
    const run = { worker: 'load-peak.ts', args: ['--checkpoint', model.checkpointDir, ...args] };
    loadPeaks[name].push((await runWorker<{ peakRssMiB: number }>(run)).peakRssMiB);
  }
}
const loadFp32 = median(loadPeaks.fp32);
sections.push(
  `Loading alone (graph built from the weights, no graph cache, one text run), peak RSS, median of ` +
    `${opts.rounds}: ` +
    Object.entries(loadPeaks)
      .map(([name, peaks]) => `${name} ${sig(median(peaks))} MiB (${sig(median(peaks) / loadFp32)}× fp32)`)
      .join(', ') +
    '.',
  '',
);
process.stdout.write(sections.join('\n'));
log(
  `wrote ${writeJsonResult('int8', { machine, flags: cpuFlagsMarkdown(), options: opts, summary, loadPeaks })}`,
);
