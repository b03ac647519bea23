/**
 * The config.json of each architecture the model benchmark runs beside DistilBERT (`bench/model.ts --arch`), at the
 * shape of the checkpoint people use (transformers field names), as 2-label sequence classifiers. The weights are
 * seeded random values written by `makeRandomCheckpointFromConfig` (scripts/make-random-checkpoint.ts): the cost
 * of a forward pass does not depend on them. The benchmark feeds SST-2 ids of the DistilBERT vocabulary (30522
 * entries), below every vocabulary here.
 */

const LABELS = {
  id2label: { 0: 'NEGATIVE', 1: 'POSITIVE' },
  label2id: { NEGATIVE: 0, POSITIVE: 1 },
};

/** answerdotai/ModernBERT-base (transformers 4.48). */
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
  ...LABELS,
  transformers_version: '4.48.0',
};

/** sentence-transformers/all-mpnet-base-v2. */
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
  ...LABELS,
  transformers_version: '4.40.0',
};

/** microsoft/deberta-v3-base (184M parameters with its 128,100-token vocabulary). */
export const DEBERTA_V3_BASE_CONFIG: Record<string, unknown> = {
  architectures: ['DebertaV2ForSequenceClassification'],
  model_type: 'deberta-v2',
  hidden_size: 768,
  num_hidden_layers: 12,
  num_attention_heads: 12,
  intermediate_size: 3072,
  hidden_act: 'gelu',
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
  pooler_hidden_act: 'gelu',
  pooler_hidden_size: 768,
  ...LABELS,
  transformers_version: '4.40.0',
};

/** The small variants (`--small`): a fraction of the compute, same structure. */
export const SMALL_OVERRIDES: Record<string, Record<string, unknown>> = {
  modernbert: { num_hidden_layers: 4, hidden_size: 128, num_attention_heads: 2, intermediate_size: 192 },
  mpnet: { num_hidden_layers: 2, hidden_size: 128, num_attention_heads: 2, intermediate_size: 512 },
  'deberta-v2': {
    num_hidden_layers: 2,
    hidden_size: 128,
    num_attention_heads: 2,
    intermediate_size: 512,
    pooler_hidden_size: 128,
  },
};
