/**
 * ModernBERT, following transformers 4.48's modeling_modernbert.py (eager attention) top to bottom: config →
 * ModernBertEmbeddings → ModernBertEncoderLayer (pre-norm attention with rotary positions, global or
 * sliding-window, then the GeGLU ModernBertMLP) → final norm → heads (ModernBertPredictionHead + classifier or
 * decoder). Attention lives in modernbert-attention.ts. The question-answering and multiple-choice heads came
 * later (transformers 4.50) and are built as that version writes them.
 *
 * HF runs ModernBERT unpadded when it can (flash attention); its padded eager path gives the same numbers on real
 * tokens. Here the padded graph mirrors the eager path (padding positions included), and the packed graph is the
 * unpadded form: every per-token block runs on the real tokens, attention per sequence.
 */
import type { Architecture, GraphRequest } from './architecture.js';
import { classifierLogits, questionAnsweringHead } from './bert.js';
import {
  activation,
  ConfigReader,
  embed,
  firstToken,
  linear,
  ModelGraph,
  stackLayers,
  traceOutputs,
  type ActivationName,
  type EncoderInputs,
  type NamedOutput,
} from './layers/index.js';
import { dense, modernBertAttention, ModernBertAttentionContext } from './modernbert-attention.js';
import { ConfigError } from '../errors.js';
import { attr, Value } from '../onnx/graph-builder.js';
import { TensorDataType } from '../onnx/proto.js';

// ----------------------------------------------------------------------------------------------- config

export const CLASSIFIER_POOLINGS = ['cls', 'mean'] as const;

/** The ModernBertConfig fields that change the math (defaults as in transformers 4.48's ModernBertConfig). */
export interface ModernBertConfig {
  vocabSize: number;
  hiddenSize: number;
  intermediateSize: number;
  numHiddenLayers: number;
  numAttentionHeads: number;
  hiddenActivation: ActivationName;
  maxPositionEmbeddings: number;
  normEps: number;
  /** `norm_bias`: every LayerNorm has a bias (false in the released checkpoints). */
  normBias: boolean;
  attentionBias: boolean;
  mlpBias: boolean;
  globalRopeTheta: number;
  /** `local_rope_theta`, or `global_rope_theta` when it is null. */
  localRopeTheta: number;
  globalAttnEveryNLayers: number;
  /** `local_attention`: a sliding-window layer sees `local_attention // 2` tokens on each side. */
  localAttention: number;
  classifierPooling: (typeof CLASSIFIER_POOLINGS)[number];
  classifierActivation: ActivationName;
  classifierBias: boolean;
  decoderBias: boolean;
  tieWordEmbeddings: boolean;
}

export function readModernBertConfig(c: ConfigReader): ModernBertConfig {
  const hiddenSize = c.size('hidden_size', 768);
  const numAttentionHeads = c.size('num_attention_heads', 12);
  c.requireDivisibleHeads(hiddenSize, numAttentionHeads, 'num_attention_heads');
  if ((hiddenSize / numAttentionHeads) % 2 !== 0) {
    throw new ConfigError(
      `${c.file} num_attention_heads: rotary positions need an even head size, got ${hiddenSize / numAttentionHeads}`,
      { file: c.file, field: 'num_attention_heads' },
    );
  }
  const classifierPooling = c.string('classifier_pooling', 'cls');
  if (!(CLASSIFIER_POOLINGS as readonly string[]).includes(classifierPooling)) {
    throw new ConfigError(
      `${c.file} classifier_pooling: expected "cls" or "mean", got ${JSON.stringify(classifierPooling)}`,
      { file: c.file, field: 'classifier_pooling' },
    );
  }
  const globalRopeTheta = positive(c, 'global_rope_theta', 160000);
  return {
    vocabSize: c.size('vocab_size', 50368),
    hiddenSize,
    intermediateSize: c.size('intermediate_size', 1152),
    numHiddenLayers: c.size('num_hidden_layers', 22),
    numAttentionHeads,
    hiddenActivation: c.activation('hidden_activation', 'gelu'),
    maxPositionEmbeddings: c.size('max_position_embeddings', 8192),
    normEps: c.number('norm_eps', 1e-5),
    normBias: c.boolean('norm_bias', false),
    attentionBias: c.boolean('attention_bias', false),
    mlpBias: c.boolean('mlp_bias', false),
    globalRopeTheta,
    localRopeTheta:
      c.json.local_rope_theta === null ? globalRopeTheta : positive(c, 'local_rope_theta', 10000),
    globalAttnEveryNLayers: c.size('global_attn_every_n_layers', 3),
    localAttention: c.size('local_attention', 128),
    classifierPooling: classifierPooling as ModernBertConfig['classifierPooling'],
    classifierActivation: c.activation('classifier_activation', 'gelu'),
    classifierBias: c.boolean('classifier_bias', false),
    decoderBias: c.boolean('decoder_bias', true),
    tieWordEmbeddings: c.boolean('tie_word_embeddings', true),
  };
}

