/**
 * A ModernBERT sequence classifier with seeded random weights, shaped like answerdotai/ModernBERT-base (22 layers,
 * hidden 768, GeGLU intermediate 1152, 12 heads, a global layer every third, local window 128, vocabulary 50368,
 * no biases but the classifier's), for the model benchmark. The cost of a forward pass does not depend on the
 * weight values; the benchmark feeds SST-2 ids of another vocabulary, all below 50368.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { mulberry32 } from '../../src/util/random.js';
import { writeSafetensorsFile, type LazyTensorToWrite } from '../../src/weights/write.js';

/** The config.json of ModernBERT-base (transformers 4.48 field names), as a 2-label sequence classifier. */
export const MODERNBERT_BASE_CONFIG: Record<string, unknown> = {
  architectures: ['ModernBertForSequenceClassification'],
  model_type: 'modernbert',
  vocab_size: 50368,
  hidden_size: 768,
  intermediate_size: 1152,
  num_hidden_layers: 22,
  num_attention_heads: 12,
  hidden_activation: 'gelu',
  max_position_embeddings: 8192,
  norm_eps: 1e-5,
  norm_bias: false,
  attention_bias: false,
  mlp_bias: false,
  global_attn_every_n_layers: 3,
  local_attention: 128,
  global_rope_theta: 160000,
  local_rope_theta: 10000,
  classifier_pooling: 'mean',
  classifier_activation: 'gelu',
  classifier_bias: false,
  pad_token_id: 50283,
  id2label: { 0: 'NEGATIVE', 1: 'POSITIVE' },
  label2id: { NEGATIVE: 0, POSITIVE: 1 },
  transformers_version: '4.48.0',
};

/** Normal samples (Box–Muller). */
function normals(random: () => number, count: number, mean: number, std: number): Float32Array {
  const out = new Float32Array(count);
  for (let i = 0; i < count; i++) {
    const r = Math.sqrt(-2 * Math.log(1 - random()));
    out[i] = mean + std * r * Math.cos(2 * Math.PI * random());
  }
  return out;
}

/** Writes config.json and model.safetensors to `outDir`; `overrides` shrink the shape for quick runs. */
export async function makeModernBertCheckpoint(
  outDir: string,
  overrides: Record<string, unknown> = {},
  seed = 48,
): Promise<Record<string, unknown>> {
  const config = { ...MODERNBERT_BASE_CONFIG, ...overrides };
  const d = config.hidden_size as number;
  const f = config.intermediate_size as number;
  const random = mulberry32(seed);
  const tensors: LazyTensorToWrite[] = [];
  const add = (name: string, shape: number[], mean = 0, std = 0.02): void => {
    tensors.push({
      name,
      dtype: 'F32',
      shape,
      data: () =>
        normals(
          random,
          shape.reduce((a, b) => a * b, 1),
          mean,
          std,
        ),
    });
  };
  const norm = (name: string): void => add(`${name}.weight`, [d], 1, 0.1);
  add('model.embeddings.tok_embeddings.weight', [config.vocab_size as number, d]);
  norm('model.embeddings.norm');
  for (let l = 0; l < (config.num_hidden_layers as number); l++) {
    const p = `model.layers.${l}`;
    if (l > 0) norm(`${p}.attn_norm`);
    add(`${p}.attn.Wqkv.weight`, [3 * d, d]);
    add(`${p}.attn.Wo.weight`, [d, d]);
    norm(`${p}.mlp_norm`);
    add(`${p}.mlp.Wi.weight`, [2 * f, d]);
    add(`${p}.mlp.Wo.weight`, [d, f]);
  }
  norm('model.final_norm');
  add('head.dense.weight', [d, d]);
  norm('head.norm');
  add('classifier.weight', [2, d]);
  add('classifier.bias', [2], 0, 0.1);
  mkdirSync(outDir, { recursive: true });
  await writeSafetensorsFile(join(outDir, 'model.safetensors'), tensors, { format: 'pt' });
  writeFileSync(join(outDir, 'config.json'), `${JSON.stringify(config, null, 2)}\n`);
  return config;
}
