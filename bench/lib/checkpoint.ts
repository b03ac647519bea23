/**
 * The DistilBERT-base-shaped random checkpoint the model and pipeline benchmarks run (scripts/
 * make-random-checkpoint.ts writes it; the cost of a forward pass does not depend on the weight values), and its
 * transformers.js-layout export (`seqbatch export`), both under .cache/bench. `--small` variants shrink the
 * model for quick validation runs and the smoke test.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { makeRandomCheckpoint } from '../../scripts/make-random-checkpoint.js';
import { exportModel } from '../../src/cli/commands/export.js';
import { buildModelGraph } from '../../src/models/index.js';
import { loadWeights } from '../../src/weights/index.js';
import { BENCH_CACHE_DIR } from './data.js';
import {
  firstTokenSequenceFlops,
  modernBertSequenceFlops,
  sequenceFlops,
  type GraphWork,
  type ModernBertShape,
} from './flops.js';
import { makeModernBertCheckpoint } from './modernbert-checkpoint.js';
import { log } from './output.js';

export interface BenchModel {
  /** The checkpoint folder (config.json + model.safetensors + tokenizer files). */
  checkpointDir: string;
  /** The export folder: onnx/model.onnx beside config.json and the tokenizer files. */
  exportDir: string;
  /**
   * The same model built with `firstTokenOnly: false`: every position of every layer, the computation of HF's
   * PyTorch model (and of an ONNX export of it). The "raw ORT, full computation" peer runs it.
   */
  fullGraphPath: string;
  config: DistilBertShape;
}

export interface DistilBertShape {
  dim: number;
  hidden_dim: number;
  n_layers: number;
  n_heads: number;
  vocab_size: number;
  max_position_embeddings: number;
}

/** Shape overrides of the small variant: same vocabulary and tokenizer, a fraction of the compute. */
const SMALL = { layers: 2, hidden: 128, heads: 2, intermediate: 512 };

/** The random checkpoint folder, written on first use. */
export async function ensureBenchCheckpoint(small = false): Promise<string> {
  const checkpointDir = join(BENCH_CACHE_DIR, small ? 'distilbert-small-random' : 'distilbert-base-random');
  if (!existsSync(join(checkpointDir, 'model.safetensors'))) {
    log(`writing the random checkpoint ${checkpointDir}`);
    await makeRandomCheckpoint(checkpointDir, small ? SMALL : {});
  }
  return checkpointDir;
}

export async function ensureBenchModel(small = false): Promise<BenchModel> {
  const checkpointDir = await ensureBenchCheckpoint(small);
  const exportDir = `${checkpointDir}-export`;
  // Always re-export: the export must come from the graph builder as it is now, not from an older build.
  log(`exporting ${checkpointDir} → ${exportDir}/onnx/model.onnx`);
  await exportModel(checkpointDir, exportDir);
  const configJson = JSON.parse(readFileSync(join(checkpointDir, 'config.json'), 'utf8')) as Record<
    string,
    unknown
  >;
  const fullGraphPath = join(exportDir, 'onnx', 'model-full.onnx');
  log(`building the full-computation graph → ${fullGraphPath}`);
  const full = buildModelGraph(configJson, await loadWeights(checkpointDir), {
    task: 'sequence-classification',
    firstTokenOnly: false,
  });
  writeFileSync(fullGraphPath, full.bytes);
  return { checkpointDir, exportDir, fullGraphPath, config: configJson as unknown as DistilBertShape };
}

/** The architectures `bench/model.ts --arch` runs. */
export const BENCH_ARCHS = ['distilbert', 'modernbert'] as const;
export type BenchArch = (typeof BENCH_ARCHS)[number];

/** One architecture's benchmark model and the FLOP count of its forward pass. */
export interface ArchBenchModel {
  arch: BenchArch;
  /** One sentence for the report: shape and origin. */
  description: string;
  checkpointDir: string;
  exportDir: string;
  /** The full-computation graph (every position of every layer). */
  fullGraphPath: string;
  /** Whether seqbatch's classifier graph computes the last layer for the first token only (then it differs from the full graph). */
  firstTokenShortcut: boolean;
  /** FLOPs of one sequence of `length` tokens in HF's full computation or in the first-token graph. */
  sequenceFlops(length: number, work: GraphWork): number;
}

/** Small ModernBERT for quick validation runs. */
const MODERNBERT_SMALL = {
  num_hidden_layers: 4,
  hidden_size: 128,
  num_attention_heads: 2,
  intermediate_size: 192,
};

export async function ensureArchBenchModel(arch: BenchArch, small = false): Promise<ArchBenchModel> {
  if (arch === 'distilbert') {
    const model = await ensureBenchModel(small);
    const shape = model.config;
    return {
      arch,
      description:
        `DistilBERT-shaped random checkpoint (${shape.n_layers} layers, dim ${shape.dim}, FFN ${shape.hidden_dim}, ` +
        `${shape.n_heads} heads)`,
      checkpointDir: model.checkpointDir,
      exportDir: model.exportDir,
      fullGraphPath: model.fullGraphPath,
      firstTokenShortcut: true,
      sequenceFlops: (length, work) =>
        work === 'full' ? sequenceFlops(shape, length) : firstTokenSequenceFlops(shape, length),
    };
  }
  const checkpointDir = join(BENCH_CACHE_DIR, small ? 'modernbert-small-random' : 'modernbert-base-random');
  if (!existsSync(join(checkpointDir, 'model.safetensors'))) {
    log(`writing the random checkpoint ${checkpointDir}`);
    await makeModernBertCheckpoint(checkpointDir, small ? MODERNBERT_SMALL : {});
  }
  const exportDir = `${checkpointDir}-export`;
  log(`exporting ${checkpointDir} → ${exportDir}/onnx/model.onnx`);
  await exportModel(checkpointDir, exportDir);
  const shape = JSON.parse(readFileSync(join(checkpointDir, 'config.json'), 'utf8')) as ModernBertShape &
    Record<string, number>;
  return {
    arch,
    description:
      `ModernBERT-base-shaped random checkpoint (${shape.num_hidden_layers} layers, hidden ${shape.hidden_size}, ` +
      `GeGLU ${shape.intermediate_size}, ${shape.num_attention_heads} heads, a global layer every ` +
      `${shape.global_attn_every_n_layers}, window ${shape.local_attention}, mean pooling)`,
    checkpointDir,
    exportDir,
    // No first-token shortcut: the export is already the full computation.
    fullGraphPath: join(exportDir, 'onnx', 'model.onnx'),
    firstTokenShortcut: false,
    sequenceFlops: (length) => modernBertSequenceFlops(shape, length),
  };
}
