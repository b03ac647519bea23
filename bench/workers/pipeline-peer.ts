/**
 * One end-to-end peer (raw text → label), timed in its own process (spawned by bench/pipeline.ts):
 *   --peer P --checkpoint DIR [--export DIR] [--limit N] [--passes 1] [--threads 2] [--sweep JSON]
 * seqbatch:             pipeline('text-classification') on the whole array (its scheduler sorts and batches).
 * transformersjs-whole: transformers.js' pipeline on the whole array (its default usage: one padded batch).
 * transformersjs-chunks: the same pipeline called on consecutive chunks of 32 in input order.
 * ort-raw:              the Rust `tokenizers` binding + seqbatch's planner (src/batching) + a raw onnxruntime-node
 *                       session + softmax written by hand: what a careful hand-rolled loop does.
 * sweep:                seqbatch's pipeline once per {batchSize, maxBatchTokens, batchOverheadTokens} in --sweep
 *                       (JSON array; null = no limit, or the default overhead), model
 *                       loaded once; configurations run in the given order.
 * `--dtype int8 [--int8-weights symmetric|asymmetric]` (bench/int8.ts): seqbatch loads with dtype 'int8' (and that
 * weight scheme), transformers.js with dtype 'q8' (the export's
 * onnx/model_quantized.onnx) and the raw session opens onnx/model_quantized.onnx.
 * Each reports per-pass wall time, the batch shapes it computed, and its labels (to compare the peers).
 */
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { Tokenizer as RustTokenizer } from 'tokenizers';
import { planBatches } from '../../src/batching/plan.js';
import type { Int8WeightScheme } from '../../src/models/layers/int8.js';
import { pipeline } from '../../src/pipelines/index.js';
import { BENCH_CACHE_DIR, readSst2Sentences } from '../lib/data.js';
import { secondsSince, sendResult, workerArgs } from '../lib/worker.js';

const PEERS = ['seqbatch', 'transformersjs-whole', 'transformersjs-chunks', 'ort-raw', 'sweep'] as const;
type PipelinePeer = (typeof PEERS)[number];

const args = workerArgs({
  peer: { type: 'string' },
  checkpoint: { type: 'string' },
  export: { type: 'string' },
  limit: { type: 'string' },
  passes: { type: 'string', default: '1' },
  threads: { type: 'string', default: '2' },
  sweep: { type: 'string' },
  dtype: { type: 'string', default: 'fp32' },
  'int8-weights': { type: 'string' },
});
const int8 = args.dtype === 'int8';
const peer = args.peer as PipelinePeer;
if (!PEERS.includes(peer)) throw new Error(`--peer must be one of ${PEERS.join(', ')}`);
if (!args.checkpoint) throw new Error('--checkpoint DIR is required');
if (!args.export && peer !== 'seqbatch' && peer !== 'sweep')
  throw new Error(`--export DIR is required for ${peer}`);
const threads = Number(args.threads);
const passes = Number(args.passes);
const all = readSst2Sentences('dev');
const texts = args.limit ? all.slice(0, Number(args.limit)) : all;
const CHUNK = 32;

interface BatchShape {
  rows: number;
  paddedLength: number;
  realTokens: number;
}
interface Classified {
  labels: string[];
  scores: number[];
  batches: BatchShape[];
}
type Classify = (texts: string[]) => Promise<Classified>;

interface Knobs {
  batchSize?: number;
  maxBatchTokens?: number;
  batchOverheadTokens?: number;
}

async function loadSeqbatch(options: Knobs = {}) {
  const pipe = await pipeline('text-classification', args.checkpoint!, {
    threads,
    cacheDir: join(BENCH_CACHE_DIR, 'graph-cache'),
    ...(int8
      ? { dtype: 'int8' as const, int8Weights: args['int8-weights'] as Int8WeightScheme | undefined }
      : {}),
  });
  const classify = async (input: string[], knobs = options): Promise<Classified> => {
    const batches: BatchShape[] = [];
    const out = (await pipe.run(input, {
      ...knobs,
      onBatch: (e) =>
        batches.push({ rows: e.indices.length, paddedLength: e.paddedLength, realTokens: e.realTokens }),
    })) as { label: string; score: number }[];
    return { labels: out.map((o) => o.label), scores: out.map((o) => o.score), batches };
  };
  return { classify, dispose: () => pipe.dispose() };
}

