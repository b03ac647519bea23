/**
 * The DistilBERT-base-shaped random checkpoint the model and pipeline benchmarks run (scripts/
 * make-random-checkpoint.ts writes it; the cost of a forward pass does not depend on the weight values), and its
 * transformers.js-layout export (`seqbatch export`), both under .cache/bench. `--small` variants shrink the
 * model for quick validation runs and the smoke test.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  makeRandomCheckpoint,
  makeRandomCheckpointFromConfig,
} from '../../scripts/make-random-checkpoint.js';
import { exportModel } from '../../src/cli/commands/export.js';
import { buildModelGraph } from '../../src/models/index.js';
import { loadWeights } from '../../src/weights/index.js';
import { BENCH_CACHE_DIR } from './data.js';
import {
  DEBERTA_V3_BASE_CONFIG,
  MODERNBERT_BASE_CONFIG,
  MPNET_BASE_CONFIG,
  SMALL_OVERRIDES,
} from './arch-configs.js';
import {
  debertaSequenceFlops,
  firstTokenSequenceFlops,
  modernBertSequenceFlops,
  sequenceFlops,
  type DebertaShape,
  type GraphWork,
  type ModernBertShape,
} from './flops.js';
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

/** The architectures `bench/model.ts --arch` runs: DistilBERT (the reference) and the base-size rows of issue 16. */
export const BENCH_ARCHS = ['distilbert', 'modernbert', 'mpnet', 'deberta-v2'] as const;
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

/** How each architecture other than DistilBERT is described, configured and counted. */
const ARCH_ROWS: Record<
  Exclude<BenchArch, 'distilbert'>,
  {
    folder: string;
    config: Record<string, unknown>;
    firstTokenShortcut: boolean;
    describe(c: Record<string, number>): string;
    flops(c: Record<string, number>, length: number, work: GraphWork): number;
  }
> = {
  modernbert: {
    folder: 'modernbert',
    config: MODERNBERT_BASE_CONFIG,
    // Mean pooling reads every position, so there is no first-token shortcut.
    firstTokenShortcut: false,
    describe: (c) =>
      `ModernBERT-base-shaped random checkpoint (${c.num_hidden_layers} layers, hidden ${c.hidden_size}, ` +
      `GeGLU ${c.intermediate_size}, ${c.num_attention_heads} heads, a global layer every ` +
      `${c.global_attn_every_n_layers}, window ${c.local_attention}, mean pooling)`,
    flops: (c, length) => modernBertSequenceFlops(c as unknown as ModernBertShape, length),
  },
  mpnet: {
    folder: 'mpnet',
    config: MPNET_BASE_CONFIG,
    firstTokenShortcut: true,
    describe: (c) =>
      `MPNet-base-shaped random checkpoint (all-mpnet-base-v2: ${c.num_hidden_layers} layers, hidden ` +
      `${c.hidden_size}, FFN ${c.intermediate_size}, ${c.num_attention_heads} heads, ` +
      `${c.relative_attention_num_buckets} relative-position buckets)`,
    // BERT's products (the position bias is one addition per score); the RoBERTa-style head costs DistilBERT's.
    flops: (c, length, work) =>
      work === 'full' ? sequenceFlops(bertShape(c), length) : firstTokenSequenceFlops(bertShape(c), length),
  },
  'deberta-v2': {
    folder: 'deberta-v3',
    config: DEBERTA_V3_BASE_CONFIG,
    firstTokenShortcut: false,
    describe: (c) =>
      `DeBERTa-v3-base-shaped random checkpoint (${c.num_hidden_layers} layers, hidden ${c.hidden_size}, FFN ` +
      `${c.intermediate_size}, ${c.num_attention_heads} heads, c2p + p2c over ${c.position_buckets} log ` +
      `buckets, vocabulary ${c.vocab_size})`,
    flops: (c, length) =>
      debertaSequenceFlops({ ...bertShape(c), ...(c as unknown as DebertaShape) }, length),
  },
};

/** A BERT-like config in the FLOP counts' DistilBERT names. */
function bertShape(c: Record<string, number>): DistilBertShape {
  return {
    dim: c.hidden_size!,
    hidden_dim: c.intermediate_size!,
    n_layers: c.num_hidden_layers!,
    n_heads: c.num_attention_heads!,
    vocab_size: c.vocab_size!,
    max_position_embeddings: c.max_position_embeddings!,
  };
}

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
  const row = ARCH_ROWS[arch];
  const checkpointDir = join(BENCH_CACHE_DIR, `${row.folder}-${small ? 'small' : 'base'}-random`);
  if (!existsSync(join(checkpointDir, 'model.safetensors'))) {
    log(`writing the random checkpoint ${checkpointDir}`);
    await makeRandomCheckpointFromConfig(checkpointDir, {
      ...row.config,
      ...(small ? SMALL_OVERRIDES[arch] : {}),
    });
  }
  const exportDir = `${checkpointDir}-export`;
  log(`exporting ${checkpointDir} → ${exportDir}/onnx/model.onnx`);
  await exportModel(checkpointDir, exportDir);
  const config = JSON.parse(readFileSync(join(checkpointDir, 'config.json'), 'utf8')) as Record<
    string,
    number
  >;
  // Without the first-token shortcut the export already is the full computation.
  let fullGraphPath = join(exportDir, 'onnx', 'model.onnx');
  if (row.firstTokenShortcut) {
    fullGraphPath = join(exportDir, 'onnx', 'model-full.onnx');
    log(`building the full-computation graph → ${fullGraphPath}`);
    const full = buildModelGraph(config, await loadWeights(checkpointDir), {
      task: 'sequence-classification',
      firstTokenOnly: false,
    });
    writeFileSync(fullGraphPath, full.bytes);
  }
  return {
    arch,
    description: row.describe(config),
    checkpointDir,
    exportDir,
    fullGraphPath,
    firstTokenShortcut: row.firstTokenShortcut,
    sequenceFlops: (length, work) => row.flops(config, length, work),
  };
}
