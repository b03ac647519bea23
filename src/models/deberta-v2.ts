/**
 * DeBERTa-v2 and -v3 (`model_type: deberta-v2`), following transformers 4.40's modeling_deberta_v2.py top to
 * bottom: config → DebertaV2Embeddings → DebertaV2Encoder (DebertaV2Layer with DisentangledSelfAttention, the
 * optional ConvLayer after the first layer, the relative embeddings and their LayerNorm) → heads (ContextPooler +
 * classifier, token classification, QA, the BERT-style `cls.predictions` MLM head). The attention itself is in
 * deberta-v2-attention.ts.
 *
 * Padding follows HF: the embedding output is multiplied by the mask, XSoftmax masks padding on both sides (a padding
 * query attends to nothing, so its context is 0), and the conv layer zeroes padding. The packed graph runs the
 * attention and the convolution per sequence in the length groups' layouts (see packed-layout.ts), so a row equals
 * the sequence run alone.
 */
import { classifierWidth, type Architecture, type GraphRequest } from './architecture.js';
import {
  bertLMPredictionHead,
  firstTokenHead,
  questionAnsweringHead,
  tokenClassificationHead,
} from './bert.js';
import {
  attentionLayout,
  attentionSpan,
  disentangledAttention,
  relativeIndexTable,
  relativeLayout,
  type AttentionLayout,
  type RelativePositionConfig,
} from './deberta-v2-attention.js';
import {
  activation,
  ConfigReader,
  embed,
  layerNorm,
  leadingRows,
  linear,
  linearActivation,
  linearResidualLayerNorm,
  matmul,
  ModelGraph,
  packedProjectionBias,
  projectQueryKeyValue as stackedQueryKeyValue,
  splitQueryKeyValue,
  stackLayers,
  traceOutputs,
  type ActivationName,
  type EncoderInputs,
  type NamedOutput,
} from './layers/index.js';
import { ConfigError, InputError } from '../errors.js';
import type { NumericTensor } from '../runtime/inputs.js';
import { crossEntropy, meanSquaredError } from '../runtime/losses.js';
import { Value } from '../onnx/graph-builder.js';
import { TensorDataType } from '../onnx/proto.js';

// ----------------------------------------------------------------------------------------------- config

/** The DebertaV2Config fields that change the math (defaults as in transformers' DebertaV2Config and getattr calls). */
export interface DebertaV2Config extends RelativePositionConfig {
  vocabSize: number;
  hiddenSize: number;
  numHiddenLayers: number;
  numAttentionHeads: number;
  intermediateSize: number;
  hiddenAct: ActivationName;
  maxPositionEmbeddings: number;
  /** 0: no token-type table (DeBERTa-v3), and token types are ignored. */
  typeVocabSize: number;
  layerNormEps: number;
  /** Width of the embedding tables; `embed_proj` maps it to hidden_size when they differ. */
  embeddingSize: number;
  /** `position_biased_input`: absolute position embeddings are added to the word embeddings. */
  positionBiasedInput: boolean;
  relativeAttention: boolean;
  c2p: boolean;
  p2c: boolean;
  shareAttKey: boolean;
  /** `norm_rel_ebd` contains `layer_norm`: the relative embeddings go through `encoder.LayerNorm`. */
  normRelativeEmbeddings: boolean;
  /** `conv_kernel_size` (0: no ConvLayer). */
  convKernelSize: number;
  convGroups: number;
  convAct: ActivationName;
  poolerHiddenAct: ActivationName;
  tieWordEmbeddings: boolean;
}

