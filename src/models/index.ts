/**
 * Builds the ONNX graph of a Hugging Face encoder checkpoint (config.json + weights) for one task, with the
 * architecture registry.ts registers for its `model_type` (this module holds no per-family code).
 *
 * Inputs. Every graph takes `input_ids` (int64 [batch, sequence]). The optional HF inputs are graph inputs only
 * when selected in `options.inputs`; an input left out is computed inside the graph exactly as HF defaults it:
 * - `attention_mask` (default: included): absent means all ones, i.e. nothing is masked.
 * - `token_type_ids` (default: included when the architecture has token types and `type_vocab_size` > 1):
 *   absent means all zeros.
 * - `position_ids` (default: not included): absent means 0..L-1 for BERT-style models and
 *   `cumsum(ids != pad) · (ids != pad) + pad` for RoBERTa-style models (see `defaultPositionIds`).
 * So a caller either builds the graph for the inputs it has, or builds one graph with every input and fills the
 * defaults itself with the helpers below (same numbers either way).
 *
 * Outputs are named after the HF ModelOutput fields: `last_hidden_state`, `pooler_output`, `logits`,
 * `start_logits`, `end_logits`, then `hidden_states.<i>` (embedding output + one per layer) and
 * `attentions.<i>` (post-softmax probabilities) when requested. Losses are not part of the graph.
 */
import { ConfigError, InputError, WeightsError } from '../errors.js';
import { Value } from '../onnx/graph-builder.js';
import type { WeightStore } from '../weights/types.js';
import {
  checkPackedRequest,
  MODEL_TASKS,
  packedSupport,
  type Architecture,
  type GraphRequest,
  type ModelTask,
} from './architecture.js';
import {
  AttentionMask,
  ConfigReader,
  ModelGraph,
  type EncoderInputs,
  type NamedOutput,
} from './layers/index.js';
import {
  DEFAULT_INT8_EXCLUDE,
  DEFAULT_INT8_WEIGHTS,
  INT8_WEIGHT_SCHEMES,
  type Int8Settings,
  type Int8WeightScheme,
} from './layers/int8.js';
import { ATTENTION_GROUPS, groupInputNames, PackedLayout } from './packed-layout.js';
import { architectureFor } from './registry.js';

export { MODEL_TASKS, type ModelTask } from './architecture.js';

/** Which optional HF inputs become graph inputs (see the module comment for what an absent input means). */
export interface GraphInputSelection {
  attentionMask?: boolean;
  tokenTypeIds?: boolean;
  positionIds?: boolean;
}

export interface BuildModelGraphOptions {
  task: ModelTask;
  outputHiddenStates?: boolean;
  outputAttentions?: boolean;
  inputs?: GraphInputSelection;
  /**
   * Use ONNX Runtime's com.microsoft fused kernels (Attention, MultiHeadAttention, BiasGelu, FastGelu).
   * Default true. False gives a graph of standard ONNX ops only (for other runtimes, or to compare).
   */
  contribOps?: boolean;
  /**
   * Build the packed (padding-free) variant: per-token work runs on the batch's real tokens only and attention
   * per sequence (see packed-layout.ts for the layout and `PACKED_INPUT_NAMES` for the inputs). Not for Longformer,
   * and not with `outputAttentions`.
   */
  packed?: boolean;
  /**
   * Default true: when every output reads the last layer's first token only (sequence classification without
   * hidden states or attentions), the last layer computes that token alone, and its attention never projects the
   * keys and values of every position (softmax(q·Kᵀ)·V is re-associated per head, see `fewQueryAttention` in
   * layers.ts). The logits equal the full computation's up to float rounding (tested within 1e-5). False computes
   * every position of every layer, as HF's PyTorch model (and a PyTorch ONNX export) does: for benchmarks against
   * the full computation, and for tests of the shortcut. Other requests ignore it.
   */
  firstTokenOnly?: boolean;
  /**
   * 'fp32' (default) or 'int8': the large matrix products (attention projections, feed-forward, heads, MLM
   * decoders) with weights quantized per output channel at build time and activations per row when the graph
   * runs (docs/models.md, "int8"). Embeddings, LayerNorm, softmax and the attention products stay fp32.
   */
  dtype?: ModelDtype;
  /** int8 only: Linear layers kept in fp32, by checkpoint name segments (default `DEFAULT_INT8_EXCLUDE`). */
  int8Exclude?: readonly string[];
  /** int8 only: 'symmetric' or 'asymmetric' per-channel weights (default `DEFAULT_INT8_WEIGHTS`). */
  int8Weights?: Int8WeightScheme;
}

