/**
 * DistilBERT (modeling_distilbert.py): word + position embeddings (no token types), a stack of transformer blocks
 * with DistilBERT's own weight names, and heads that read the first token without a pooler.
 */
import { classifierWidth, type Architecture, type GraphRequest } from './architecture.js';
import {
  firstTokenHead,
  questionAnsweringHead,
  tokenClassificationHead,
  vocabularyProjection,
} from './bert.js';
import {
  chunkedFeedForward,
  chunkSizeFeedForward,
  ConfigReader,
  embed,
  firstPosition,
  layerNorm,
  leadingRows,
  linearActivation,
  linearResidualLayerNorm,
  ModelGraph,
  stackLayers,
  selfAttention,
  traceOutputs,
  type ActivationName,
  type AttentionMask,
  type EncoderInputs,
  type EncoderTrace,
  type LayerRunOptions,
  type NamedOutput,
} from './layers/index.js';
import { Value } from '../onnx/graph-builder.js';

// ----------------------------------------------------------------------------------------------- config

/** DistilBertConfig fields that change the math (transformers defaults). */
export interface DistilBertConfig {
  vocabSize: number;
  maxPositionEmbeddings: number;
  sinusoidalPosEmbds: boolean;
  nLayers: number;
  nHeads: number;
  dim: number;
  hiddenDim: number;
  activation: ActivationName;
  tieWordEmbeddings: boolean;
  /** `chunk_size_feed_forward`: positions per FFN chunk, 0 for one piece. */
  chunkSizeFeedForward: number;
}

/** DistilBERT hard-codes its LayerNorm epsilon (there is no config field for it). */
const LAYER_NORM_EPS = 1e-12;

export function readDistilBertConfig(c: ConfigReader): DistilBertConfig {
  c.requireEncoderOnly();
  const dim = c.size('dim', 768);
  const nHeads = c.size('n_heads', 12);
  c.requireDivisibleHeads(dim, nHeads, 'n_heads');
  return {
    vocabSize: c.size('vocab_size', 30522),
    maxPositionEmbeddings: c.size('max_position_embeddings', 512),
    sinusoidalPosEmbds: c.boolean('sinusoidal_pos_embds', false),
    nLayers: c.size('n_layers', 6),
    nHeads,
    dim,
    hiddenDim: c.size('hidden_dim', 3072),
    activation: c.activation('activation', 'gelu'),
    tieWordEmbeddings: c.boolean('tie_word_embeddings', true),
    chunkSizeFeedForward: chunkSizeFeedForward(c),
  };
}

// ----------------------------------------------------------------------------------------------- embeddings

/**
 * The fixed table of `sinusoidal_pos_embds`: sin for even columns, cos for odd, of pos / 10000^(2⌊j/2⌋/dim),
 * computed in float64 and rounded to float32 as create_sinusoidal_embeddings does.
 */
export function sinusoidalTable(rows: number, dim: number): Float32Array {
  const table = new Float32Array(rows * dim);
  for (let pos = 0; pos < rows; pos++) {
    for (let j = 0; j < dim; j++) {
      const angle = pos / Math.pow(10000, (2 * Math.floor(j / 2)) / dim);
      table[pos * dim + j] = j % 2 === 0 ? Math.sin(angle) : Math.cos(angle);
    }
  }
  return table;
}

/**
 * Embeddings: `LayerNorm(word[ids] + position[0..L-1])`. With `sinusoidal_pos_embds` the table is a buffer
 * transformers still saves in the file; if a file lacks it, the same table is computed here.
 */
function embeddings(m: ModelGraph, prefix: string, config: DistilBertConfig, inputs: EncoderInputs): Value {
  const inputIds = inputs.inputIds;
  const g = m.g;
  const { dim, maxPositionEmbeddings: rows } = config;
  const words = embed(m, m.tensor(`${prefix}.word_embeddings.weight`, [config.vocabSize, dim]), inputIds);
  const positionName = `${prefix}.position_embeddings.weight`;
  const table =
    config.sinusoidalPosEmbds && !m.has(positionName)
      ? m.derived(positionName, [rows, dim], () => sinusoidalTable(rows, dim))
      : m.tensor(positionName, [rows, dim]);
  // HF's forward() takes no position_ids; the packed layout feeds each token's position (its index in its row).
  const positions = inputs.positionIds
    ? embed(m, table, inputs.positionIds)
    : leadingRows(m, table, inputIds);
  const summed = g.op('Add', [words, positions]);
  return layerNorm(m, summed, `${prefix}.LayerNorm`, dim, LAYER_NORM_EPS);
}

// ----------------------------------------------------------------------------------------------- transformer

/**
 * TransformerBlock (with `firstTokenOnly`: position 0 alone, attending over all): MultiHeadSelfAttention (query scaled by 1/√d first, masked keys filled with finfo.min)
 * → out_lin + residual → sa_layer_norm → FFN (lin1 → activation → lin2) + residual → output_layer_norm.
 */