/** `pos_att_type`: a list, or a `|`-separated string as DebertaV2Config accepts it. */
function readPosAttType(c: ConfigReader): { c2p: boolean; p2c: boolean } {
  const raw = c.json.pos_att_type;
  const fail = (): never => {
    throw new ConfigError(
      `${c.file} pos_att_type: expected a list of "c2p" / "p2c" (or a "c2p|p2c" string), got ${JSON.stringify(raw)}`,
      { file: c.file, field: 'pos_att_type' },
    );
  };
  if (raw === undefined || raw === null) return { c2p: false, p2c: false };
  const entries = typeof raw === 'string' ? raw.toLowerCase().split('|') : Array.isArray(raw) ? raw : fail();
  const kinds = entries.map((entry) => (typeof entry === 'string' ? entry.trim() : fail()));
  // "p2p" belongs to DeBERTa v1; the v2 code ignores it, and so do we.
  if (kinds.some((kind) => kind !== 'c2p' && kind !== 'p2c' && kind !== 'p2p')) fail();
  return { c2p: kinds.includes('c2p'), p2c: kinds.includes('p2c') };
}

export function readDebertaV2Config(c: ConfigReader): DebertaV2Config {
  c.requireEncoderOnly();
  const hiddenSize = c.size('hidden_size', 1536);
  const numAttentionHeads = c.size('num_attention_heads', 24);
  c.requireDivisibleHeads(hiddenSize, numAttentionHeads, 'num_attention_heads');
  if (
    c.json.attention_head_size !== undefined &&
    c.json.attention_head_size !== hiddenSize / numAttentionHeads
  ) {
    throw new ConfigError(
      `${c.file} attention_head_size: only hidden_size / num_attention_heads (${hiddenSize / numAttentionHeads}) is supported, got ${JSON.stringify(c.json.attention_head_size)}`,
      { file: c.file, field: 'attention_head_size' },
    );
  }
  const maxPositionEmbeddings = c.size('max_position_embeddings', 512);
  const maxRelative = c.integer('max_relative_positions', -1);
  const convKernelSize = c.integer('conv_kernel_size', 0);
  if (convKernelSize > 0 && convKernelSize % 2 === 0) {
    // torch's Conv1d with padding (k-1)//2 shortens the sequence for an even kernel, and HF's masking then fails.
    throw new ConfigError(`${c.file} conv_kernel_size: expected an odd kernel size, got ${convKernelSize}`, {
      file: c.file,
      field: 'conv_kernel_size',
    });
  }
  const convGroups = c.size('conv_groups', 1);
  if (hiddenSize % convGroups !== 0) {
    throw new ConfigError(
      `${c.file} conv_groups: hidden size ${hiddenSize} is not a multiple of ${convGroups} groups`,
      {
        file: c.file,
        field: 'conv_groups',
      },
    );
  }
  const poolerHiddenSize = c.size('pooler_hidden_size', hiddenSize);
  if (poolerHiddenSize !== hiddenSize) {
    // ContextPooler's output_dim is hidden_size: HF's classifier only fits when the two agree.
    throw new ConfigError(
      `${c.file} pooler_hidden_size: ${poolerHiddenSize} differs from hidden_size ${hiddenSize} (HF's classifier expects them equal)`,
      { file: c.file, field: 'pooler_hidden_size' },
    );
  }
  const normRelEbd = c.string('norm_rel_ebd', 'none');
  const typeVocabSize = c.integer('type_vocab_size', 0);
  if (typeVocabSize < 0) {
    throw new ConfigError(`${c.file} type_vocab_size: expected 0 or more, got ${typeVocabSize}`, {
      file: c.file,
      field: 'type_vocab_size',
    });
  }
  return {
    vocabSize: c.size('vocab_size', 128100),
    hiddenSize,
    numHiddenLayers: c.size('num_hidden_layers', 24),
    numAttentionHeads,
    intermediateSize: c.size('intermediate_size', 6144),
    hiddenAct: c.activation('hidden_act', 'gelu'),
    maxPositionEmbeddings,
    typeVocabSize,
    layerNormEps: c.number('layer_norm_eps', 1e-7),
    embeddingSize: c.size('embedding_size', hiddenSize),
    positionBiasedInput: c.boolean('position_biased_input', true),
    relativeAttention: c.boolean('relative_attention', false),
    positionBuckets: c.integer('position_buckets', -1),
    maxRelativePositions: maxRelative < 1 ? maxPositionEmbeddings : maxRelative,
    ...readPosAttType(c),
    shareAttKey: c.boolean('share_att_key', false),
    normRelativeEmbeddings: normRelEbd
      .toLowerCase()
      .split('|')
      .map((s) => s.trim())
      .includes('layer_norm'),
    convKernelSize: Math.max(convKernelSize, 0),
    convGroups,
    convAct: c.activation('conv_act', 'tanh'),
    poolerHiddenAct: c.activation('pooler_hidden_act', 'gelu'),
    tieWordEmbeddings: c.boolean('tie_word_embeddings', true),
  };
}