async function loadTransformersJs(chunked: boolean): Promise<Classify> {
  const hf = await import('@huggingface/transformers');
  hf.env.allowRemoteModels = false;
  const pipe = await hf.pipeline('text-classification', args.export!, {
    dtype: int8 ? 'q8' : 'fp32',
    device: 'cpu',
    session_options: { intraOpNumThreads: threads, interOpNumThreads: 1 },
  });
  return async (input) => {
    const labels: string[] = [];
    const scores: number[] = [];
    const size = chunked ? CHUNK : input.length;
    for (let start = 0; start < input.length; start += size) {
      const out = (await pipe(input.slice(start, start + size))) as { label: string; score: number }[];
      for (const o of out) {
        labels.push(o.label);
        scores.push(o.score);
      }
    }
    return { labels, scores, batches: [] }; // shapes are derived by the parent from token lengths
  };
}

async function loadRawOrt(): Promise<Classify> {
  const tokenizer = RustTokenizer.fromFile(join(args.checkpoint!, 'tokenizer.json'));
  const graph = int8 ? 'model_quantized.onnx' : 'model.onnx';
  const session = await ort.InferenceSession.create(join(args.export!, 'onnx', graph), {
    intraOpNumThreads: threads,
    interOpNumThreads: 1,
    graphOptimizationLevel: 'all',
    executionMode: 'sequential',
  });
  const id2label = ['NEGATIVE', 'POSITIVE'];
  return async (input) => {
    const encodings = await tokenizer.encodeBatch(input);
    const rows = encodings.map((e) => e.getIds());
    const labels = new Array<string>(input.length);
    const scores = new Array<number>(input.length);
    const batches: BatchShape[] = [];
    for (const planned of planBatches(rows.map((r) => r.length))) {
      const width = planned.paddedLength;
      const n = planned.indices.length;
      const ids = new BigInt64Array(n * width);
      const mask = new BigInt64Array(n * width);
      planned.indices.forEach((source, r) => {
        const row = rows[source];
        for (let j = 0; j < row.length; j++) {
          ids[r * width + j] = BigInt(row[j]);
          mask[r * width + j] = 1n;
        }
      });
      const out = await session.run({
        input_ids: new ort.Tensor('int64', ids, [n, width]),
        attention_mask: new ort.Tensor('int64', mask, [n, width]),
      });
      const logits = out.logits.data as Float32Array;
      planned.indices.forEach((source, r) => {
        const a = logits[r * 2];
        const b = logits[r * 2 + 1];
        const m = Math.max(a, b);
        const ea = Math.exp(a - m);
        const eb = Math.exp(b - m);
        const best = b > a ? 1 : 0;
        labels[source] = id2label[best];
        scores[source] = (best === 1 ? eb : ea) / (ea + eb);
      });
      batches.push({ rows: n, paddedLength: width, realTokens: planned.realTokens });
    }
    return { labels, scores, batches };
  };
}

async function timePasses(classify: Classify) {
  await classify(texts.slice(0, 64)); // warm-up: JIT, ORT arenas, kernel selection for a few shapes
  const seconds: number[] = [];
  let last: Classified = { labels: [], scores: [], batches: [] };
  for (let p = 0; p < passes; p++) {
    const start = performance.now();
    last = await classify(texts);
    seconds.push(secondsSince(start));
  }
  return { seconds, ...last };
}

const loadStart = performance.now();
if (peer === 'sweep') {
  const configs = JSON.parse(args.sweep ?? '[]') as {
    batchSize: number | null;
    maxBatchTokens: number | null;
    batchOverheadTokens: number | null;
  }[];
  const { classify, dispose } = await loadSeqbatch();
  const loadSeconds = secondsSince(loadStart);
  await classify(texts.slice(0, 64));
  const results = [];
  for (const config of configs) {
    // JSON has no Infinity: null stands for "no limit".
    const knobs: Knobs = {
      batchSize: config.batchSize ?? Infinity,
      maxBatchTokens: config.maxBatchTokens ?? Infinity,
      batchOverheadTokens: config.batchOverheadTokens ?? undefined,
    };
    const start = performance.now();
    const out = await classify(texts, knobs);
    results.push({ ...config, seconds: secondsSince(start), batches: out.batches });
  }
  await dispose();
  sendResult({ peer, sequences: texts.length, loadSeconds, results });
} else {
  let classify: Classify;
  let dispose = async () => {};
  if (peer === 'seqbatch') {
    const loaded = await loadSeqbatch();
    classify = (input) => loaded.classify(input);
    dispose = loaded.dispose;
  } else if (peer === 'ort-raw') {
    classify = await loadRawOrt();
  } else {
    classify = await loadTransformersJs(peer === 'transformersjs-chunks');
  }
  const loadSeconds = secondsSince(loadStart);
  const timed = await timePasses(classify);
  await dispose();
  sendResult({ peer, sequences: texts.length, threads, loadSeconds, ...timed });
}
