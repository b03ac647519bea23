/**
 * ELECTRA (modeling_electra.py): BERT's embeddings at width `embedding_size`, projected to `hidden_size` by
 * `embeddings_project` when the two differ, then BERT's encoder. No pooler; the heads differ from BERT's.
 */
import { classifierWidth, type Architecture, type GraphRequest } from './architecture.js';
import {
  bertEmbeddings,
  bertEncoder,
  classifierLogits,
  firstTokenHead,
  questionAnsweringHead,
  readBertConfig,
  tokenClassificationHead,
  vocabularyProjection,
} from './bert.js';
import { ConfigError } from '../errors.js';
import type { Value } from '../onnx/graph-builder.js';
import {
  activation,
  ConfigReader,
  firstToken,
  layerNorm,
  linear,
  linearActivation,
  ModelGraph,
  traceOutputs,
  type EncoderInputs,
  type NamedOutput,
} from './layers/index.js';

// ElectraConfig's defaults where they differ from BertConfig (the presence of embedding_size enables it).
const ELECTRA_DEFAULTS = {
  embedding_size: 128,
  hidden_size: 256,
  intermediate_size: 1024,
  num_attention_heads: 4,
};

function build(m: ModelGraph, c: ConfigReader, inputs: EncoderInputs, request: GraphRequest): NamedOutput[] {
  const config = readBertConfig(c, ELECTRA_DEFAULTS);
  const { hiddenSize: h, embeddingSize: e } = config;
  const base = m.weights.has('electra.embeddings.word_embeddings.weight') ? 'electra.' : '';
  let embeddings = bertEmbeddings(m, `${base}embeddings`, config, inputs, { kind: 'arange' });
  if (e !== h) embeddings = linear(m, embeddings, `${base}embeddings_project`, e, h);
  const trace = bertEncoder(m, embeddings, `${base}encoder`, config, inputs.mask, request);
  const traced = traceOutputs(trace, h, config.numAttentionHeads, request);
  const sequence = trace.lastHiddenState;

  switch (request.task) {
    case 'base':
      return [{ name: 'last_hidden_state', value: sequence, dims: ['batch', 'sequence', h] }, ...traced];
    case 'sequence-classification': {
      // ElectraClassificationHead: first token → dense → gelu (exact, not hidden_act, not tanh) → out_proj.
      const names = { dense: 'classifier.dense', out: 'classifier.out_proj' };
      return [firstTokenHead(m, sequence, names, 'gelu', h, c.numLabels()), ...traced];
    }
    case 'multiple-choice':
      return [sequenceSummaryScores(m, c, sequence, h), ...traced];
    case 'token-classification':
      return [tokenClassificationHead(m, sequence, 'classifier', h, c.numLabels()), ...traced];
    case 'question-answering':
      return [...questionAnsweringHead(m, sequence, 'qa_outputs', h), ...traced];
    case 'masked-lm': {
      // ElectraGeneratorPredictions: dense (hidden → embedding_size) → gelu → LayerNorm, then the tied lm head.
      const predicted = layerNorm(
        m,
        linearActivation(m, sequence, 'generator_predictions.dense', h, e, 'gelu'),
        'generator_predictions.LayerNorm',
        e,
        config.layerNormEps,
      );
      const logits = vocabularyProjection(m, predicted, {
        decoderWeight: 'generator_lm_head.weight',
        wordEmbeddings: `${base}embeddings.word_embeddings.weight`,
        biasNames: ['generator_lm_head.bias'],
        tied: config.tieWordEmbeddings,
        inFeatures: e,
        vocabSize: config.vocabSize,
      });
      return [{ name: 'logits', value: logits, dims: ['batch', 'sequence', config.vocabSize] }, ...traced];
    }
  }
}

/**
 * ElectraForMultipleChoice: SequenceSummary (the first token, `summary_type` "first", → `summary` Linear(hidden,
 * hidden) when `summary_use_proj` → `summary_activation`) → classifier Linear(hidden, 1), one score per choice.
 * The summaries HF has besides "first" ("last" and "mean" read padding positions, "cls_index" and "attn" need
 * more inputs) and `summary_proj_to_labels` (whose classifier could not load) are a ConfigError naming the field.
 */
function sequenceSummaryScores(m: ModelGraph, c: ConfigReader, sequence: Value, h: number): NamedOutput {
  const type = c.string('summary_type', 'first');
  if (type !== 'first') {
    throw new ConfigError(
      `${c.file} summary_type: seqbatch builds ElectraForMultipleChoice with summary_type "first" only, got "${type}"`,
      { file: c.file, field: 'summary_type' },
    );
  }
  if (c.boolean('summary_proj_to_labels', false)) {
    throw new ConfigError(
      `${c.file} summary_proj_to_labels: true makes the summary project to num_labels, which ` +
        "ElectraForMultipleChoice's Linear(hidden_size, 1) classifier cannot take; expected false or absent",
      { file: c.file, field: 'summary_proj_to_labels' },
    );
  }
  let summary = firstToken(m, sequence);
  if (c.boolean('summary_use_proj', true)) summary = linear(m, summary, 'sequence_summary.summary', h, h);
  // ElectraConfig's default is "gelu"; null or "" is SequenceSummary's identity.
  const act = c.json.summary_activation;
  if (act !== null && act !== '')
    summary = activation(m, summary, c.activation('summary_activation', 'gelu'));
  return classifierLogits(
    m,
    summary,
    'classifier',
    h,
    classifierWidth('multiple-choice', () => c.numLabels()),
  );
}

export const electraArchitecture: Architecture = {
  modelTypes: ['electra'],
  packed: { supported: true },
  accepts: { tokenTypeIds: true, positionIds: true },
  checkConfig: (c) => void readBertConfig(c, ELECTRA_DEFAULTS),
  positions: () => ({ kind: 'arange' }),
  typeVocabSize: (c) => c.size('type_vocab_size', 2),
  build,
};