// ----------------------------------------------------------------------------------------------- embeddings

/** `mask` [rows, L] as float [rows, L, 1], to multiply per-token states by (padding → 0). */
function maskColumn(m: ModelGraph, mask: Value): Value {
  return m.g.op('Unsqueeze', [m.g.op('Cast', [mask], { to: TensorDataType.FLOAT }), m.g.int64s([2])]);
}

/**
 * DebertaV2Embeddings: word embeddings, plus absolute positions when `position_biased_input`, plus token types
 * when `type_vocab_size` > 0, then `embed_proj` when the embedding size differs, LayerNorm, and the padded
 * layout's mask (padding rows become 0).
 */
function embeddings(m: ModelGraph, prefix: string, config: DebertaV2Config, inputs: EncoderInputs): Value {
  const g = m.g;
  const dim = config.embeddingSize;
  let sum = embed(m, m.tensor(`${prefix}.word_embeddings.weight`, [config.vocabSize, dim]), inputs.inputIds);
  if (config.positionBiasedInput) {
    const table = m.tensor(`${prefix}.position_embeddings.weight`, [config.maxPositionEmbeddings, dim]);
    const positions = inputs.positionIds
      ? embed(m, table, inputs.positionIds)
      : leadingRows(m, table, inputs.inputIds);
    sum = g.op('Add', [sum, positions]);
  }
  if (config.typeVocabSize > 0) {
    const table = m.tensor(`${prefix}.token_type_embeddings.weight`, [config.typeVocabSize, dim]);
    const types = inputs.tokenTypeIds
      ? embed(m, table, inputs.tokenTypeIds)
      : g.op(
          'Gather',
          [table, g.constant(new BigInt64Array([0n]), [])],
          { axis: 0 },
          { name: 'token_type_zero' },
        );
    sum = g.op('Add', [sum, types]);
  }
  if (dim !== config.hiddenSize) sum = matmul(m, sum, `${prefix}.embed_proj`, dim, config.hiddenSize);
  const normed = layerNorm(m, sum, `${prefix}.LayerNorm`, config.hiddenSize, config.layerNormEps);
  // Packed, every token is real: only the padded layout has rows to zero.
  if (m.packed || !inputs.mask.mask) return normed;
  return g.op('Mul', [normed, maskColumn(m, inputs.mask.mask)], {}, { name: 'masked_embeddings' });
}

// ----------------------------------------------------------------------------------------------- encoder

/** How a layer reaches its attention layouts: the padded batch, or the packed graph's length groups. */
interface EncoderLayouts {
  /** Padded: the one layout. Packed: one per length group, in group order. */
  attention: AttentionLayout[];
}

/**
 * DebertaV2Layer: DisentangledSelfAttention → DebertaV2SelfOutput (dense + residual + LayerNorm) →
 * DebertaV2Intermediate → DebertaV2Output (dense + residual + LayerNorm). HF applies no feed-forward chunking here.
 */
