/**
 * RoBERTa and XLM-RoBERTa (modeling_roberta.py, modeling_xlm_roberta.py: the same code under another name).
 * The embeddings and the encoder are BERT's; the differences are the pad-aware default positions and the heads.
 */
import { classifierWidth, type Architecture, type GraphRequest } from './architecture.js';
import {
  type BertConfig,
  bertEmbeddings,
  bertEncoder,
  bertPooler,
  classifierLogits,
  firstTokenHead,
  questionAnsweringHead,
  readBertConfig,
  tokenClassificationHead,
  vocabularyProjection,
} from './bert.js';
import {
  ConfigReader,
  layerNorm,
  linearActivation,
  ModelGraph,
  traceOutputs,
  type EncoderInputs,
  type NamedOutput,
} from './layers/index.js';
import type { Value } from '../onnx/graph-builder.js';

// RobertaConfig's own defaults where they differ from BertConfig.
const ROBERTA_DEFAULTS = { vocab_size: 50265, pad_token_id: 1 };

function build(m: ModelGraph, c: ConfigReader, inputs: EncoderInputs, request: GraphRequest): NamedOutput[] {
  const config = readBertConfig(c, ROBERTA_DEFAULTS);
  const h = config.hiddenSize;
  const base = m.weights.has('roberta.embeddings.word_embeddings.weight') ? 'roberta.' : '';
  // Positions count real tokens only: pad + 1, pad + 2, … with padding kept at pad (create_position_ids_from_input_ids).
  const embeddings = bertEmbeddings(m, `${base}embeddings`, config, inputs, {
    kind: 'from-input-ids',
    padTokenId: config.padTokenId,
  });
  const trace = bertEncoder(m, embeddings, `${base}encoder`, config, inputs.mask, request);
  const traced = traceOutputs(trace, h, config.numAttentionHeads, request);
  const sequence = trace.lastHiddenState;

  return robertaHeads(m, c, config, base, sequence, request, traced);
}

/** The config fields RoBERTa's heads read. */
export type RobertaHeadsConfig = Pick<
  BertConfig,
  'hiddenSize' | 'layerNormEps' | 'tieWordEmbeddings' | 'vocabSize'
>;

/**
 * RoBERTa's heads on the encoder output (Longformer and MPNet use the same ones): a pooler for the base model when the
 * checkpoint has one, RobertaClassificationHead, token classification, QA, and RobertaLMHead.
 */
export function robertaHeads(
  m: ModelGraph,
  c: ConfigReader,
  config: RobertaHeadsConfig,
  base: string,
  sequence: Value,
  request: GraphRequest,
  traced: NamedOutput[],
): NamedOutput[] {
  const h = config.hiddenSize;
  switch (request.task) {
    case 'base': {
      const outputs: NamedOutput[] = [
        { name: 'last_hidden_state', value: sequence, dims: ['batch', 'sequence', h] },
      ];
      if (m.has(`${base}pooler.dense.weight`)) {
        outputs.push({
          name: 'pooler_output',
          value: bertPooler(m, sequence, `${base}pooler.dense`, h),
          dims: ['batch', h],
        });
      }
      return [...outputs, ...traced];
    }
    case 'sequence-classification': {
      // RobertaClassificationHead: <s> token → dense → tanh → out_proj (no pooler).
      const names = { dense: 'classifier.dense', out: 'classifier.out_proj' };
      return [firstTokenHead(m, sequence, names, 'tanh', h, c.numLabels()), ...traced];
    }
    case 'multiple-choice': {
      // RobertaForMultipleChoice (and Longformer's, MPNet's): the pooler, not the classification head, then
      // classifier Linear(hidden, 1), on each choice.
      const pooled = bertPooler(m, sequence, `${base}pooler.dense`, h);
      const width = classifierWidth(request.task, () => c.numLabels());
      return [classifierLogits(m, pooled, 'classifier', h, width), ...traced];
    }
    case 'token-classification':
      return [tokenClassificationHead(m, sequence, 'classifier', h, c.numLabels()), ...traced];
    case 'question-answering':
      return [...questionAnsweringHead(m, sequence, 'qa_outputs', h), ...traced];
    case 'masked-lm': {
      // RobertaLMHead: dense → gelu (always the exact gelu, whatever hidden_act says) → layer_norm → decoder.
      const transformed = layerNorm(
        m,
        linearActivation(m, sequence, 'lm_head.dense', h, h, 'gelu'),
        'lm_head.layer_norm',
        h,
        config.layerNormEps,
      );
      const logits = vocabularyProjection(m, transformed, {
        decoderWeight: 'lm_head.decoder.weight',
        wordEmbeddings: `${base}embeddings.word_embeddings.weight`,
        biasNames: ['lm_head.bias', 'lm_head.decoder.bias'],
        tied: config.tieWordEmbeddings,
        inFeatures: h,
        vocabSize: config.vocabSize,
      });
      return [{ name: 'logits', value: logits, dims: ['batch', 'sequence', config.vocabSize] }, ...traced];
    }
  }
}

export const robertaArchitecture: Architecture = {
  modelTypes: ['roberta', 'xlm-roberta', 'camembert'],
  packed: { supported: true },
  accepts: { tokenTypeIds: true, positionIds: true },
  checkConfig: (c) => void readBertConfig(c, ROBERTA_DEFAULTS),
  positions: (c) => ({
    kind: 'from-input-ids',
    padTokenId: c.integer('pad_token_id', ROBERTA_DEFAULTS.pad_token_id),
  }),
  typeVocabSize: (c) => c.size('type_vocab_size', 2),
  build,
};