export const MODEL_DTYPES = ['fp32', 'int8'] as const;
export type ModelDtype = (typeof MODEL_DTYPES)[number];

/**
 * The inputs of a packed graph, in feed order (`token_type_ids` only for models with token types): int64
 * `input_ids`, `token_type_ids`, `position_ids` [tokens]; `attention_mask`, `pack_index` [batch, max_length];
 * per length group g `group_pack_index_g`, `group_attention_mask_g` [rows, max_length]; `unpad_index` [tokens];
 * `first_index` [batch]. src/runtime/packed.ts computes them from a padded batch.
 */
export const PACKED_INPUT_NAMES: readonly string[] = [
  'input_ids',
  'token_type_ids',
  'position_ids',
  'attention_mask',
  'pack_index',
  ...Array.from({ length: ATTENTION_GROUPS }, (_, g) => Object.values(groupInputNames(g))).flat(),
  'unpad_index',
  'first_index',
];

export interface GraphOutputInfo {
  name: string;
  /** Symbolic dims are 'batch' and 'sequence' (packed graphs: per-token outputs are [1, 'tokens', …]). */
  dims: (number | string)[];
}

export interface ModelGraphResult {
  /** A serialised ONNX ModelProto for `InferenceSession.create(bytes)`. */
  bytes: Uint8Array;
  /** In feed order; all int64 [batch, sequence]. */
  inputNames: string[];
  outputNames: string[];
  outputs: GraphOutputInfo[];
}

/** Protobuf messages are limited to 2 GiB; keep a margin for the graph structure itself. */
const MAX_GRAPH_BYTES = 2 ** 31 - 2 ** 26;

const ARCHITECTURE_SUFFIX_TASKS: [string, ModelTask][] = [
  ['ForSequenceClassification', 'sequence-classification'],
  ['ForTokenClassification', 'token-classification'],
  ['ForQuestionAnswering', 'question-answering'],
  ['ForMaskedLM', 'masked-lm'],
  ['ForMultipleChoice', 'multiple-choice'],
  ['Model', 'base'],
];

/**
 * The task of a checkpoint from `config.architectures[0]` (e.g. `BertForSequenceClassification` →
 * 'sequence-classification'); 'base' when the field is absent. Other heads (ForPreTraining, ForCausalLM, …) are a
 * ConfigError naming the field.
 */
export function taskFromConfig(config: Record<string, unknown>, file = 'config.json'): ModelTask {
  const architectures = config.architectures;
  if (architectures === undefined || architectures === null) return 'base';
  const first = Array.isArray(architectures) ? architectures[0] : undefined;
  if (typeof first !== 'string') {
    throw new ConfigError(
      `${file} architectures: expected a list of class names, got ${JSON.stringify(architectures)}`,
      {
        file,
        field: 'architectures',
      },
    );
  }
  for (const [suffix, task] of ARCHITECTURE_SUFFIX_TASKS) if (first.endsWith(suffix)) return task;
  throw new ConfigError(
    `${file} architectures: "${first}" has no supported head (supported: *Model, ${ARCHITECTURE_SUFFIX_TASKS.slice(
      0,
      -1,
    )
      .map(([s]) => `*${s}`)
      .join(', ')})`,
    { file, field: 'architectures' },
  );
}

/** The graph inputs `buildModelGraph` declares for these options (before building anything). */
export function graphInputNames(
  config: Record<string, unknown>,
  selection: GraphInputSelection = {},
): string[] {
  const reader = new ConfigReader(config);
  const arch = architectureFor(reader);
  return resolveInputs(arch, reader, selection).names;
}

function resolveInputs(
  arch: Architecture,
  config: ConfigReader,
  selection: GraphInputSelection,
): { attentionMask: boolean; tokenTypeIds: boolean; positionIds: boolean; names: string[] } {
  const modelType = config.string('model_type');
  const attentionMask = selection.attentionMask ?? true;
  const tokenTypeIds =
    selection.tokenTypeIds ?? (arch.accepts.tokenTypeIds && arch.typeVocabSize(config) > 1);
  const positionIds = selection.positionIds ?? false;
  if (tokenTypeIds && !arch.accepts.tokenTypeIds) {
    throw new InputError(`${modelType} models take no token_type_ids`, { argument: 'inputs.tokenTypeIds' });
  }
  if (positionIds && !arch.accepts.positionIds) {
    throw new InputError(`${modelType} models take no position_ids`, { argument: 'inputs.positionIds' });
  }
  const names = ['input_ids'];
  if (attentionMask) names.push('attention_mask');
  if (tokenTypeIds) names.push('token_type_ids');
  if (positionIds) names.push('position_ids');
  return { attentionMask, tokenTypeIds, positionIds, names };
}

