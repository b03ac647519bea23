/**
 * BERT, following transformers' modeling_bert.py top to bottom: config → embeddings → encoder layers → pooler →
 * heads. RoBERTa and ELECTRA reuse the embeddings and the encoder from here (HF copies that code too).
 */
import { classifierWidth, type Architecture, type GraphRequest } from './architecture.js';
import {
  chunkedFeedForward,
  chunkSizeFeedForward,
  ConfigReader,
  embed,
  firstPosition,
  firstToken,
  layerNorm,
  leadingRows,
  linear,
  linearActivation,
  linearResidualLayerNorm,
  ModelGraph,
  stackLayers,
  positionIdsFromInputIds,
  selfAttention,
  splitStartEnd,
  traceOutputs,
  type ActivationName,
  type AttentionMask,
  type EncoderInputs,
  type EncoderTrace,
  type LayerRunOptions,
  type NamedOutput,
  type PositionBias,
} from './layers/index.js';
import { Value } from '../onnx/graph-builder.js';

// ----------------------------------------------------------------------------------------------- config

/** The BertConfig fields that change the math (defaults as in transformers' BertConfig). */
export interface BertConfig {
  vocabSize: number;
  hiddenSize: number;
  numHiddenLayers: number;
  numAttentionHeads: number;
  intermediateSize: number;
  hiddenAct: ActivationName;
  maxPositionEmbeddings: number;
  typeVocabSize: number;
  layerNormEps: number;
  padTokenId: number;
  /** Width of the embedding tables: hidden_size for BERT, `embedding_size` for ALBERT and ELECTRA. */
  embeddingSize: number;
  tieWordEmbeddings: boolean;
  /** `chunk_size_feed_forward`: positions per feed-forward chunk, 0 for one piece. */
  chunkSizeFeedForward: number;
}

export function readBertConfig(
  c: ConfigReader,
  defaults: Partial<Record<string, number | string>> = {},
): BertConfig {
  c.requireAbsolutePositions();
  c.requireEncoderOnly();
  const d = (key: string, fallback: number): number => (defaults[key] as number | undefined) ?? fallback;
  const hiddenSize = c.size('hidden_size', d('hidden_size', 768));
  const numAttentionHeads = c.size('num_attention_heads', d('num_attention_heads', 12));
  c.requireDivisibleHeads(hiddenSize, numAttentionHeads, 'num_attention_heads');
  return {
    vocabSize: c.size('vocab_size', d('vocab_size', 30522)),
    hiddenSize,
    numHiddenLayers: c.size('num_hidden_layers', d('num_hidden_layers', 12)),
    numAttentionHeads,
    intermediateSize: c.size('intermediate_size', d('intermediate_size', 3072)),
    hiddenAct: c.activation(
      'hidden_act',
      ((defaults.hidden_act as string | undefined) ?? 'gelu') as ActivationName,
    ),
    maxPositionEmbeddings: c.size('max_position_embeddings', d('max_position_embeddings', 512)),
    typeVocabSize: c.size('type_vocab_size', d('type_vocab_size', 2)),
    layerNormEps: c.number('layer_norm_eps', 1e-12),
    padTokenId: c.integer('pad_token_id', d('pad_token_id', 0)),
    embeddingSize:
      defaults.embedding_size === undefined ? hiddenSize : c.size('embedding_size', d('embedding_size', 128)),
    tieWordEmbeddings: c.boolean('tie_word_embeddings', true),
    chunkSizeFeedForward: chunkSizeFeedForward(c),
  };
}

// ----------------------------------------------------------------------------------------------- embeddings

export type PositionDefault = { kind: 'arange' } | { kind: 'from-input-ids'; padTokenId: number };

/**
 * BertEmbeddings: `LayerNorm(word[ids] + token_type[type_ids] + position[pos])` with tables of width
 * `embeddingSize`, under `<prefix>.word_embeddings` etc. Absent token types are zeros (row 0 of the table);
 * absent positions follow `positions`.
 */
