/**
 * One model peer, timed in its own process (spawned by bench/model.ts) on pre-tokenized ids:
 *   --peer seqbatch|ort|ort-full|transformersjs|transformersjs-sorted --checkpoint DIR --export DIR
 *   [--full-graph FILE] [--limit N] [--passes 1] [--threads 2] [--chunk 32]
 * seqbatch: AutoModelForSequenceClassification on the length-sorted plan (src/batching defaults).
 * ort: a raw onnxruntime-node session on the exported graph, same sorted batches.
 * ort-full: a raw session on the full-computation graph (--full-graph FILE: every position of every layer, as HF's
 * PyTorch model and an ONNX export of it compute), same sorted batches.
 * transformersjs: transformers.js' AutoModelForSequenceClassification on the exported graph, consecutive chunks of
 * 32 in input order (what its users do); transformersjs-sorted: the same model on the sorted batches.
 * Batches are padded before the clock starts: tokenization and padding are not part of this benchmark.
 */
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { AutoModelForSequenceClassification } from '../../src/models/auto.js';
import { readSharedIds } from '../lib/pipeline-data.js';
import { BENCH_CACHE_DIR } from '../lib/data.js';
import { chunkedBatches, sortedBatches, type IdBatch } from '../lib/id-batches.js';
import { secondsSince, sendResult, workerArgs } from '../lib/worker.js';

const PEERS = ['seqbatch', 'ort', 'ort-full', 'transformersjs', 'transformersjs-sorted'] as const;
type ModelPeer = (typeof PEERS)[number];

const args = workerArgs({
  peer: { type: 'string' },
  checkpoint: { type: 'string' },
  export: { type: 'string' },
  'full-graph': { type: 'string' },
  limit: { type: 'string' },
  passes: { type: 'string', default: '1' },
  threads: { type: 'string', default: '2' },
  chunk: { type: 'string', default: '32' },
});
const peer = args.peer as ModelPeer;
if (!PEERS.includes(peer)) throw new Error(`--peer must be one of ${PEERS.join(', ')}`);
if (!args.checkpoint || !args.export) throw new Error('--checkpoint DIR and --export DIR are required');
const threads = Number(args.threads);
const passes = Number(args.passes);

const allRows = readSharedIds();
const rows = args.limit ? allRows.slice(0, Number(args.limit)) : allRows;
const batches: IdBatch[] =
  peer === 'transformersjs' ? chunkedBatches(rows, Number(args.chunk)) : sortedBatches(rows, {});

/** Runs one padded batch and returns its logits, row-major [rows, labels]. */
type RunBatch = (batch: IdBatch) => Promise<Float32Array>;

async function load(): Promise<{ run: RunBatch; dispose: () => Promise<void> }> {
  switch (peer) {
    case 'seqbatch': {
      const model = await AutoModelForSequenceClassification.fromPretrained(args.checkpoint!, {
        threads,
        cacheDir: join(BENCH_CACHE_DIR, 'graph-cache'),
      });
      return {
        run: async (b) => {
          const dims = [b.indices.length, b.paddedLength];
          const out = await model.forward({
            input_ids: { data: b.inputIds, dims },
            attention_mask: { data: b.attentionMask, dims },
          });
          return out.logits!.data as Float32Array;
        },
        dispose: () => model.dispose(),
      };
    }
    case 'ort':
    case 'ort-full': {
      const graph = peer === 'ort' ? join(args.export!, 'onnx', 'model.onnx') : args['full-graph'];
      if (!graph) throw new Error('--full-graph FILE is required for ort-full');
      const session = await ort.InferenceSession.create(graph, {
        intraOpNumThreads: threads,
        interOpNumThreads: 1,
        graphOptimizationLevel: 'all',
        executionMode: 'sequential',
      });
      return {
        run: async (b) => {
          const dims = [b.indices.length, b.paddedLength];
          const out = await session.run({
            input_ids: new ort.Tensor('int64', b.inputIds, dims),
            attention_mask: new ort.Tensor('int64', b.attentionMask, dims),
          });
          return out.logits.data as Float32Array;
        },
        dispose: () => session.release(),
      };
    }
    case 'transformersjs':
    case 'transformersjs-sorted': {
      const hf = await import('@huggingface/transformers');
      hf.env.allowRemoteModels = false;
      const model = await hf.AutoModelForSequenceClassification.from_pretrained(args.export!, {
        dtype: 'fp32',
        device: 'cpu',
        session_options: { intraOpNumThreads: threads, interOpNumThreads: 1 },
      });
      return {
        run: async (b) => {
          const dims = [b.indices.length, b.paddedLength];
          const out = (await model({
            input_ids: new hf.Tensor('int64', b.inputIds, dims),
            attention_mask: new hf.Tensor('int64', b.attentionMask, dims),
          })) as { logits: { data: Float32Array } };
          return out.logits.data;
        },
        dispose: async () => {
          await model.dispose();
        },
      };
    }
  }
}

const loadStart = performance.now();
const { run, dispose } = await load();
const loadSeconds = secondsSince(loadStart);

// Warm-up: the first runs allocate ORT's arenas and pick kernels for new shapes.
for (const b of batches.slice(0, 3)) await run(b);

const seconds: number[] = [];
const logits: number[][] = new Array(rows.length);
for (let p = 0; p < passes; p++) {
  const start = performance.now();
  for (const b of batches) {
    const out = await run(b);
    const labels = out.length / b.indices.length;
    if (p === 0) {
      b.indices.forEach(
        (source, r) => (logits[source] = Array.from(out.subarray(r * labels, (r + 1) * labels))),
      );
    }
  }
  seconds.push(secondsSince(start));
}
await dispose();
sendResult({
  peer,
  sequences: rows.length,
  batches: batches.map((b) => ({
    rows: b.indices.length,
    paddedLength: b.paddedLength,
    realTokens: b.realTokens,
  })),
  threads,
  loadSeconds,
  seconds,
  logits,
});