function debertaLayer(
  m: ModelGraph,
  x: Value,
  prefix: string,
  config: DebertaV2Config,
  layouts: EncoderLayouts,
  relativeEmbeddings: Value | null,
  outputProbabilities: boolean,
): { output: Value; probabilities: Value | null } {
  const h = config.hiddenSize;
  const eps = config.layerNormEps;
  return m.g.scope(prefix, () => {
    const self = `${prefix}.attention.self`;
    const spec = {
      prefix: self,
      hidden: h,
      heads: config.numAttentionHeads,
      c2p: config.c2p,
      p2c: config.p2c,
      shareAttKey: config.shareAttKey,
      relativeEmbeddings,
      outputProbabilities,
    };
    const [query, key, value] = queryKeyValueProjections(m, x, self, h);
    let context: Value;
    let probabilities: Value | null = null;
    if (m.packed) {
      const packed = m.packed;
      const contexts = packed.groups.map((group, i) => {
        const [q, k, v] = [query, key, value].map((states) => packed.toGroupLayout(states, group));
        return disentangledAttention(m, q!, k!, v!, layouts.attention[i]!, spec).context;
      });
      context = packed.toPacked(contexts, h);
    } else {
      ({ context, probabilities } = disentangledAttention(m, query, key, value, layouts.attention[0]!, spec));
    }
    const attended = linearResidualLayerNorm(
      m,
      context,
      x,
      `${prefix}.attention.output.dense`,
      h,
      h,
      `${prefix}.attention.output.LayerNorm`,
      eps,
    );
    const intermediate = linearActivation(
      m,
      attended,
      `${prefix}.intermediate.dense`,
      h,
      config.intermediateSize,
      config.hiddenAct,
    );
    const output = linearResidualLayerNorm(
      m,
      intermediate,
      attended,
      `${prefix}.output.dense`,
      config.intermediateSize,
      h,
      `${prefix}.output.LayerNorm`,
      eps,
    );
    return { output, probabilities };
  });
}

/** query_proj, key_proj and value_proj of `x` (one MatMul on the side-by-side weights with contrib ops). */
function queryKeyValueProjections(m: ModelGraph, x: Value, self: string, hidden: number): Value[] {
  const names = { query: `${self}.query_proj`, key: `${self}.key_proj`, value: `${self}.value_proj` };
  if (!m.options.contribOps)
    return Object.values(names).map((prefix) => linear(m, x, prefix, hidden, hidden));
  const spec = { ...names, hidden };
  const projected = m.g.op('Add', [stackedQueryKeyValue(m, x, spec), packedProjectionBias(m, spec)]);
  return splitQueryKeyValue(m, projected, hidden);
}

/**
 * ConvLayer (after the first layer): Conv1d over the sequence of the embedding output (kernel `conv_kernel_size`,
 * same padding, `conv_groups`), padding positions zeroed, `conv_act`, then LayerNorm(layer output + conv), and the
 * mask again. Packed, the convolution runs per sequence in the length groups' layouts, their filler zeroed first, so
 * no sequence sees its neighbour's tokens.
 */
function convLayer(
  m: ModelGraph,
  embeddingOutput: Value,
  layerOutput: Value,
  prefix: string,
  config: DebertaV2Config,
  mask: Value | null,
): Value {
  const g = m.g;
  const h = config.hiddenSize;
  const k = config.convKernelSize;
  const weight = m.tensor(`${prefix}.conv.weight`, [h, h / config.convGroups, k]);
  const bias = m.tensor(`${prefix}.conv.bias`, [h]);
  const pad = (k - 1) / 2;
  // [rows, L, hidden] → Conv1d over L → [rows, L, hidden].
  const convolve = (states: Value): Value => {
    const channels = g.op('Transpose', [states], { perm: [0, 2, 1] });
    const out = g.op('Conv', [channels, weight, bias], {
      kernel_shape: [k],
      pads: [pad, pad],
      group: config.convGroups,
    });
    return g.op('Transpose', [out], { perm: [0, 2, 1] });
  };
  let out: Value;
  if (m.packed) {
    const packed = m.packed;
    const groups = packed.groups.map((group) => {
      const states = g.op('Mul', [
        packed.toGroupLayout(embeddingOutput, group),
        maskColumn(m, group.mask.mask!),
      ]);
      return convolve(states);
    });
    out = packed.toPacked(groups, h);
  } else {
    out = convolve(embeddingOutput);
    if (mask) out = g.op('Mul', [out, maskColumn(m, mask)]);
  }
  const normed = layerNorm(
    m,
    g.op('Add', [layerOutput, activation(m, out, config.convAct)]),
    `${prefix}.LayerNorm`,
    h,
    config.layerNormEps,
  );
  return mask && !m.packed ? g.op('Mul', [normed, maskColumn(m, mask)]) : normed;
}

