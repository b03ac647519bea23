/**
 * Embedding and reranking throughput against transformers.js (issue 17), one command:
 *
 *   npx tsx bench/st-embed.ts [--rounds 3] [--passes 1] [--limit N] [--threads 2] [--small]
 *
 * One seeded random DistilBERT-shaped checkpoint with one label (a cross-encoder's head; scripts/
 * make-random-checkpoint.ts) serves both tasks: its base graph embeds, its classification graph reranks. Both
 * peers run the same weights on the same SST-2 dev sentences: transformers.js on `seqbatch export` folders of
 * the checkpoint (base and sequence-classification). Peers, each in a fresh process, rounds interleaved, median
 * of the timed passes (bench/workers/st-peer.ts says what each does). Reports texts/s (embed) and pairs/s
 * (rerank), the ratio to transformers.js, and how far the peers' outputs are apart. A second table serves the same
 * checkpoint over HTTP (/embed, one text per request, 64 in flight; /rerank, 32 documents per request) against the
 * offline pipeline in the same rounds. Prints Markdown; writes bench/out/st-embed.json.
 */
import { copyFileSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { makeRandomCheckpoint, REFERENCE_DIR } from '../scripts/make-random-checkpoint.js';
import { exportModel } from '../src/cli/commands/export.js';
import { prepareWorkers } from './lib/build.js';
import { BENCH_CACHE_DIR } from './lib/data.js';
import { machineInfo, machineMarkdown } from './lib/machine.js';
import { log, writeJsonResult } from './lib/output.js';
import { ROUND_OPTIONS, runRounds, type Variant } from './lib/rounds.js';
import { ST_PEERS } from './lib/st-peers.js';
import { markdownTable, median, ratio, sig } from './lib/stats.js';

const { values: opts } = parseArgs({
  options: {
    ...ROUND_OPTIONS,
  },
});

/** The CPU's vector extensions that matter to ONNX Runtime's kernels, from /proc/cpuinfo. */
function cpuFlags(): string {
  try {
    const flags =
      /^flags\s*:(.*)$/m.exec(readFileSync('/proc/cpuinfo', 'utf8'))?.[1]?.trim().split(/\s+/) ?? [];
    return ['avx2', 'fma', 'avx512f', 'avx512_vnni', 'avx512_bf16', 'amx_tile']
      .filter((f) => flags.includes(f))
      .join(' ');
  } catch {
    return 'unknown';
  }
}

/** The one-label checkpoint (written on first use) and its two transformers.js exports. */
async function ensureCrossEncoderCheckpoint(small: boolean) {
  const dir = join(BENCH_CACHE_DIR, small ? 'distilbert-small-1label' : 'distilbert-base-1label');
  if (!existsSync(join(dir, 'model.safetensors'))) {
    // The reference folder with one label instead of two: a cross-encoder's classification head.
    const reference = `${dir}-reference`;
    mkdirSync(reference, { recursive: true });
    for (const file of ['tokenizer.json', 'tokenizer_config.json', 'vocab.txt', 'special_tokens_map.json']) {
      if (existsSync(join(REFERENCE_DIR, file)))
        copyFileSync(join(REFERENCE_DIR, file), join(reference, file));
    }
    const config = JSON.parse(readFileSync(join(REFERENCE_DIR, 'config.json'), 'utf8')) as Record<
      string,
      unknown
    >;
    config.id2label = { 0: 'LABEL_0' };
    config.label2id = { LABEL_0: 0 };
    writeFileSync(join(reference, 'config.json'), JSON.stringify(config, null, 2));
    log(`writing the random one-label checkpoint ${dir}`);
    await makeRandomCheckpoint(dir, {
      referenceDir: reference,
      ...(small ? { layers: 2, hidden: 128, heads: 2, intermediate: 512 } : {}),
    });
  }
  const baseExport = `${dir}-export-base`;
  const seqclsExport = `${dir}-export-seqcls`;
  log(`exporting ${dir} → ${baseExport}, ${seqclsExport}`);
  await exportModel(dir, baseExport, { task: 'base' });
  await exportModel(dir, seqclsExport, { task: 'sequence-classification' });
  return { dir, baseExport, seqclsExport };
}

interface PeerResult {
  peer: string;
  items: number;
  seconds: number[];
  digest: number[] | number[][];
  peakRssMiB: number;
}

const machine = machineInfo(['onnxruntime-node', '@huggingface/transformers']);
const flags = cpuFlags();
log(machineMarkdown(machine));
log(`CPU flags: ${flags}`);
prepareWorkers(opts.tsx!);
const model = await ensureCrossEncoderCheckpoint(opts.small!);
const common = [
  '--checkpoint',
  model.dir,
  '--base-export',
  model.baseExport,
  '--seqcls-export',
  model.seqclsExport,
  '--passes',
  opts.passes!,
  '--threads',
  opts.threads!,
  ...(opts.limit ? ['--limit', opts.limit] : []),
];
const variants: Variant[] = ST_PEERS.map((peer) => ({
  name: peer,
  run: { worker: 'st-peer.ts', args: ['--peer', peer, ...common], timeoutMs: 30 * 60_000 },
}));
const results = await runRounds<PeerResult>(variants, Number(opts.rounds));

function rate(peer: string): number {
  const runs = results.get(peer)!;
  return runs[0]!.items / median(runs.flatMap((r) => r.seconds));
}
function maxDiff(a: string, b: string): number {
  const flat = (peer: string) => (results.get(peer)![0]!.digest as (number | number[])[]).flat();
  const x = flat(a);
  const y = flat(b);
  return Math.max(...x.map((v, i) => Math.abs(v - y[i]!)));
}
function rankAgreement(): string {
  const order = (peer: string) =>
    (results.get(peer)![0]!.digest as number[])
      .map((score, index) => ({ score, index }))
      .sort((p, q) => q.score - p.score)
      .map((r) => r.index);
  const a = order('seqbatch-rerank');
  const b = order('transformersjs-rerank');
  const top = Math.min(10, a.length);
  return `${a.slice(0, top).filter((v, i) => v === b[i]).length}/${top} of the top ${top} in the same place`;
}

const rssPair = (a: string, b: string) =>
  `${median(results.get(a)!.map((r) => r.peakRssMiB))} / ${median(results.get(b)!.map((r) => r.peakRssMiB))}`;
const rows = [
  ['embed (texts/s)', 'seqbatch-embed', 'transformersjs-embed'],
  ['rerank (pairs/s)', 'seqbatch-rerank', 'transformersjs-rerank'],
].map(([task, ours, theirs]) => [
  task!,
  sig(rate(ours!)),
  sig(rate(theirs!)),
  ratio(rate(ours!), rate(theirs!)),
  maxDiff(ours!, theirs!).toExponential(1),
  rssPair(ours!, theirs!),
]);
const table = markdownTable(
  [
    'task',
    'seqbatch',
    'transformers.js (chunks of 32)',
    'seqbatch / transformers.js',
    'max output diff',
    'peak RSS MiB (seqbatch / tjs)',
  ],
  rows,
);
const servedTable = markdownTable(
  [
    'served task',
    'offline pipeline',
    'server',
    'server / offline',
    'max output diff',
    'peak RSS MiB (offline / server)',
  ],
  [
    ['/embed, one text per request, 64 in flight (texts/s)', 'seqbatch-embed', 'server-embed'],
    ['/rerank, 32 documents per request (pairs/s)', 'seqbatch-rerank', 'server-rerank'],
  ].map(([task, offline, served]) => [
    task!,
    sig(rate(offline!)),
    sig(rate(served!)),
    ratio(rate(served!), rate(offline!)),
    maxDiff(offline!, served!).toExponential(1),
    rssPair(offline!, served!),
  ]),
);
log('');
log(table);
log(`rerank order: ${rankAgreement()}`);
log('');
log(servedTable);
writeJsonResult('st-embed', {
  machine,
  cpuFlags: flags,
  options: opts,
  results: Object.fromEntries(results),
});
