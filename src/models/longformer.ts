/**
 * Longformer (modeling_longformer.py): RoBERTa's embeddings and feed-forward layers around a sliding-window
 * attention with optional global tokens (see ./longformer-attention.ts for the attention itself).
 *
 * Inputs. Besides the usual ones the graph always takes `global_attention_mask` (int64 [batch, sequence], 1 =
 * global). HF's default when the argument is None depends on the head (none for the base model, token 0 for sequence
 * classification, the question for question answering); the model API fills it from this architecture's
 * `extraInputs` (`defaultGlobalAttentionMask` below), so the graph itself has no default.
 *
 * Inside the graph, as LongformerModel.forward does:
 * 1. pad the sequence to a multiple of max(attention_window) with the pad id (mask 0, type 0, global 0, position
 *    ids with the pad id when given);
 * 2. merge the masks: `attention_mask · (global_attention_mask + 1)` → 0 masked, 1 local, 2 global;
 * 3. run the layers, each with its own `attention_window[i]`;
 * 4. cut `last_hidden_state`, `hidden_states` and `attentions` back to the input length. `global_attentions`
 *    keeps the padded length, as in HF.
 *
 * Outputs, besides BERT's: `attentions.<i>` [batch, heads, sequence, K + window_i + 1] and `global_attentions.<i>`
 * [batch, heads, padded sequence, K], K being the largest number of global tokens in a row of the batch. HF returns
 * no global_attentions at all when no row has a global token; this graph then returns tensors with K = 0.
 */
import { ConfigError, InputError } from '../errors.js';
import { attr, Value } from '../onnx/graph-builder.js';
import { bertEmbeddings, readBertConfig, type BertConfig } from './bert.js';
import type { IntMatrix } from '../runtime/inputs.js';
import type { Architecture, ExtraInput, GraphRequest, ModelTask } from './architecture.js';
import {
  ConfigReader,
  linearActivation,
  linearResidualLayerNorm,
  ModelGraph,
  AttentionMask,
  type EncoderInputs,
  type NamedOutput,
} from './layers/index.js';
import { globalLayout, longformerSelfAttention, type GlobalLayout } from './longformer-attention.js';
import { robertaHeads } from './roberta.js';

/** LongformerConfig's own defaults where they differ from BertConfig. */
const LONGFORMER_DEFAULTS = { pad_token_id: 1 };
const DEFAULT_ATTENTION_WINDOW = 512;

/** The name of the extra graph input. */
export const GLOBAL_ATTENTION_MASK = 'global_attention_mask';

export interface LongformerConfig extends BertConfig {
  /** `attention_window` per layer (LongformerModel turns an int into a list); each even and positive. */
  attentionWindows: number[];
}

/** Reads and checks a Longformer config.json (ConfigError naming the field otherwise). */
export function readLongformerConfig(c: ConfigReader): LongformerConfig {
  const config = readBertConfig(c, LONGFORMER_DEFAULTS);
  return { ...config, attentionWindows: attentionWindows(c, config.numHiddenLayers) };
}

function attentionWindows(c: ConfigReader, layers: number): number[] {
  const raw = c.json.attention_window ?? DEFAULT_ATTENTION_WINDOW;
  const fail = (what: string): never => {
    throw new ConfigError(`${c.file} attention_window: ${what}, got ${JSON.stringify(raw)}`, {
      file: c.file,
      field: 'attention_window',
    });
  };
  const check = (w: unknown, where: string): number => {
    if (typeof w !== 'number' || !Number.isInteger(w) || w <= 0 || w % 2 !== 0) {
      fail(
        `${where}expected a positive even integer (the window spans attention_window/2 tokens on each side)`,
      );
    }
    return w as number;
  };
  if (!Array.isArray(raw)) return Array.from({ length: layers }, () => check(raw, ''));
  if (raw.length !== layers)
    fail(`one window per layer expected (num_hidden_layers is ${layers}), ${raw.length} given`);
  const windows = raw.map((w, i) => check(w, `layer ${i}: `));
  // Inputs are padded to a multiple of the largest window; HF's sliding chunks need that length to be a multiple
  // of every layer's window too, so it fails on some lengths unless each window divides the largest.
  const largest = Math.max(...windows);
  const odd = windows.findIndex((w) => largest % w !== 0);
  if (odd >= 0) fail(`layer ${odd}: window ${windows[odd]} does not divide the largest window ${largest}`);
  return windows;
}

