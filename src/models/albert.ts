/**
 * ALBERT (modeling_albert.py): BERT-style embeddings of width `embedding_size`, mapped to `hidden_size` by
 * `embedding_hidden_mapping_in`, then `num_hidden_layers` applications of shared layer groups: application i
 * runs group ⌊i / (num_hidden_layers / num_hidden_groups)⌋, whose `inner_group_num` layers run in sequence.
 */
import { classifierWidth, type Architecture, type GraphRequest } from './architecture.js';
import {
  type BertConfig,
  bertEmbeddings,
  bertPooler,
  classifierLogits,
  questionAnsweringHead,
  readBertConfig,
  tokenClassificationHead,
  vocabularyProjection,
} from './bert.js';
import {
  chunkedFeedForward,
  ConfigReader,
  firstPosition,
  firstTokenSuffices,
  layerNorm,
  linear,
  linearActivation,
  linearResidualLayerNorm,
  ModelGraph,
  selfAttention,
  traceOutputs,
  type AttentionMask,
  type EncoderInputs,
  type EncoderTrace,
  type LayerRunOptions,
  type NamedOutput,
} from './layers/index.js';
import { ConfigError } from '../errors.js';
import { Value } from '../onnx/graph-builder.js';

// ----------------------------------------------------------------------------------------------- config

// AlbertConfig's defaults where they differ from BertConfig.
const ALBERT_DEFAULTS = {
  vocab_size: 30000,
  embedding_size: 128,
  hidden_size: 4096,
  num_attention_heads: 64,
  intermediate_size: 16384,
  hidden_act: 'gelu_new',
};

export interface AlbertConfig extends BertConfig {
  numHiddenGroups: number;
  innerGroupNum: number;
}

export function readAlbertConfig(c: ConfigReader): AlbertConfig {
  const config = {
    ...readBertConfig(c, ALBERT_DEFAULTS),
    numHiddenGroups: c.size('num_hidden_groups', 1),
    innerGroupNum: c.size('inner_group_num', 1),
  };
  if (config.numHiddenGroups > config.numHiddenLayers) {
    throw new ConfigError(
      `${c.file} num_hidden_groups: ${config.numHiddenGroups} groups for ${config.numHiddenLayers} layers (at most one group per layer)`,
      { file: c.file, field: 'num_hidden_groups' },
    );
  }
  return config;
}

// ----------------------------------------------------------------------------------------------- encoder

/**
 * AlbertLayer (with `firstTokenOnly`: position 0 alone, attending over all): AlbertAttention (query/key/value → dense + residual → LayerNorm) → ffn → activation → ffn_output
 * + residual → full_layer_layer_norm.
 */
function albertLayer(
  m: ModelGraph,
  x: Value,
  prefix: string,
  config: AlbertConfig,
  mask: AttentionMask,
  options: LayerRunOptions,
): { output: Value; probabilities: Value | null } {
  const { hiddenSize: h, intermediateSize: inner, layerNormEps: eps } = config;
  const queries = options.firstTokenOnly ? firstPosition(m, x) : undefined;
  const attention = selfAttention(m, x, mask, {
    query: `${prefix}.attention.query`,
    key: `${prefix}.attention.key`,
    value: `${prefix}.attention.value`,
    hidden: h,
    heads: config.numAttentionHeads,
    maskStyle: 'add',
    scaleQueryFirst: false,
    outputProbabilities: options.outputProbabilities,
    queries,
  });
  const attended = linearResidualLayerNorm(
    m,
    attention.context,
    queries ?? x,
    `${prefix}.attention.dense`,
    h,
    h,
    `${prefix}.attention.LayerNorm`,
    eps,
  );
  // AlbertLayer.ff_chunk under apply_chunking_to_forward, as BERT's feed-forward.
  const output = chunkedFeedForward(m, attended, config.chunkSizeFeedForward, h, (part) =>
    linearResidualLayerNorm(
      m,
      linearActivation(m, part, `${prefix}.ffn`, h, inner, config.hiddenAct),
      part,
      `${prefix}.ffn_output`,
      inner,
      h,
      `${prefix}.full_layer_layer_norm`,
      eps,
    ),
  );
  return { output, probabilities: attention.probabilities };
}