export function bertEmbeddings(
  m: ModelGraph,
  prefix: string,
  config: BertConfig,
  inputs: EncoderInputs,
  positions: PositionDefault,
): Value {
  const g = m.g;
  const dim = config.embeddingSize;
  const words = embed(
    m,
    m.tensor(`${prefix}.word_embeddings.weight`, [config.vocabSize, dim]),
    inputs.inputIds,
  );
  const typeTable = m.tensor(`${prefix}.token_type_embeddings.weight`, [config.typeVocabSize, dim]);
  const tokenTypes = inputs.tokenTypeIds
    ? embed(m, typeTable, inputs.tokenTypeIds)
    : g.op(
        'Gather',
        [typeTable, g.constant(new BigInt64Array([0n]), [])],
        { axis: 0 },
        { name: 'token_type_zero' },
      );
  const positionTable = m.tensor(`${prefix}.position_embeddings.weight`, [config.maxPositionEmbeddings, dim]);
  let positionVectors: Value;
  if (inputs.positionIds) positionVectors = embed(m, positionTable, inputs.positionIds);
  else if (positions.kind === 'arange') positionVectors = leadingRows(m, positionTable, inputs.inputIds);
  else
    positionVectors = embed(
      m,
      positionTable,
      positionIdsFromInputIds(m, inputs.inputIds, positions.padTokenId),
    );
  const summed = g.op('Add', [g.op('Add', [words, tokenTypes]), positionVectors]);
  return layerNorm(m, summed, `${prefix}.LayerNorm`, dim, config.layerNormEps);
}

// ----------------------------------------------------------------------------------------------- encoder

/** Where a BERT-style post-norm layer keeps its weights, under its prefix (MPNet's layer names them otherwise). */
export interface PostNormLayerNames {
  query: string;
  key: string;
  value: string;
  attentionOutput: string;
  attentionNorm: string;
  intermediate: string;
  output: string;
  outputNorm: string;
}

const BERT_LAYER_NAMES: PostNormLayerNames = {
  query: 'attention.self.query',
  key: 'attention.self.key',
  value: 'attention.self.value',
  attentionOutput: 'attention.output.dense',
  attentionNorm: 'attention.output.LayerNorm',
  intermediate: 'intermediate.dense',
  output: 'output.dense',
  outputNorm: 'output.LayerNorm',
};

/** The config fields a post-norm layer reads. */
export type PostNormLayerConfig = Pick<
  BertConfig,
  | 'hiddenSize'
  | 'intermediateSize'
  | 'layerNormEps'
  | 'numAttentionHeads'
  | 'hiddenAct'
  | 'chunkSizeFeedForward'
>;

/**
 * BertLayer: self-attention → output dense + residual + LayerNorm → intermediate dense + activation → output
 * dense + residual + LayerNorm, the feed-forward in `chunk_size_feed_forward` pieces along the sequence as in HF.
 * With `firstTokenOnly` the layer outputs position 0 alone ([batch, 1, hidden]), attending over every position.
 * `variant` gives other weight names and a position bias for the attention scores (MPNetLayer is this layer).
 */
export function bertLayer(
  m: ModelGraph,
  x: Value,
  prefix: string,
  config: PostNormLayerConfig,
  mask: AttentionMask,
  options: LayerRunOptions,
  variant: { names?: PostNormLayerNames; positionBias?: PositionBias } = {},
): { output: Value; probabilities: Value | null } {
  const { hiddenSize: h, intermediateSize: inner, layerNormEps: eps } = config;
  const names = variant.names ?? BERT_LAYER_NAMES;
  const at = (name: string): string => `${prefix}.${name}`;
  return m.g.scope(prefix, () => {
    const queries = options.firstTokenOnly ? firstPosition(m, x) : undefined;
    const attention = selfAttention(m, x, mask, {
      query: at(names.query),
      key: at(names.key),
      value: at(names.value),
      hidden: h,
      heads: config.numAttentionHeads,
      maskStyle: 'add',
      scaleQueryFirst: false,
      outputProbabilities: options.outputProbabilities,
      queries,
      positionBias: variant.positionBias,
    });
    const attended = linearResidualLayerNorm(
      m,
      attention.context,
      queries ?? x,
      at(names.attentionOutput),
      h,
      h,
      at(names.attentionNorm),
      eps,
    );
    const output = chunkedFeedForward(m, attended, config.chunkSizeFeedForward, h, (part) =>
      linearResidualLayerNorm(
        m,
        linearActivation(m, part, at(names.intermediate), h, inner, config.hiddenAct),
        part,
        at(names.output),
        inner,
        h,
        at(names.outputNorm),
        eps,
      ),
    );
    return { output, probabilities: attention.probabilities };
  });
}