function positive(c: ConfigReader, key: string, fallback: number): number {
  const value = c.number(key, fallback);
  if (value <= 0) {
    throw new ConfigError(`${c.file} ${key}: expected a positive number, got ${value}`, {
      file: c.file,
      field: key,
    });
  }
  return value;
}

/** ModernBertAttention: every `global_attn_every_n_layers`-th layer (0, n, 2n, …) is global, the others local. */
function isLocalLayer(config: ModernBertConfig, layer: number): boolean {
  return layer % config.globalAttnEveryNLayers !== 0;
}

// ----------------------------------------------------------------------------------------------- building blocks

/** `nn.LayerNorm(hidden, eps=norm_eps, bias=norm_bias)`: without a bias tensor when `norm_bias` is false. */
function norm(m: ModelGraph, x: Value, prefix: string, config: ModernBertConfig): Value {
  const h = config.hiddenSize;
  const inputs = [x, m.tensor(`${prefix}.weight`, [h])];
  if (config.normBias) inputs.push(m.tensor(`${prefix}.bias`, [h]));
  return m.g.op('LayerNormalization', inputs, { axis: -1, epsilon: attr.float(config.normEps) });
}

// ----------------------------------------------------------------------------------------------- embeddings

/** ModernBertEmbeddings: `norm(tok_embeddings[ids])`; positions enter through the rotary attention only. */
function embeddings(m: ModelGraph, prefix: string, config: ModernBertConfig, inputIds: Value): Value {
  const table = m.tensor(`${prefix}.tok_embeddings.weight`, [config.vocabSize, config.hiddenSize]);
  return norm(m, embed(m, table, inputIds), `${prefix}.norm`, config);
}

// ----------------------------------------------------------------------------------------------- encoder

/** ModernBertMLP: `Wi` to 2·intermediate, split into input and gate, `Wo(act(input) · gate)`. */
function mlp(m: ModelGraph, x: Value, prefix: string, config: ModernBertConfig): Value {
  const g = m.g;
  const { hiddenSize: h, intermediateSize: inner } = config;
  const wide = dense(m, x, `${prefix}.Wi`, h, 2 * inner, config.mlpBias);
  const [input, gate] = g.opMulti('Split', [wide, g.int64s([inner, inner])], 2, { axis: -1 });
  const gated = g.op('Mul', [activation(m, input!, config.hiddenActivation), gate!]);
  return dense(m, gated, `${prefix}.Wo`, inner, h, config.mlpBias);
}

/**
 * ModernBertEncoderLayer: `x + attn(attn_norm(x))`, then `+ mlp(mlp_norm(·))`. Layer 0 has no attn_norm (an
 * Identity in HF: the embeddings are normalised already).
 */