/** AlbertTransformer: hidden_states gets one entry per application of a group, attentions one per inner layer. */
function albertTransformer(
  m: ModelGraph,
  embedded: Value,
  prefix: string,
  config: AlbertConfig,
  mask: AttentionMask,
  request: GraphRequest,
): EncoderTrace {
  const mapped = linear(
    m,
    embedded,
    `${prefix}.embedding_hidden_mapping_in`,
    config.embeddingSize,
    config.hiddenSize,
  );
  const trace: EncoderTrace = { lastHiddenState: mapped, hiddenStates: [mapped], attentions: [] };
  const layersPerGroup = Math.trunc(config.numHiddenLayers / config.numHiddenGroups);
  for (let i = 0; i < config.numHiddenLayers; i++) {
    const group = Math.trunc(i / layersPerGroup);
    m.g.scope(`${prefix}.layer_application.${i}`, () => {
      for (let j = 0; j < config.innerGroupNum; j++) {
        const layer = albertLayer(
          m,
          trace.lastHiddenState,
          `${prefix}.albert_layer_groups.${group}.albert_layers.${j}`,
          config,
          mask,
          {
            outputProbabilities: request.outputAttentions,
            firstTokenOnly:
              i === config.numHiddenLayers - 1 &&
              j === config.innerGroupNum - 1 &&
              firstTokenSuffices(request),
          },
        );
        trace.lastHiddenState = layer.output;
        if (layer.probabilities) trace.attentions.push(layer.probabilities);
      }
    });
    trace.hiddenStates.push(trace.lastHiddenState);
  }
  return trace;
}

// ----------------------------------------------------------------------------------------------- heads

function build(m: ModelGraph, c: ConfigReader, inputs: EncoderInputs, request: GraphRequest): NamedOutput[] {
  const config = readAlbertConfig(c);
  const { hiddenSize: h, embeddingSize: e } = config;
  const base = m.weights.has('albert.embeddings.word_embeddings.weight') ? 'albert.' : '';
  const embedded = bertEmbeddings(m, `${base}embeddings`, config, inputs, { kind: 'arange' });
  const trace = albertTransformer(m, embedded, `${base}encoder`, config, inputs.mask, request);
  const traced = traceOutputs(trace, h, config.numAttentionHeads, request);
  const sequence = trace.lastHiddenState;

  switch (request.task) {
    case 'base': {
      const outputs: NamedOutput[] = [
        { name: 'last_hidden_state', value: sequence, dims: ['batch', 'sequence', h] },
      ];
      if (m.has(`${base}pooler.weight`)) {
        outputs.push({
          name: 'pooler_output',
          value: bertPooler(m, sequence, `${base}pooler`, h),
          dims: ['batch', h],
        });
      }
      return [...outputs, ...traced];
    }
    case 'sequence-classification':
    case 'multiple-choice': {
      // AlbertForMultipleChoice is this head with Linear(hidden, 1), on each choice.
      const width = classifierWidth(request.task, () => c.numLabels());
      const pooled = bertPooler(m, sequence, `${base}pooler`, h);
      return [classifierLogits(m, pooled, 'classifier', h, width), ...traced];
    }
    case 'token-classification':
      return [tokenClassificationHead(m, sequence, 'classifier', h, c.numLabels()), ...traced];
    case 'question-answering':
      return [...questionAnsweringHead(m, sequence, 'qa_outputs', h), ...traced];
    case 'masked-lm': {
      // AlbertMLMHead: dense (hidden → embedding_size) → hidden_act → LayerNorm → decoder (tied) + predictions.bias.
      const predicted = layerNorm(
        m,
        linearActivation(m, sequence, 'predictions.dense', h, e, config.hiddenAct),
        'predictions.LayerNorm',
        e,
        config.layerNormEps,
      );
      const logits = vocabularyProjection(m, predicted, {
        decoderWeight: 'predictions.decoder.weight',
        wordEmbeddings: `${base}embeddings.word_embeddings.weight`,
        biasNames: ['predictions.bias', 'predictions.decoder.bias'],
        tied: config.tieWordEmbeddings,
        inFeatures: e,
        vocabSize: config.vocabSize,
      });
      return [{ name: 'logits', value: logits, dims: ['batch', 'sequence', config.vocabSize] }, ...traced];
    }
  }
}

export const albertArchitecture: Architecture = {
  modelTypes: ['albert'],
  packed: { supported: true },
  accepts: { tokenTypeIds: true, positionIds: true },
  checkConfig: (c) => void readAlbertConfig(c),
  positions: () => ({ kind: 'arange' }),
  typeVocabSize: (c) => c.size('type_vocab_size', 2),
  build,
};