/**
 * Builds the ONNX graph of `config` + `weights` for `options.task`. Throws ConfigError (unsupported or malformed
 * config field), WeightsError (missing or misshaped tensor, named) or InputError (an input the model cannot take).
 */
export function buildModelGraph(
  config: Record<string, unknown>,
  weights: WeightStore,
  options: BuildModelGraphOptions,
): ModelGraphResult {
  if (!(MODEL_TASKS as readonly string[]).includes(options.task)) {
    throw new InputError(`task "${String(options.task)}" is not one of ${MODEL_TASKS.join(', ')}`, {
      argument: 'task',
    });
  }
  const reader = new ConfigReader(config);
  const arch = architectureFor(reader);
  arch.checkConfig(reader);
  const selected = resolveInputs(arch, reader, options.inputs ?? {});

  const m = new ModelGraph(weights, {
    contribOps: options.contribOps ?? true,
    int8: int8Settings(options),
  });
  const g = m.g;
  const request: GraphRequest = {
    task: options.task,
    outputHiddenStates: options.outputHiddenStates ?? false,
    outputAttentions: options.outputAttentions ?? false,
    firstTokenOnly: options.firstTokenOnly ?? true,
  };
  let inputs: EncoderInputs;
  if (options.packed) {
    checkPackedRequest(
      packedSupport(arch, reader),
      reader.string('model_type'),
      request.outputAttentions,
      'outputAttentions',
    );
    inputs = packedInputs(m, selected.tokenTypeIds);
  } else {
    m.choiceInputs = options.task === 'multiple-choice';
    const ids = (name: string): Value => m.rowInput(name);
    inputs = {
      inputIds: ids('input_ids'),
      mask: new AttentionMask(m, selected.attentionMask ? ids('attention_mask') : null),
      tokenTypeIds: selected.tokenTypeIds ? ids('token_type_ids') : null,
      positionIds: selected.positionIds ? ids('position_ids') : null,
    };
  }
  let outputs = arch.build(m, reader, inputs, request);
  if (options.packed) outputs = outputs.map(packedOutputDims);
  else if (m.choiceInputs) outputs = outputs.map((output) => choiceLogits(m, output));
  for (const output of outputs) g.output(output.value, output.name, 'float32', output.dims);
  if (g.initializerBytes > MAX_GRAPH_BYTES) {
    throw new WeightsError(
      `${weights.files.join(', ')}: ${(g.initializerBytes / 2 ** 30).toFixed(2)} GiB of weights do not fit in one ONNX ` +
        'protobuf (2 GiB limit); models this large need external-data graphs, which seqbatch does not build yet',
      { file: weights.files[0] },
    );
  }
  return {
    bytes: g.toBytes(),
    inputNames: g.inputNames,
    outputNames: g.outputNames,
    outputs: outputs.map(({ name, dims }) => ({ name, dims })),
  };
}

/** The int8 settings of a build, or null for fp32; malformed options are an InputError naming them. */
export function int8Settings(options: {
  dtype?: unknown;
  int8Exclude?: unknown;
  int8Weights?: unknown;
}): Int8Settings | null {
  const { dtype, int8Exclude: exclude, int8Weights: weights } = options;
  if (dtype !== undefined && !(MODEL_DTYPES as readonly unknown[]).includes(dtype)) {
    throw new InputError(`dtype: expected one of ${MODEL_DTYPES.join(', ')}, got ${JSON.stringify(dtype)}`, {
      argument: 'dtype',
    });
  }
  if (exclude !== undefined && !(Array.isArray(exclude) && exclude.every((e) => typeof e === 'string'))) {
    throw new InputError(`int8Exclude: expected a list of layer names, got ${JSON.stringify(exclude)}`, {
      argument: 'int8Exclude',
    });
  }
  if (weights !== undefined && !(INT8_WEIGHT_SCHEMES as readonly unknown[]).includes(weights)) {
    throw new InputError(
      `int8Weights: expected one of ${INT8_WEIGHT_SCHEMES.join(', ')}, got ${JSON.stringify(weights)}`,
      { argument: 'int8Weights' },
    );
  }
  if (dtype !== 'int8') return null;
  return {
    exclude: (exclude as string[] | undefined) ?? DEFAULT_INT8_EXCLUDE,
    weights: (weights as Int8WeightScheme | undefined) ?? DEFAULT_INT8_WEIGHTS,
  };
}