function encoderLayer(
  m: ModelGraph,
  ctx: ModernBertAttentionContext,
  x: Value,
  layer: number,
  prefix: string,
  config: ModernBertConfig,
  inputs: EncoderInputs,
  outputProbabilities: boolean,
): { output: Value; probabilities: Value | null } {
  const g = m.g;
  return g.scope(prefix, () => {
    const local = isLocalLayer(config, layer);
    const normed = layer === 0 ? x : norm(m, x, `${prefix}.attn_norm`, config);
    const attention = modernBertAttention(m, ctx, normed, inputs.mask, {
      prefix: `${prefix}.attn`,
      hidden: config.hiddenSize,
      heads: config.numAttentionHeads,
      bias: config.attentionBias,
      ropeTheta: local ? config.localRopeTheta : config.globalRopeTheta,
      window: local ? Math.floor(config.localAttention / 2) : null,
      outputProbabilities,
    });
    const attended = g.op('Add', [x, attention.output]);
    const output = g.op('Add', [
      attended,
      mlp(m, norm(m, attended, `${prefix}.mlp_norm`, config), `${prefix}.mlp`, config),
    ]);
    return { output, probabilities: attention.probabilities };
  });
}

// ----------------------------------------------------------------------------------------------- heads

/** ModernBertPredictionHead: `norm(act(dense(x)))`, dense with `classifier_bias`, act `classifier_activation`. */
function predictionHead(m: ModelGraph, x: Value, config: ModernBertConfig): Value {
  const h = config.hiddenSize;
  return norm(
    m,
    activation(m, dense(m, x, 'head.dense', h, h, config.classifierBias), config.classifierActivation),
    'head.norm',
    config,
  );
}

/**
 * ModernBertForSequenceClassification's pooling of the last hidden state [batch, seq, hidden]: the first token
 * (`cls`), or the mean over unmasked positions (`mean`: `sum(h · mask) / sum(mask)`, all positions without a mask).
 */
function pool(m: ModelGraph, sequence: Value, inputs: EncoderInputs, config: ModernBertConfig): Value {
  const g = m.g;
  if (config.classifierPooling === 'cls') return firstToken(m, sequence);
  // Packed, the sequences are gathered into the whole batch's layout (row b = sequence b) under its mask.
  const rows = m.packed ? m.packed.toAttentionLayout(sequence) : sequence;
  const mask = inputs.mask.mask;
  if (!mask) return g.op('ReduceMean', [rows], { axes: [1], keepdims: 0 }, { name: 'mean_pooled' });
  const weights = g.op('Cast', [mask], { to: TensorDataType.FLOAT });
  const summed = g.op(
    'ReduceSum',
    [g.op('Mul', [rows, g.op('Unsqueeze', [weights, g.int64s([2])])]), g.int64s([1])],
    {
      keepdims: 0,
    },
  );
  const counts = g.op('ReduceSum', [weights, g.int64s([1])], { keepdims: 1 });
  return g.op('Div', [summed, counts], {}, { name: 'mean_pooled' });
}

/**
 * `hidden[b, argmax(mask[b])]`: each row's first attended token [batch, hidden]. Packed sequences and graphs
 * without a mask have no padding, so that is the first token.
 */
function firstAttendedToken(m: ModelGraph, sequence: Value, inputs: EncoderInputs): Value {
  const mask = inputs.mask.mask;
  if (m.packed || !mask) return firstToken(m, sequence);
  const g = m.g;
  // ArgMax keeps the first maximum, as torch's does for a 0/1 mask.
  const first = g.op('ArgMax', [g.op('Cast', [mask], { to: TensorDataType.FLOAT })], {
    axis: 1,
    keepdims: 1,
    select_last_index: 0,
  });
  // With batch_dims 1, row b's index [first[b]] picks hidden[b, first[b]]: [batch, 1] indices give [batch, hidden].
  return g.op('GatherND', [sequence, first], { batch_dims: 1 }, { name: 'first_attended_token' });
}

