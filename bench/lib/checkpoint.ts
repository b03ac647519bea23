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