/** The attention layouts of the graph (one padded, or one per packed length group), each with its relative index. */
function encoderLayouts(
  m: ModelGraph,
  c: ConfigReader,
  config: DebertaV2Config,
  inputs: EncoderInputs,
  x: Value,
): EncoderLayouts {
  const index = config.relativeAttention ? relativeIndexTable(config, c.file) : null;
  const relative = (states: Value) =>
    index ? relativeLayout(m, states, config.numAttentionHeads, index) : null;
  if (m.packed) {
    const packed = m.packed;
    return {
      attention: packed.groups.map((group) =>
        attentionLayout(m, group.mask, relative(packed.toGroupLayout(x, group)), false),
      ),
    };
  }
  return { attention: [attentionLayout(m, inputs.mask, relative(x), true)] };
}

/** DebertaV2Encoder: the relative embeddings (LayerNorm-ed when `norm_rel_ebd` says so), the layers, the ConvLayer. */
function debertaEncoder(
  m: ModelGraph,
  c: ConfigReader,
  x: Value,
  prefix: string,
  config: DebertaV2Config,
  inputs: EncoderInputs,
  request: GraphRequest,
) {
  const h = config.hiddenSize;
  let relativeEmbeddings: Value | null = null;
  if (config.relativeAttention) {
    relativeEmbeddings = m.tensor(`${prefix}.rel_embeddings.weight`, [2 * attentionSpan(config), h]);
    if (config.normRelativeEmbeddings) {
      relativeEmbeddings = layerNorm(m, relativeEmbeddings, `${prefix}.LayerNorm`, h, config.layerNormEps);
    }
  }
  const layouts = encoderLayouts(m, c, config, inputs, x);
  // Every position is computed in every layer: the first-token shortcut of BERT-style layers is not implemented here.
  return stackLayers(
    x,
    config.numHiddenLayers,
    { ...request, firstTokenOnly: false },
    (hidden, i, options) => {
      const layer = debertaLayer(
        m,
        hidden,
        `${prefix}.layer.${i}`,
        config,
        layouts,
        relativeEmbeddings,
        options.outputProbabilities,
      );
      if (i > 0 || config.convKernelSize === 0) return layer;
      return { ...layer, output: convLayer(m, x, layer.output, `${prefix}.conv`, config, inputs.mask.mask) };
    },
  );
}

// ----------------------------------------------------------------------------------------------- heads