function transformerBlock(
  m: ModelGraph,
  x: Value,
  prefix: string,
  config: DistilBertConfig,
  mask: AttentionMask,
  options: LayerRunOptions,
): { output: Value; probabilities: Value | null } {
  const { dim, hiddenDim } = config;
  return m.g.scope(prefix, () => {
    const queries = options.firstTokenOnly ? firstPosition(m, x) : undefined;
    const attention = selfAttention(m, x, mask, {
      query: `${prefix}.attention.q_lin`,
      key: `${prefix}.attention.k_lin`,
      value: `${prefix}.attention.v_lin`,
      hidden: dim,
      heads: config.nHeads,
      maskStyle: 'fill',
      scaleQueryFirst: true,
      outputProbabilities: options.outputProbabilities,
      queries,
    });
    const attended = linearResidualLayerNorm(
      m,
      attention.context,
      queries ?? x,
      `${prefix}.attention.out_lin`,
      dim,
      dim,
      `${prefix}.sa_layer_norm`,
      LAYER_NORM_EPS,
    );
    // HF chunks lin1 → activation → lin2; the residual and output_layer_norm are per position too.
    const output = chunkedFeedForward(m, attended, config.chunkSizeFeedForward, dim, (part) =>
      linearResidualLayerNorm(
        m,
        linearActivation(m, part, `${prefix}.ffn.lin1`, dim, hiddenDim, config.activation),
        part,
        `${prefix}.ffn.lin2`,
        hiddenDim,
        dim,
        `${prefix}.output_layer_norm`,
        LAYER_NORM_EPS,
      ),
    );
    return { output, probabilities: attention.probabilities };
  });
}

function transformer(
  m: ModelGraph,
  x: Value,
  prefix: string,
  config: DistilBertConfig,
  mask: AttentionMask,
  request: GraphRequest,
): EncoderTrace {
  return stackLayers(x, config.nLayers, request, (hidden, i, options) =>
    transformerBlock(m, hidden, `${prefix}.layer.${i}`, config, mask, options),
  );
}

// ----------------------------------------------------------------------------------------------- heads

function build(m: ModelGraph, c: ConfigReader, inputs: EncoderInputs, request: GraphRequest): NamedOutput[] {
  const config = readDistilBertConfig(c);
  const { dim } = config;
  const base = m.weights.has('distilbert.embeddings.word_embeddings.weight') ? 'distilbert.' : '';
  const embedded = embeddings(m, `${base}embeddings`, config, inputs);
  const trace = transformer(m, embedded, `${base}transformer`, config, inputs.mask, request);
  const traced = traceOutputs(trace, dim, config.nHeads, request);
  const sequence = trace.lastHiddenState;

  switch (request.task) {
    case 'base':
      return [{ name: 'last_hidden_state', value: sequence, dims: ['batch', 'sequence', dim] }, ...traced];
    case 'sequence-classification':
    case 'multiple-choice': {
      // First token → pre_classifier → ReLU (always ReLU, whatever `activation` says) → classifier
      // (DistilBertForMultipleChoice: the same with Linear(dim, 1), on each choice).
      const width = classifierWidth(request.task, () => c.numLabels());
      const names = { dense: 'pre_classifier', out: 'classifier' };
      return [firstTokenHead(m, sequence, names, 'relu', dim, width), ...traced];
    }
    case 'token-classification':
      return [tokenClassificationHead(m, sequence, 'classifier', dim, c.numLabels()), ...traced];
    case 'question-answering':
      return [...questionAnsweringHead(m, sequence, 'qa_outputs', dim), ...traced];
    case 'masked-lm': {
      // vocab_transform → activation → vocab_layer_norm → vocab_projector (weight tied to the word embeddings).
      const transformed = layerNorm(
        m,
        linearActivation(m, sequence, 'vocab_transform', dim, dim, config.activation),
        'vocab_layer_norm',
        dim,
        LAYER_NORM_EPS,
      );
      const logits = vocabularyProjection(m, transformed, {
        decoderWeight: 'vocab_projector.weight',
        wordEmbeddings: `${base}embeddings.word_embeddings.weight`,
        biasNames: ['vocab_projector.bias'],
        tied: config.tieWordEmbeddings,
        inFeatures: dim,
        vocabSize: config.vocabSize,
      });
      return [{ name: 'logits', value: logits, dims: ['batch', 'sequence', config.vocabSize] }, ...traced];
    }
  }
}

export const distilbertArchitecture: Architecture = {
  modelTypes: ['distilbert'],
  attributeMap: {
    hidden_size: 'dim',
    num_attention_heads: 'n_heads',
    num_hidden_layers: 'n_layers',
    intermediate_size: 'hidden_dim',
  },
  packed: { supported: true },
  accepts: { tokenTypeIds: false, positionIds: false },
  checkConfig: (c) => void readDistilBertConfig(c),
  positions: () => ({ kind: 'arange' }),
  typeVocabSize: () => 0,
  build,
};