/**
 * BertEncoder: `num_hidden_layers` layers `<prefix>.layer.<i>`; `x` is the (projected) embedding output. When the
 * request only reads the first token (see `firstTokenSuffices`), the last layer computes that token alone.
 */
export function bertEncoder(
  m: ModelGraph,
  x: Value,
  prefix: string,
  config: BertConfig,
  mask: AttentionMask,
  request: GraphRequest,
): EncoderTrace {
  return stackLayers(x, config.numHiddenLayers, request, (hidden, i, options) =>
    bertLayer(m, hidden, `${prefix}.layer.${i}`, config, mask, options),
  );
}

/** BertPooler: `tanh(dense(hidden[:, 0]))`. */
export function bertPooler(m: ModelGraph, sequence: Value, prefix: string, hidden: number): Value {
  return m.g.op(
    'Tanh',
    [linear(m, firstToken(m, sequence), prefix, hidden, hidden)],
    {},
    { name: 'pooler_output' },
  );
}

// ----------------------------------------------------------------------------------------------- heads

/** A per-token classifier `<prefix>` (Linear(hidden, num_labels)) on the sequence output: token classification. */
export function tokenClassificationHead(
  m: ModelGraph,
  sequence: Value,
  prefix: string,
  hidden: number,
  numLabels: number,
): NamedOutput {
  return {
    name: 'logits',
    value: linear(m, sequence, prefix, hidden, numLabels),
    dims: ['batch', 'sequence', numLabels],
  };
}

/** A QA head `<prefix>` (Linear(hidden, 2)) split into start and end logits. */
export function questionAnsweringHead(
  m: ModelGraph,
  sequence: Value,
  prefix: string,
  hidden: number,
): NamedOutput[] {
  const { start, end } = splitStartEnd(m, linear(m, sequence, prefix, hidden, 2));
  return [
    { name: 'start_logits', value: start, dims: ['batch', 'sequence'] },
    { name: 'end_logits', value: end, dims: ['batch', 'sequence'] },
  ];
}

/**
 * A classifier `<prefix>` (Linear(hidden, width)) on one pooled vector per sequence, as `logits` [batch, width]:
 * width is num_labels, or 1 for multiple choice (one score per choice, see `classifierWidth`).
 */
export function classifierLogits(
  m: ModelGraph,
  pooled: Value,
  prefix: string,
  hidden: number,
  width: number,
): NamedOutput {
  return { name: 'logits', value: linear(m, pooled, prefix, hidden, width), dims: ['batch', width] };
}

/**
 * The first-token classification heads (RobertaClassificationHead, ElectraClassificationHead, DistilBERT's
 * pre_classifier, DeBERTa's ContextPooler): first token → `dense` → `act` → `out` Linear(hidden, width).
 */
export function firstTokenHead(
  m: ModelGraph,
  sequence: Value,
  names: { dense: string; out: string },
  act: ActivationName,
  hidden: number,
  width: number,
): NamedOutput {
  const dense = linearActivation(m, firstToken(m, sequence), names.dense, hidden, hidden, act);
  return classifierLogits(m, dense, names.out, hidden, width);
}

/**
 * The vocabulary projection of MLM heads: `x @ E^T + bias`, with E the word embeddings when the decoder is tied
 * (`tie_word_embeddings`, the default; save_pretrained then leaves the decoder weight out of the file) and the
 * decoder's own weight otherwise. The bias is stored under either name depending on the transformers version.
 */
export function vocabularyProjection(
  m: ModelGraph,
  x: Value,
  options: {
    decoderWeight: string;
    wordEmbeddings: string;
    biasNames: string[];
    tied: boolean;
    inFeatures: number;
    vocabSize: number;
  },
): Value {
  const weight = options.tied ? options.wordEmbeddings : options.decoderWeight;
  const projected = m.linearProduct(x, [weight], options.vocabSize, options.inFeatures);
  const biasName = options.biasNames.find((name) => m.has(name)) ?? options.biasNames[0]!;
  return m.g.op('Add', [projected, m.tensor(biasName, [options.vocabSize])]);
}