/** The [batch, seq] int64 graph tensors padded to a multiple of the window, and what is needed to cut back. */
interface PaddedInputs {
  inputs: EncoderInputs;
  merged: Value;
  /** 1-element int64: the input length before padding. */
  length: Value;
}

/** LongformerModel._pad_to_window_size followed by _merge_to_attention_mask. */
function padToWindow(
  m: ModelGraph,
  inputs: EncoderInputs,
  globalMask: Value,
  window: number,
  padTokenId: number,
): PaddedInputs {
  const g = m.g;
  return g.scope('pad_to_window', () => {
    const int64 = (v: number): Value => g.constant(new BigInt64Array([BigInt(v)]), []);
    const length = g.op('Shape', [inputs.inputIds], { start: 1, end: 2 }, { name: 'input_length' });
    const windowSize = g.int64s([window]);
    const padLength = g.op('Mod', [g.op('Sub', [windowSize, g.op('Mod', [length, windowSize])]), windowSize]);
    // Pad's `pads` = [batch begin, seq begin, batch end, seq end].
    const pads = g.op('Concat', [g.int64s([0, 0, 0]), padLength], { axis: 0 }, { name: 'pads' });
    const pad = (x: Value, fill: number): Value => g.op('Pad', [x, pads, int64(fill)]);
    const ones = g.op('ConstantOfShape', [g.op('Shape', [inputs.inputIds])], {
      value: attr.tensor(new BigInt64Array([1n]), [1]),
    });
    const mask = pad(inputs.mask.mask ?? ones, 0);
    const global = pad(globalMask, 0);
    const merged = g.op(
      'Mul',
      [mask, g.op('Add', [global, int64(1)])],
      {},
      { name: 'merged_attention_mask' },
    );
    return {
      inputs: {
        inputIds: pad(inputs.inputIds, padTokenId),
        mask: new AttentionMask(m, mask),
        tokenTypeIds: inputs.tokenTypeIds ? pad(inputs.tokenTypeIds, 0) : null,
        positionIds: inputs.positionIds ? pad(inputs.positionIds, padTokenId) : null,
      },
      merged,
      length,
    };
  });
}

/** `x[:, :length]` on axis `axis`. */
function cutBack(m: ModelGraph, x: Value, length: Value, axis: number): Value {
  return m.g.op('Slice', [x, m.g.int64s([0]), length, m.g.int64s([axis])]);
}

/** LongformerLayer: attention → output dense + residual + LayerNorm → intermediate → output (as BertLayer). */
function longformerLayer(
  m: ModelGraph,
  x: Value,
  prefix: string,
  config: LongformerConfig,
  window: number,
  layout: GlobalLayout,
  outputProbabilities: boolean,
) {
  const { hiddenSize: h, intermediateSize: inner, layerNormEps: eps } = config;
  return m.g.scope(prefix, () => {
    const attention = longformerSelfAttention(m, x, layout, {
      prefix: `${prefix}.attention.self`,
      hidden: h,
      heads: config.numAttentionHeads,
      window,
      outputProbabilities,
    });
    const attended = linearResidualLayerNorm(
      m,
      attention.context,
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
      inner,
      config.hiddenAct,
    );
    const output = linearResidualLayerNorm(
      m,
      intermediate,
      attended,
      `${prefix}.output.dense`,
      inner,
      h,
      `${prefix}.output.LayerNorm`,
      eps,
    );
    return { output, attentions: attention.attentions, globalAttentions: attention.globalAttentions };
  });
}

