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

/** The encoder shape the FLOP counts need, in DistilBERT's config names (other architectures are mapped to them). */
export interface DistilBertShape {
  dim: number;
  hidden_dim: number;
  n_layers: number;
  n_heads: number;
  vocab_size: number;
  max_position_embeddings: number;
  /** DeBERTa: the relative-attention span (`position_buckets`), for the c2p / p2c products. */
  relative_span?: number;
}

/** The architectures the model benchmark runs; `distilbert` is the reference the others are measured against. */
export const BENCH_ARCHITECTURES = ['distilbert', 'deberta-v2'] as const;
export type BenchArchitecture = (typeof BENCH_ARCHITECTURES)[number];

/**
 * microsoft/deberta-v3-base's config.json (184M parameters with its 128,100-token vocabulary), as a 2-label
 * sequence classifier. `small` shrinks it like the small DistilBERT.
 */
function debertaV3BaseConfig(small: boolean): Record<string, unknown> {
  return {
    architectures: ['DebertaV2ForSequenceClassification'],
    model_type: 'deberta-v2',
    _name_or_path: 'seqbatch random DeBERTa-v3-base (seeded; not a trained model)',
    hidden_size: small ? SMALL.hidden : 768,
    num_hidden_layers: small ? SMALL.layers : 12,
    num_attention_heads: small ? SMALL.heads : 12,
    intermediate_size: small ? SMALL.intermediate : 3072,
    hidden_act: 'gelu',
    hidden_dropout_prob: 0.1,
    attention_probs_dropout_prob: 0.1,
    initializer_range: 0.02,
    layer_norm_eps: 1e-7,
    max_position_embeddings: 512,
    max_relative_positions: -1,
    position_buckets: 256,
    relative_attention: true,
    pos_att_type: ['p2c', 'c2p'],
    share_att_key: true,
    norm_rel_ebd: 'layer_norm',
    position_biased_input: false,
    type_vocab_size: 0,
    vocab_size: 128100,
    pad_token_id: 0,
    pooler_dropout: 0,
    pooler_hidden_act: 'gelu',
    pooler_hidden_size: small ? SMALL.hidden : 768,
    id2label: { 0: 'NEGATIVE', 1: 'POSITIVE' },
    label2id: { NEGATIVE: 0, POSITIVE: 1 },
  };
}

/** The FLOP-count shape of a checkpoint's config. */
function shapeOf(arch: BenchArchitecture, config: Record<string, unknown>): DistilBertShape {
  if (arch === 'distilbert') return config as unknown as DistilBertShape;
  return {
    dim: config.hidden_size as number,
    hidden_dim: config.intermediate_size as number,
    n_layers: config.num_hidden_layers as number,
    n_heads: config.num_attention_heads as number,
    vocab_size: config.vocab_size as number,
    max_position_embeddings: config.max_position_embeddings as number,
    relative_span: config.position_buckets as number,
  };
}

/** Shape overrides of the small variant: same vocabulary and tokenizer, a fraction of the compute. */
const SMALL = { layers: 2, hidden: 128, heads: 2, intermediate: 512 };

/** The random checkpoint folder, written on first use. */
export async function ensureBenchCheckpoint(
  small = false,
  arch: BenchArchitecture = 'distilbert',
): Promise<string> {
  const base = arch === 'distilbert' ? 'distilbert' : 'deberta-v3';
  const checkpointDir = join(BENCH_CACHE_DIR, `${base}-${small ? 'small' : 'base'}-random`);
  if (!existsSync(join(checkpointDir, 'model.safetensors'))) {
    log(`writing the random checkpoint ${checkpointDir}`);
    if (arch === 'distilbert') await makeRandomCheckpoint(checkpointDir, small ? SMALL : {});
    else await makeRandomCheckpointFromConfig(checkpointDir, debertaV3BaseConfig(small));
  }
  return checkpointDir;
}

export async function ensureBenchModel(
  small = false,
  arch: BenchArchitecture = 'distilbert',
): Promise<BenchModel> {
  const checkpointDir = await ensureBenchCheckpoint(small, arch);
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
  return { checkpointDir, exportDir, fullGraphPath, config: shapeOf(arch, configJson) };
}