function build(m: ModelGraph, c: ConfigReader, inputs: EncoderInputs, request: GraphRequest): NamedOutput[] {
  const config = readBertConfig(c);
  const h = config.hiddenSize;
  const base = m.weights.has('bert.embeddings.word_embeddings.weight') ? 'bert.' : '';
  const embeddings = bertEmbeddings(m, `${base}embeddings`, config, inputs, { kind: 'arange' });
  const trace = bertEncoder(m, embeddings, `${base}encoder`, config, inputs.mask, request);
  const traced = traceOutputs(trace, h, config.numAttentionHeads, request);
  const sequence = trace.lastHiddenState;

  switch (request.task) {
    case 'base': {
      const outputs: NamedOutput[] = [
        { name: 'last_hidden_state', value: sequence, dims: ['batch', 'sequence', h] },
      ];
      // BertModel has a pooler; checkpoints saved from heads that drop it (MaskedLM, TokenClassification, QA)
      // simply have no pooler_output.
      if (m.has(`${base}pooler.dense.weight`)) {
        outputs.push({
          name: 'pooler_output',
          value: bertPooler(m, sequence, `${base}pooler.dense`, h),
          dims: ['batch', h],
        });
      }
      return [...outputs, ...traced];
    }
    case 'sequence-classification':
    case 'multiple-choice': {
      // BertForMultipleChoice is this head with Linear(hidden, 1), on each choice.
      const pooled = bertPooler(m, sequence, `${base}pooler.dense`, h);
      const width = classifierWidth(request.task, () => c.numLabels());
      return [classifierLogits(m, pooled, 'classifier', h, width), ...traced];
    }
    case 'token-classification':
      return [tokenClassificationHead(m, sequence, 'classifier', h, c.numLabels()), ...traced];
    case 'question-answering':
      return [...questionAnsweringHead(m, sequence, 'qa_outputs', h), ...traced];
    case 'masked-lm': {
      const logits = bertLMPredictionHead(m, sequence, {
        base,
        hiddenSize: h,
        transformSize: h,
        hiddenAct: config.hiddenAct,
        layerNormEps: config.layerNormEps,
        tied: config.tieWordEmbeddings,
        vocabSize: config.vocabSize,
      });
      return [{ name: 'logits', value: logits, dims: ['batch', 'sequence', config.vocabSize] }, ...traced];
    }
  }
}

export const bertArchitecture: Architecture = {
  modelTypes: ['bert'],
  packed: { supported: true },
  accepts: { tokenTypeIds: true, positionIds: true },
  checkConfig: (c) => void readBertConfig(c),
  positions: () => ({ kind: 'arange' }),
  typeVocabSize: (c) => c.size('type_vocab_size', 2),
  build,
};

/** What `bertLMPredictionHead` needs from the config. */
export interface LMPredictionHeadShape {
  /** Weight-name prefix of the encoder (`bert.`, `deberta.`), where the tied word embeddings live. */
  base: string;
  hiddenSize: number;
  /** Output size of the transform: hidden_size for BERT, embedding_size for DeBERTa-v2. */
  transformSize: number;
  hiddenAct: ActivationName;
  layerNormEps: number;
  tied: boolean;
  vocabSize: number;
}

/**
 * BertLMPredictionHead under `cls.predictions` (also DeBERTa-v2's in transformers 4.40): transform (dense →
 * hidden_act → LayerNorm) → decoder, tied to the word embeddings unless the config unties it, plus
 * `cls.predictions.bias`.
 */
export function bertLMPredictionHead(m: ModelGraph, sequence: Value, shape: LMPredictionHeadShape): Value {
  const p = 'cls.predictions';
  const e = shape.transformSize;
  const transformed = layerNorm(
    m,
    linearActivation(m, sequence, `${p}.transform.dense`, shape.hiddenSize, e, shape.hiddenAct),
    `${p}.transform.LayerNorm`,
    e,
    shape.layerNormEps,
  );
  return vocabularyProjection(m, transformed, {
    decoderWeight: `${p}.decoder.weight`,
    wordEmbeddings: `${shape.base}embeddings.word_embeddings.weight`,
    biasNames: [`${p}.bias`, `${p}.decoder.bias`],
    tied: shape.tied,
    inFeatures: e,
    vocabSize: shape.vocabSize,
  });
}
