/**
 * An MPNet sequence classifier with seeded random weights, shaped like sentence-transformers/all-mpnet-base-v2
 * (12 layers, hidden 768, FFN 3072, 12 heads, 32 relative-position buckets, vocabulary 30527, 514 positions), for
 * the model benchmark. The cost of a forward pass does not depend on the weight values; the benchmark feeds SST-2
 * ids of the DistilBERT vocabulary (30522 entries), all below 30527.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { mulberry32 } from '../../src/util/random.js';
import { writeSafetensorsFile, type LazyTensorToWrite } from '../../src/weights/write.js';

/** all-mpnet-base-v2's config.json (transformers field names), as a 2-label MPNetForSequenceClassification. */
export const MPNET_BASE_CONFIG: Record<string, unknown> = {
  architectures: ['MPNetForSequenceClassification'],
  model_type: 'mpnet',
  vocab_size: 30527,
  hidden_size: 768,
  intermediate_size: 3072,
  num_hidden_layers: 12,
  num_attention_heads: 12,
  hidden_act: 'gelu',
  max_position_embeddings: 514,
  layer_norm_eps: 1e-5,
  relative_attention_num_buckets: 32,
  pad_token_id: 1,
  bos_token_id: 0,
  eos_token_id: 2,
  id2label: { 0: 'NEGATIVE', 1: 'POSITIVE' },
  label2id: { NEGATIVE: 0, POSITIVE: 1 },
  transformers_version: '4.40.0',
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
export async function makeMpnetCheckpoint(
  outDir: string,
  overrides: Record<string, unknown> = {},
  seed = 47,
): Promise<Record<string, unknown>> {
  const config = { ...MPNET_BASE_CONFIG, ...overrides };
  const d = config.hidden_size as number;
  const f = config.intermediate_size as number;
  const random = mulberry32(seed);
  const tensors: LazyTensorToWrite[] = [];
  const add = (name: string, shape: number[], mean = 0, std = 0.02): void => {
    const count = shape.reduce((a, b) => a * b, 1);
    tensors.push({ name, dtype: 'F32', shape, data: () => normals(random, count, mean, std) });
  };
  const linear = (name: string, out: number, inFeatures: number): void => {
    add(`${name}.weight`, [out, inFeatures]);
    add(`${name}.bias`, [out], 0, 0.1);
  };
  const norm = (name: string): void => {
    add(`${name}.weight`, [d], 1, 0.1);
    add(`${name}.bias`, [d], 0, 0.1);
  };
  add('mpnet.embeddings.word_embeddings.weight', [config.vocab_size as number, d]);
  add('mpnet.embeddings.position_embeddings.weight', [config.max_position_embeddings as number, d]);
  norm('mpnet.embeddings.LayerNorm');
  add('mpnet.encoder.relative_attention_bias.weight', [
    config.relative_attention_num_buckets as number,
    config.num_attention_heads as number,
  ]);
  for (let l = 0; l < (config.num_hidden_layers as number); l++) {
    const p = `mpnet.encoder.layer.${l}`;
    for (const projection of ['q', 'k', 'v', 'o']) linear(`${p}.attention.attn.${projection}`, d, d);
    norm(`${p}.attention.LayerNorm`);
    linear(`${p}.intermediate.dense`, f, d);
    linear(`${p}.output.dense`, d, f);
    norm(`${p}.output.LayerNorm`);
  }
  linear('classifier.dense', d, d);
  linear('classifier.out_proj', 2, d);
  mkdirSync(outDir, { recursive: true });
  await writeSafetensorsFile(join(outDir, 'model.safetensors'), tensors, { format: 'pt' });
  writeFileSync(join(outDir, 'config.json'), `${JSON.stringify(config, null, 2)}\n`);
  return config;
}