function build(m: ModelGraph, c: ConfigReader, inputs: EncoderInputs, request: GraphRequest): NamedOutput[] {
  const config = readDebertaV2Config(c);
  const h = config.hiddenSize;
  const base = m.weights.has('deberta.embeddings.word_embeddings.weight') ? 'deberta.' : '';
  const embedded = embeddings(m, `${base}embeddings`, config, inputs);
  const trace = debertaEncoder(m, c, embedded, `${base}encoder`, config, inputs, request);
  const traced = traceOutputs(trace, h, config.numAttentionHeads, request);
  const sequence = trace.lastHiddenState;

  switch (request.task) {
    case 'base':
      return [{ name: 'last_hidden_state', value: sequence, dims: ['batch', 'sequence', h] }, ...traced];
    case 'sequence-classification':
    case 'multiple-choice': {
      // ContextPooler: dense(hidden[:, 0]) → pooler_hidden_act; then the classifier (DebertaV2ForMultipleChoice:
      // Linear(hidden, 1), on each choice).
      const width = classifierWidth(request.task, () => c.numLabels());
      const names = { dense: 'pooler.dense', out: 'classifier' };
      return [firstTokenHead(m, sequence, names, config.poolerHiddenAct, h, width), ...traced];
    }
    case 'token-classification':
      return [tokenClassificationHead(m, sequence, 'classifier', h, c.numLabels()), ...traced];
    case 'question-answering':
      return [...questionAnsweringHead(m, sequence, 'qa_outputs', h), ...traced];
    case 'masked-lm': {
      // transformers 4.40: DebertaV2OnlyMLMHead is BERT's head, its transform projecting to embedding_size.
      const logits = bertLMPredictionHead(m, sequence, {
        base,
        hiddenSize: h,
        transformSize: config.embeddingSize,
        hiddenAct: config.hiddenAct,
        layerNormEps: config.layerNormEps,
        tied: config.tieWordEmbeddings,
        vocabSize: config.vocabSize,
      });
      return [{ name: 'logits', value: logits, dims: ['batch', 'sequence', config.vocabSize] }, ...traced];
    }
  }
}

// ----------------------------------------------------------------------------------------------- loss

/**
 * DebertaV2ForSequenceClassification's loss when config.json has no `problem_type` (its own rule, not transformers'
 * usual inference): one label → MSE; labels shaped [batch] or [batch, 1] → cross-entropy over the rows whose label
 * is ≥ 0 (negative labels are skipped, 0 when none is left; `.long()` truncates float labels); any other shape →
 * soft labels [batch, num_labels]: −mean over rows of Σ log_softmax(logits) · labels.
 */
export function debertaSequenceClassificationLoss(
  logits: { data: ArrayLike<number>; dims: number[] },
  labels: NumericTensor,
  numLabels: number,
): number {
  const batch = logits.dims[0]!;
  if (numLabels === 1) return meanSquaredError(logits.data, labels.data);
  if (labels.dims.length === 1 || labels.dims[labels.dims.length - 1] === 1) {
    if (labels.data.length !== batch) {
      throw new InputError(`labels: expected ${batch} class ids (one per row), got ${labels.data.length}`, {
        argument: 'labels',
      });
    }
    const rows: number[] = [];
    const classes: number[] = [];
    for (let r = 0; r < batch; r++) {
      if (!(labels.data[r]! >= 0)) continue;
      rows.push(r);
      classes.push(Math.trunc(labels.data[r]!));
    }
    if (rows.length === 0) return 0;
    const kept = rows.flatMap((r) =>
      Array.from({ length: numLabels }, (_, c) => logits.data[r * numLabels + c]!),
    );
    return crossEntropy(kept, numLabels, classes);
  }
  if (labels.data.length !== logits.data.length) {
    throw new InputError(
      `labels: soft labels need a [${batch}, ${numLabels}] array, got ${labels.data.length} values`,
      { argument: 'labels' },
    );
  }
  let total = 0;
  for (let r = 0; r < batch; r++) {
    const row = Array.from({ length: numLabels }, (_, c) => logits.data[r * numLabels + c]!);
    const max = Math.max(...row);
    const logSum = max + Math.log(row.reduce((sum, x) => sum + Math.exp(x - max), 0));
    row.forEach((x, c) => (total -= (x - logSum) * labels.data[r * numLabels + c]!));
  }
  return total / batch;
}

export const debertaV2Architecture: Architecture = {
  modelTypes: ['deberta-v2'],
  packed: { supported: true },
  accepts: { tokenTypeIds: true, positionIds: true },
  checkConfig: (c) => {
    const config = readDebertaV2Config(c);
    if (config.relativeAttention) relativeIndexTable(config, c.file);
  },
  positions: () => ({ kind: 'arange' }),
  typeVocabSize: (c) => c.integer('type_vocab_size', 0),
  build,
  inferredSequenceClassificationLoss: debertaSequenceClassificationLoss,
};