function build(m: ModelGraph, c: ConfigReader, inputs: EncoderInputs, request: GraphRequest): NamedOutput[] {
  const config = readLongformerConfig(c);
  const h = config.hiddenSize;
  const heads = config.numAttentionHeads;
  const base = m.weights.has('longformer.embeddings.word_embeddings.weight') ? 'longformer.' : '';
  const globalMask = m.rowInput(GLOBAL_ATTENTION_MASK);
  const padded = padToWindow(m, inputs, globalMask, Math.max(...config.attentionWindows), config.padTokenId);
  const layout = globalLayout(m, padded.merged);

  let hidden = bertEmbeddings(m, `${base}embeddings`, config, padded.inputs, {
    kind: 'from-input-ids',
    padTokenId: config.padTokenId,
  });
  const hiddenStates = [hidden];
  const traced: NamedOutput[] = [];
  const attentionOutputs: NamedOutput[] = [];
  for (let i = 0; i < config.numHiddenLayers; i++) {
    const window = config.attentionWindows[i]!;
    const layer = longformerLayer(
      m,
      hidden,
      `${base}encoder.layer.${i}`,
      config,
      window,
      layout,
      request.outputAttentions,
    );
    hidden = layer.output;
    hiddenStates.push(hidden);
    if (layer.attentions && layer.globalAttentions) {
      attentionOutputs.push({
        name: `attentions.${i}`,
        value: cutBack(m, layer.attentions, padded.length, 2),
        dims: ['batch', heads, 'sequence', `global_plus_window_${i}`],
      });
      attentionOutputs.push({
        name: `global_attentions.${i}`,
        value: layer.globalAttentions,
        dims: ['batch', heads, 'padded_sequence', 'global_tokens'],
      });
    }
  }
  if (request.outputHiddenStates) {
    hiddenStates.forEach((state, i) =>
      traced.push({
        name: `hidden_states.${i}`,
        value: cutBack(m, state, padded.length, 1),
        dims: ['batch', 'sequence', h],
      }),
    );
  }
  traced.push(...attentionOutputs.filter((o) => o.name.startsWith('attentions.')));
  traced.push(...attentionOutputs.filter((o) => o.name.startsWith('global_attentions.')));
  const sequence = cutBack(m, hidden, padded.length, 1);

  // LongformerClassificationHead and LongformerLMHead are RoBERTa's heads under new names.
  return robertaHeads(m, c, config, base, sequence, request, traced);
}

function checkGlobalMask(mask: IntMatrix, ids: IntMatrix): void {
  if (mask.dims[0] !== ids.dims[0] || mask.dims[1] !== ids.dims[1]) {
    throw new InputError(
      `global_attention_mask: shape [${mask.dims.join(', ')}] does not match input_ids [${ids.dims.join(', ')}]`,
      { argument: 'global_attention_mask' },
    );
  }
  for (let i = 0; i < mask.data.length; i++) {
    if (mask.data[i] !== 0n && mask.data[i] !== 1n) {
      throw new InputError(`global_attention_mask: value ${mask.data[i]} at flat index ${i} is not 0 or 1`, {
        argument: 'global_attention_mask',
      });
    }
  }
}

/**
 * HF's Longformer default when `global_attention_mask` is None: sequence classification puts global attention on
 * token 0; question answering, and multiple choice on each choice row, on every token before the first separator
 * (the question); other heads on none.
 */
export function defaultGlobalAttentionMask(task: ModelTask, ids: IntMatrix, config: ConfigReader): IntMatrix {
  const [batch, seq] = ids.dims;
  const data = new BigInt64Array(batch * seq);
  if (task === 'sequence-classification') {
    for (let b = 0; b < batch; b++) data[b * seq] = 1n;
  } else if (task === 'question-answering' || task === 'multiple-choice') {
    const sep = BigInt(config.integer('sep_token_id', 2));
    for (let b = 0; b < batch; b++) {
      const row = ids.data.subarray(b * seq, (b + 1) * seq);
      const seps = row.reduce((n, id) => n + (id === sep ? 1 : 0), 0);
      if (seps !== 3) {
        // HF asserts this too: the question end is found from the separators of `<s> q </s></s> context </s>`.
        throw new InputError(
          `input_ids: row ${b} has ${seps} separator tokens (id ${sep}); Longformer ${task.replace('-', ' ')} needs ` +
            'exactly 3 to find the question, or an explicit global_attention_mask',
          { argument: 'input_ids' },
        );
      }
      const questionEnd = row.indexOf(sep);
      for (let s = 0; s < questionEnd; s++) data[b * seq + s] = 1n;
    }
  }
  return { data, dims: [batch, seq] };
}

const globalAttentionMask: ExtraInput = {
  name: GLOBAL_ATTENTION_MASK,
  alias: 'globalAttentionMask',
  check: checkGlobalMask,
  defaultValue: defaultGlobalAttentionMask,
};

export const longformerArchitecture: Architecture = {
  modelTypes: ['longformer'],
  packed: { supported: false, why: 'banded attention' },
  accepts: { tokenTypeIds: true, positionIds: true },
  extraInputs: [globalAttentionMask],
  checkConfig: (c) => void readLongformerConfig(c),
  positions: (c) => ({
    kind: 'from-input-ids',
    padTokenId: c.integer('pad_token_id', LONGFORMER_DEFAULTS.pad_token_id),
  }),
  typeVocabSize: (c) => c.size('type_vocab_size', 2),
  build,
};
