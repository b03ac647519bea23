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
  // A multiple-choice summary other than the first token reads every position of the last layer.
  const everyPosition = request.task === 'multiple-choice' && summaryType(c) !== 'first';
  const trace = bertEncoder(m, embeddings, `${base}encoder`, config, inputs.mask, {
    ...request,
    firstTokenOnly: request.firstTokenOnly && !everyPosition,
  });
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
 * SequenceSummary's `summary_type`s (transformers' modeling_utils): the first token, the last position, the mean
 * over every position, or `cls_index`, which ElectraForMultipleChoice never passes, so it reads the last position.
 * "last", "mean" and "cls_index" read the padded tensor as HF does (padding positions included), so a checkpoint
 * with one of them has no packed graph (see `packedUnsupportedBy`). "attn" is NotImplementedError in HF.
 */
const SUMMARY_TYPES = ['first', 'last', 'mean', 'cls_index'] as const;
type SummaryType = (typeof SUMMARY_TYPES)[number];

function summaryType(c: ConfigReader): SummaryType {
  const type = c.string('summary_type', 'first');
  if (!(SUMMARY_TYPES as readonly string[]).includes(type)) {
    throw new ConfigError(
      `${c.file} summary_type: expected one of ${SUMMARY_TYPES.map((t) => `"${t}"`).join(', ')} ` +
        `(transformers' SequenceSummary has no other), got ${JSON.stringify(type)}`,
      { file: c.file, field: 'summary_type' },
    );
  }
  return type as SummaryType;
}

/** The summarised vector [batch, hidden] of `sequence` [batch, seq, hidden]. */
function summarise(m: ModelGraph, sequence: Value, type: SummaryType): Value {
  const g = m.g;
  switch (type) {
    case 'first':
      return firstToken(m, sequence);
    case 'last':
    case 'cls_index':
      return g.op('Gather', [sequence, g.constant(new BigInt64Array([-1n]), [])], { axis: 1 });
    case 'mean':
      return g.op('ReduceMean', [sequence], { axes: [1], keepdims: 0 });
  }
}

/**
 * ElectraForMultipleChoice: SequenceSummary (`summary_type`, → `summary` Linear(hidden, hidden) when
 * `summary_use_proj` → `summary_activation`) → classifier Linear(hidden, 1), one score per choice.
 * `summary_proj_to_labels` (whose classifier could not load) is a ConfigError naming the field.
 */
function sequenceSummaryScores(m: ModelGraph, c: ConfigReader, sequence: Value, h: number): NamedOutput {
  if (c.boolean('summary_proj_to_labels', false)) {
    throw new ConfigError(
      `${c.file} summary_proj_to_labels: true makes the summary project to num_labels, which ` +
        "ElectraForMultipleChoice's Linear(hidden_size, 1) classifier cannot take; expected false or absent",
      { file: c.file, field: 'summary_proj_to_labels' },
    );
  }
  let summary = summarise(m, sequence, summaryType(c));
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
  // Only the multiple-choice head reads summary_type (and refuses an unknown one), but the packed choice is made
  // per checkpoint: a summary that reads padding turns packing off for all its tasks.
  packedUnsupportedBy: (c) => {
    const type = c.json.summary_type;
    return typeof type === 'string' && type !== 'first' && (SUMMARY_TYPES as readonly string[]).includes(type)
      ? `summary_type "${type}" reads padding positions, as HF does`
      : null;
  },
  positions: () => ({ kind: 'arange' }),
  typeVocabSize: (c) => c.size('type_vocab_size', 2),
  build,
};