/** Declares the packed graph's inputs; the architecture sees [1, T] token rows and the attention-layout mask. */
function packedInputs(m: ModelGraph, tokenTypeIds: boolean): EncoderInputs {
  const g = m.g;
  const tokens = (name: string): Value => g.input(name, 'int64', ['tokens']);
  const asRow = (v: Value): Value => g.op('Unsqueeze', [v, g.int64s([0])], {}, { name: `${v.name}_row` });
  const inputIds = asRow(tokens('input_ids'));
  const types = tokenTypeIds ? asRow(tokens('token_type_ids')) : null;
  const positions = asRow(tokens('position_ids'));
  const mask = g.input('attention_mask', 'int64', ['batch', 'max_length']);
  const packIndex = g.input('pack_index', 'int64', ['batch', 'max_length']);
  const groups = Array.from({ length: ATTENTION_GROUPS }, (_, i) => {
    const names = groupInputNames(i);
    const dims = [`group_${i}_rows`, `group_${i}_max_length`];
    return {
      packIndex: g.input(names.packIndex, 'int64', dims),
      mask: new AttentionMask(m, g.input(names.mask, 'int64', dims)),
    };
  });
  const unpadIndex = tokens('unpad_index');
  const firstIndex = g.input('first_index', 'int64', ['batch']);
  m.packed = new PackedLayout(g, packIndex, groups, unpadIndex, firstIndex);
  return { inputIds, mask: new AttentionMask(m, mask), tokenTypeIds: types, positionIds: positions };
}

/**
 * A padded multiple-choice graph's scores [batch·choices, 1] as `logits` [batch, choices] (HF's
 * `logits.view(-1, num_choices)`); hidden states and attentions stay per flattened row, as HF returns them. The
 * packed graph keeps [batch·choices, 1]: the model API reshapes it.
 */
function choiceLogits(m: ModelGraph, output: NamedOutput): NamedOutput {
  if (output.name !== 'logits') return output;
  const g = m.g;
  const batchAndChoices = g.op('Shape', [new Value('input_ids')], { start: 0, end: 2 });
  return {
    name: 'logits',
    value: g.op('Reshape', [output.value, batchAndChoices], {}, { name: 'choice_logits' }),
    dims: ['batch', 'choices'],
  };
}

/** Per-token outputs of a packed graph are [1, tokens, …]; per-sequence ones keep [batch, …]. */
function packedOutputDims(output: NamedOutput): NamedOutput {
  if (!output.dims.includes('sequence')) return output;
  return { ...output, dims: output.dims.map((d) => (d === 'batch' ? 1 : d === 'sequence' ? 'tokens' : d)) };
}

/** The token types the model takes: 0 when its forward() has no token_type_ids (DistilBERT, MPNet). */
export function tokenTypeVocabSize(config: Record<string, unknown>): number {
  const reader = new ConfigReader(config);
  const arch = architectureFor(reader);
  return arch.accepts.tokenTypeIds ? arch.typeVocabSize(reader) : 0;
}

/** Largest sequence length the model's position table allows (RoBERTa-style models lose pad+1 rows). */
export function maxSequenceLength(config: Record<string, unknown>): number {
  const reader = new ConfigReader(config);
  const arch = architectureFor(reader);
  const maxPositions = reader.size('max_position_embeddings', 512);
  const positions = arch.positions(reader);
  return positions.kind === 'arange' ? maxPositions : maxPositions - positions.padTokenId - 1;
}

/**
 * HF's default `position_ids` for a batch of `input_ids` rows (for callers that build graphs with a
 * `position_ids` input): 0..L-1, or RoBERTa's pad-aware `cumsum(ids != pad) · (ids != pad) + pad`.
 */
export function defaultPositionIds(
  config: Record<string, unknown>,
  inputIds: readonly (readonly number[])[],
): number[][] {
  const reader = new ConfigReader(config);
  const positions = architectureFor(reader).positions(reader);
  return inputIds.map((row) => {
    if (positions.kind === 'arange') return row.map((_, j) => j);
    const pad = positions.padTokenId;
    let count = 0;
    return row.map((id) => (id === pad ? pad : pad + ++count));
  });
}