function build(m: ModelGraph, c: ConfigReader, inputs: EncoderInputs, request: GraphRequest): NamedOutput[] {
  const config = readModernBertConfig(c);
  const h = config.hiddenSize;
  const base = m.weights.has('model.embeddings.tok_embeddings.weight') ? 'model.' : '';
  const ctx = new ModernBertAttentionContext(
    m,
    inputs.positionIds,
    config.maxPositionEmbeddings,
    h / config.numAttentionHeads,
  );
  const embedded = embeddings(m, `${base}embeddings`, config, inputs.inputIds);
  // Every position of every layer is computed: the first-token shortcut of BERT-style graphs does not apply to
  // rotated keys, and the final norm and heads follow the last layer.
  const trace = stackLayers(
    embedded,
    config.numHiddenLayers,
    { ...request, firstTokenOnly: false },
    (x, i, options) =>
      encoderLayer(m, ctx, x, i, `${base}layers.${i}`, config, inputs, options.outputProbabilities),
  );
  // HF records hidden_states before final_norm; last_hidden_state is after it.
  const traced = traceOutputs(trace, h, config.numAttentionHeads, request);
  const sequence = norm(m, trace.lastHiddenState, `${base}final_norm`, config);

  switch (request.task) {
    case 'base':
      return [{ name: 'last_hidden_state', value: sequence, dims: ['batch', 'sequence', h] }, ...traced];
    case 'sequence-classification': {
      const pooled = predictionHead(m, pool(m, sequence, inputs, config), config);
      return [classifierLogits(m, pooled, 'classifier', h, c.numLabels()), ...traced];
    }
    case 'token-classification': {
      const numLabels = c.numLabels();
      const logits = linear(m, predictionHead(m, sequence, config), 'classifier', h, numLabels);
      return [{ name: 'logits', value: logits, dims: ['batch', 'sequence', numLabels] }, ...traced];
    }
    case 'question-answering': {
      // ModernBertForQuestionAnswering (transformers ≥ 4.50): head → classifier Linear(hidden, 2) → start, end.
      return [...questionAnsweringHead(m, predictionHead(m, sequence, config), 'classifier', h), ...traced];
    }
    case 'multiple-choice': {
      // ModernBertForMultipleChoice (transformers ≥ 4.50): as sequence classification, with Linear(hidden, 1),
      // except that "cls" pooling reads each row's first attended token (`attention_mask.argmax(-1)`), so a
      // left-padded row pools its own first token.
      const pooled =
        config.classifierPooling === 'cls'
          ? firstAttendedToken(m, sequence, inputs)
          : pool(m, sequence, inputs, config);
      return [classifierLogits(m, predictionHead(m, pooled, config), 'classifier', h, 1), ...traced];
    }
    case 'masked-lm': {
      // ModernBertForMaskedLM: head → decoder, whose weight is tied to the token embeddings (save_pretrained then
      // leaves decoder.weight out) and whose bias follows `decoder_bias`.
      const { vocabSize } = config;
      const weight = config.tieWordEmbeddings ? `${base}embeddings.tok_embeddings.weight` : 'decoder.weight';
      let logits = m.linearProduct(predictionHead(m, sequence, config), [weight], vocabSize, h);
      if (config.decoderBias) logits = m.g.op('Add', [logits, m.tensor('decoder.bias', [vocabSize])]);
      return [{ name: 'logits', value: logits, dims: ['batch', 'sequence', vocabSize] }, ...traced];
    }
  }
}

export const modernbertArchitecture: Architecture = {
  modelTypes: ['modernbert'],
  packed: { supported: true },
  accepts: { tokenTypeIds: false, positionIds: true },
  checkConfig: (c) => void readModernBertConfig(c),
  positions: () => ({ kind: 'arange' }),
  typeVocabSize: () => 0,
  build,
};
