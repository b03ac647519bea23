/**
 * The model API: `AutoModel*.fromPretrained(dir)` loads config.json and the safetensors weights, builds (or takes
 * from the on-disk cache) the ONNX graph for the task, and opens an ONNX Runtime session; `model.forward(batch)`
 * validates the inputs, runs the graph and returns HF-named outputs, with the loss when labels are given.
 *
 * One graph serves every call: it takes every input the architecture accepts (input_ids, attention_mask, and
 * token_type_ids / position_ids where HF's forward() takes them), and inputs the caller leaves out are filled
 * with HF's defaults here (mask of ones, type ids of zeros, HF's default positions).
 */
import { InputError } from '../errors.js';
import {
  toIntMatrix,
  toNumericTensor,
  validateModelInputs,
  type IntMatrix,
  type IntTensorInput,
  type ModelInputMatrices,
} from '../runtime/inputs.js';
import { questionAnsweringLoss, sequenceClassificationLoss, tokenLoss } from '../runtime/losses.js';
import {
  sessionOptions,
  type NamedTensor,
  type OnnxSession,
  type RuntimeOptions,
} from '../runtime/session.js';
import {
  PACKED_AUTO_OPEN_PADDING,
  PACKED_AUTO_PADDING_SHARE,
  packBatch,
  packingBlocker,
  paddingShare,
  unpackTokens,
  type PackedBatch,
  type PackedMode,
} from '../runtime/packed.js';
import { FloatTensor } from '../runtime/tensor.js';
import { checkPackedRequest, packedSupport, type ModelTask, type PackedSupport } from './architecture.js';
import { AutoConfig, PretrainedConfig } from './config.js';
import { ConfigReader } from './layers/index.js';
import { graphInputNames, int8Settings, type ModelDtype } from './index.js';
import type { Int8WeightScheme } from './layers/int8.js';
import { defaultModelInput, normaliseInputs, type ForwardInput, type ModelInputs } from './model-inputs.js';
import { choiceLogitDims, flattenChoiceInputs, multipleChoiceLoss } from './multiple-choice.js';
import { openGraph, type BuildOptions } from './open-graph.js';
import { ARCHITECTURES, inferredSequenceClassificationLoss } from './registry.js';

export type { ModelTask } from './architecture.js';
export type { ForwardInput, ModelInputs } from './model-inputs.js';
export { graphBuilderVersion, sourceTreeFingerprint } from './open-graph.js';

/** Every extra input any registered architecture declares (forward() refuses one its model does not take). */
const EXTRA_INPUT_NAMES: readonly string[] = ARCHITECTURES.flatMap((a) =>
  (a.extraInputs ?? []).map((e) => e.name),
);
/** The inputs with one value per token (what multiple choice flattens from [batch, choices, sequence]). */
const PER_TOKEN_INPUTS: readonly string[] = [
  'input_ids',
  'attention_mask',
  'token_type_ids',
  'position_ids',
  ...EXTRA_INPUT_NAMES,
];

export interface FromPretrainedOptions extends RuntimeOptions {
  /** Also return `hidden_states` (embedding output + one per layer). */
  outputHiddenStates?: boolean;
  /** Also return `attentions` (post-softmax probabilities, [batch, heads, seq, seq] per layer). */
  outputAttentions?: boolean;
  /** Where built graphs are cached (default `SEQBATCH_CACHE` or `~/.cache/seqbatch`); false disables the cache. */
  cacheDir?: string | false;
  /**
   * Padding-free execution (see "Packed execution" in docs/models.md). `false` (default): the padded graph runs
   * every batch. `true`: the packed graph runs every batch (an InputError for a batch it cannot run). `'auto'`:
   * per batch, the packed graph when more than `PACKED_AUTO_PADDING_SHARE` (5%) of its positions are padding,
   * else the padded graph, as fast on well-sorted batches (docs/models.md). The padded graph opens at load; the packed
   * one (a second copy of the weights) only for a batch wasting at least `PACKED_AUTO_OPEN_PADDING` positions, so
   * a length-sorted run usually holds one session. Batches the packed graph cannot run (left padding, the QA
   * loss), and models without one (Longformer, `outputAttentions`), run padded. Padding positions of per-token
   * outputs are 0 in packed results.
   */
  packed?: PackedMode;
  /**
   * 'fp32' (default) or 'int8': the large matrix products quantized (weights per output channel at load,
   * activations per token when the graph runs; docs/models.md, "int8"). The int8 graph is cached like the fp32 one.
   */
  dtype?: ModelDtype;
  /** int8 only: Linear layers kept in fp32, by checkpoint name segments (default: `DEFAULT_INT8_EXCLUDE`). */
  int8Exclude?: readonly string[];
  /** int8 only: 'symmetric' or 'asymmetric' per-channel weights (default: `DEFAULT_INT8_WEIGHTS`). */
  int8Weights?: Int8WeightScheme;
}

/** Per-call options of `forward`. */
export interface ForwardOptions {
  /** Overrides the model's `packed` option for this batch; the other graph's session opens if it must. */
  packed?: PackedMode;
}

/**
 * The two graphs of a model: `padded` takes [batch, seq] inputs, `packed` the batch's real tokens only (see
 * "Packed execution" in docs/models.md). Each has its own ONNX Runtime session and its own copy of the weights.
 */
export type GraphLayout = 'padded' | 'packed';

export interface ModelOutput {
  loss?: number;
  logits?: FloatTensor;
  start_logits?: FloatTensor;
  end_logits?: FloatTensor;
  last_hidden_state?: FloatTensor;
  pooler_output?: FloatTensor;
  hidden_states?: FloatTensor[];
  attentions?: FloatTensor[];
  /** Longformer: attention of the global tokens, one [batch, heads, padded sequence, globals] tensor per layer. */
  global_attentions?: FloatTensor[];
}

export class PreTrainedModel {
  /**
   * Open (or opening) sessions by layout: the one of `loadLayout`, and the other only once a batch has needed it,
   * since each session holds a full copy of the weights.
   */
  private readonly sessions = new Map<GraphLayout, Promise<OnnxSession>>();
  /** The padded graph's inputs (what callers build feeds for), known even while only the packed graph is open. */
  readonly inputNames: readonly string[];
  /** The graph outputs (both layouts have the same). */
  readonly outputNames: readonly string[];
  /** How many `forward` calls ran the packed graph (see the `packed` option). */
  packedRuns = 0;

  private constructor(
    readonly config: PretrainedConfig,
    readonly task: ModelTask,
    readonly modelDir: string,
    /** The graph opened at load: packed when the `packed` option is true, else padded. */
    readonly loadLayout: GraphLayout,
    session: OnnxSession,
    /** Whether the graph opened at load came from the on-disk cache (no weights were read, no graph was built). */
    readonly loadedFromCache: boolean,
    /** Path of the cached graph opened at load, when the cache is enabled. */
    readonly graphPath: string | undefined,
    private readonly buildOptions: BuildOptions,
    private readonly options: FromPretrainedOptions,
  ) {
    this.sessions.set(loadLayout, Promise.resolve(session));
    // Longformer adds global_attention_mask inside its builder, but it never loads packed: its names come from its
    // padded session. The packable architectures take exactly the inputs graphInputNames declares.
    this.inputNames =
      loadLayout === 'padded' ? session.inputNames : graphInputNames(config.toJSON(), buildOptions.inputs);
    this.outputNames = session.outputNames;
  }

  /** Loads `dir` for `task`; the AutoModel* classes below call this with their task. */
  static async fromPretrained(
    dir: string,
    task: ModelTask,
    options: FromPretrainedOptions = {},
  ): Promise<PreTrainedModel> {
    sessionOptions(options); // validate runtime options before any expensive work
    const packed = options.packed ?? false;
    if (packed !== 'auto' && typeof packed !== 'boolean') {
      throw new InputError(`packed: expected 'auto', true or false, got ${JSON.stringify(packed)}`, {
        argument: 'packed',
      });
    }
    const int8 = int8Settings(options);
    const config = AutoConfig.fromPretrained(dir);
    const selection = { attentionMask: true, positionIds: config.architecture.accepts.positionIds };
    const buildOptions: BuildOptions = {
      task,
      outputHiddenStates: options.outputHiddenStates ?? false,
      outputAttentions: options.outputAttentions ?? false,
      inputs: selection,
      ...(int8 ? { dtype: 'int8' as const, int8Exclude: [...int8.exclude], int8Weights: int8.weights } : {}),
    };
    if (packed === true) checkPackable(config, buildOptions);
    // 'auto' starts padded: length-sorted batches, the scheduler's usual output, need nothing else.
    const layout: GraphLayout = packed === true ? 'packed' : 'padded';
    const opened = await openGraph(dir, config, layoutBuild(buildOptions, layout), options);
    return new PreTrainedModel(
      config,
      task,
      dir,
      layout,
      opened.session,
      opened.fromCache,
      opened.graphPath,
      buildOptions,
      options,
    );
  }

  get id2label(): Readonly<Record<number, string>> {
    return this.config.id2label;
  }

  /** The layouts whose sessions are open or opening: one unless batches needed both graphs. */
  get openLayouts(): GraphLayout[] {
    return [...this.sessions.keys()];
  }

  /**
   * Opens the graph of `layout` now rather than when a batch first needs it (a server does this at start, so no
   * request waits for a graph to load). Resolves false, opening nothing, when the model has no packed graph.
   */
  async openLayout(layout: GraphLayout): Promise<boolean> {
    if (layout === 'packed' && !packable(this.config, this.buildOptions)) return false;
    await this.sessionFor(layout);
    return true;
  }

  /** Runs the model on a batch. Labels (or start/end positions for QA) add `loss`. */
  async forward(input: ForwardInput, callOptions: ForwardOptions = {}): Promise<ModelOutput> {
    const mode = callOptions.packed ?? this.options.packed ?? false;
    if (mode !== 'auto' && typeof mode !== 'boolean') {
      throw new InputError(`packed: expected 'auto', true or false, got ${JSON.stringify(mode)}`, {
        argument: 'packed',
      });
    }
    const { inputs, fromTokenizer } = normaliseInputs(input);
    if (fromTokenizer && this.config.typeVocabSize === 0) delete inputs.token_type_ids;
    // Multiple choice runs batch·choices rows; from here on every per-token input is [rows, sequence].
    const choices =
      this.task === 'multiple-choice'
        ? flattenChoiceInputs(inputs as unknown as Record<string, unknown>, PER_TOKEN_INPUTS, fromTokenizer)
        : null;
    // Every per-token input is [rows, sequence] here (toIntMatrix refuses any other shape, naming the input).
    const given = inputs as unknown as Record<string, IntTensorInput | undefined>;
    const matrices = { input_ids: toIntMatrix(given.input_ids!, 'input_ids') } as ModelInputMatrices &
      Record<string, IntMatrix | undefined>;
    for (const name of PER_TOKEN_INPUTS.slice(1)) {
      const value = given[name];
      if (value !== undefined) matrices[name] = toIntMatrix(value, name);
    }
    for (const name of ['position_ids', ...EXTRA_INPUT_NAMES]) {
      if (matrices[name] && !this.inputNames.includes(name)) {
        throw new InputError(`${name}: ${this.config.modelType} models take no ${name}`, { argument: name });
      }
    }
    for (const extra of this.config.architecture.extraInputs ?? []) {
      const given = matrices[extra.name];
      if (given) extra.check(given, matrices.input_ids);
    }
    const positions = this.defaultInput('position_ids', matrices.input_ids);
    validateModelInputs(
      matrices,
      {
        vocabSize: this.config.vocabSize,
        typeVocabSize: this.config.typeVocabSize,
        maxPositionEmbeddings: this.config.maxPositionEmbeddings,
        maxSequenceLength: this.config.maxSequenceLength,
      },
      positions,
    );
    this.checkLabels(inputs);

    if (this.layoutFor(mode, matrices.attention_mask, inputs.start_positions !== undefined) === 'packed') {
      const packed = packBatch(
        matrices.input_ids,
        matrices.attention_mask ?? this.defaultInput('attention_mask', matrices.input_ids),
        matrices.position_ids ?? positions,
        this.config.typeVocabSize === 0
          ? null
          : (matrices.token_type_ids ?? this.defaultInput('token_type_ids', matrices.input_ids)),
      );
      const session = await this.sessionFor('packed');
      const results = this.unpackResults(await session.run(packed.feeds), packed);
      this.packedRuns++;
      if (choices) {
        // The packed graph scores each row; HF's logits are [batch, choices].
        const scores = results.logits!;
        results.logits = { ...scores, dims: choiceLogitDims(scores.data.length, choices) };
      }
      return this.collectOutputs(results, inputs);
    }

    const [batch, seq] = matrices.input_ids.dims;
    const feeds: Record<string, NamedTensor> = {};
    for (const name of this.inputNames) {
      const given = matrices[name];
      const matrix =
        given ?? (name === 'position_ids' ? positions : this.defaultInput(name, matrices.input_ids));
      const dims = choices ? [choices.batch, choices.choices, seq] : [batch, seq];
      feeds[name] = { type: 'int64', data: matrix.data, dims };
    }
    const results = await (await this.sessionFor('padded')).run(feeds);
    return this.collectOutputs(results, inputs);
  }

  /**
   * The graph that runs a batch. `false`: padded. `true`: packed, or an InputError saying why it cannot. `'auto'`:
   * packed when the model has a packed graph, the batch fits it and more than `PACKED_AUTO_PADDING_SHARE` of its
   * positions are padding, provided the packed session is open or the batch wastes enough
   * (`PACKED_AUTO_OPEN_PADDING`) to be worth opening it; padded otherwise.
   */
  private layoutFor(mode: PackedMode, mask: IntMatrix | undefined, qaLoss: boolean): GraphLayout {
    if (mode === false) return 'padded';
    // The QA loss is a softmax over every position, padding included, so it needs the padded graph's pad logits.
    if (mode === true) {
      checkPackable(this.config, this.buildOptions);
      if (qaLoss) {
        throw new InputError(
          'start_positions: the question-answering loss needs the padded graph (use packed: false)',
          {
            argument: 'start_positions',
          },
        );
      }
    } else if (qaLoss || !packable(this.config, this.buildOptions) || !mask) {
      return 'padded';
    }
    // Poolers and first-token heads read position 0: a row starting with padding needs the padded graph.
    const blocker = mask ? packingBlocker(mask) : null;
    if (blocker !== null) {
      if (mode === 'auto') return 'padded';
      throw new InputError(`attention_mask: cannot run packed: ${blocker}`, { argument: 'attention_mask' });
    }
    if (mode === true) return 'packed';
    const share = paddingShare(mask!);
    if (share <= PACKED_AUTO_PADDING_SHARE) return 'padded';
    if (this.sessions.has('packed')) return 'packed';
    return share * mask!.data.length >= PACKED_AUTO_OPEN_PADDING ? 'packed' : 'padded';
  }

  /** The session of `layout`: the one opened at load, or the other, built (or read from the cache) on first use. */
  private sessionFor(layout: GraphLayout): Promise<OnnxSession> {
    let session = this.sessions.get(layout);
    if (!session) {
      const opening = openGraph(
        this.modelDir,
        this.config,
        layoutBuild(this.buildOptions, layout),
        this.options,
      ).then((opened) => opened.session);
      // A failed open is not remembered: the next batch that needs this graph tries again.
      opening.catch(() => {
        if (this.sessions.get(layout) === opening) this.sessions.delete(layout);
      });
      this.sessions.set(layout, opening);
      session = opening;
    }
    return session;
  }

  /** Per-token outputs of a packed run back in the padded [batch, seq, …] layout. */
  private unpackResults(
    results: Record<string, NamedTensor>,
    packed: PackedBatch,
  ): Record<string, NamedTensor> {
    const perSequence = new Set([
      'pooler_output',
      ...(this.task === 'sequence-classification' || this.task === 'multiple-choice' ? ['logits'] : []),
    ]);
    const out: Record<string, NamedTensor> = {};
    for (const [name, tensor] of Object.entries(results)) {
      if (perSequence.has(name)) out[name] = tensor;
      else out[name] = { type: 'float32', ...unpackTokens(tensor.data as Float32Array, tensor.dims, packed) };
    }
    return out;
  }

  private defaultInput(name: string, ids: IntMatrix): IntMatrix {
    return defaultModelInput(name, ids, this.config, this.task);
  }

  private checkLabels(inputs: ModelInputs): void {
    const hasLabels = inputs.labels !== undefined;
    const hasPositions = inputs.start_positions !== undefined || inputs.end_positions !== undefined;
    if (this.task === 'question-answering') {
      if (hasLabels) {
        throw new InputError('labels: question answering takes start_positions and end_positions instead', {
          argument: 'labels',
        });
      }
      if (hasPositions && (inputs.start_positions === undefined || inputs.end_positions === undefined)) {
        throw new InputError('start_positions and end_positions must be given together', {
          argument: inputs.start_positions === undefined ? 'start_positions' : 'end_positions',
        });
      }
      return;
    }
    if (hasPositions) {
      throw new InputError(
        `start_positions/end_positions only apply to question answering, not ${this.task}`,
        {
          argument: 'start_positions',
        },
      );
    }
    if (hasLabels && this.task === 'base') {
      throw new InputError('labels: a base model has no head to compute a loss; load it for a task', {
        argument: 'labels',
      });
    }
  }

  private collectOutputs(results: Record<string, NamedTensor>, inputs: ModelInputs): ModelOutput {
    const out: ModelOutput = {};
    const hidden: FloatTensor[] = [];
    const attentions: FloatTensor[] = [];
    const globalAttentions: FloatTensor[] = [];
    for (const [name, tensor] of Object.entries(results)) {
      const value = new FloatTensor(tensor.data as Float32Array, tensor.dims);
      const indexed = /^(hidden_states|attentions|global_attentions)\.(\d+)$/.exec(name);
      if (indexed) {
        const list =
          indexed[1] === 'hidden_states'
            ? hidden
            : indexed[1] === 'attentions'
              ? attentions
              : globalAttentions;
        list[Number(indexed[2])] = value;
      } else if (
        name === 'logits' ||
        name === 'start_logits' ||
        name === 'end_logits' ||
        name === 'last_hidden_state' ||
        name === 'pooler_output'
      ) {
        out[name] = value;
      }
    }
    if (hidden.length > 0) out.hidden_states = hidden;
    if (attentions.length > 0) out.attentions = attentions;
    if (globalAttentions.length > 0) out.global_attentions = globalAttentions;

    if (inputs.labels !== undefined && out.logits) {
      const labels = toNumericTensor(inputs.labels, 'labels');
      const ownRule =
        this.config.problemType === undefined
          ? inferredSequenceClassificationLoss(this.config.raw as Record<string, unknown>)
          : null;
      out.loss =
        this.task === 'multiple-choice'
          ? multipleChoiceLoss(out.logits, labels)
          : this.task !== 'sequence-classification'
            ? tokenLoss(out.logits, labels)
            : ownRule
              ? ownRule(out.logits, labels, this.config.numLabels)
              : sequenceClassificationLoss(
                  out.logits,
                  labels,
                  this.config.numLabels,
                  this.config.problemType,
                );
    }
    if (
      inputs.start_positions !== undefined &&
      inputs.end_positions !== undefined &&
      out.start_logits &&
      out.end_logits
    ) {
      out.loss = questionAnsweringLoss(
        out.start_logits,
        out.end_logits,
        toNumericTensor(inputs.start_positions, 'start_positions'),
        toNumericTensor(inputs.end_positions, 'end_positions'),
      );
    }
    return out;
  }

  /** Frees the ONNX Runtime session(s). */
  async dispose(): Promise<void> {
    const opened = await Promise.allSettled(this.sessions.values());
    this.sessions.clear();
    for (const result of opened) if (result.status === 'fulfilled') await result.value.release();
  }
}

/** The build options of a layout's graph (the padded build is the model's own, so its cache key is unchanged). */
function layoutBuild(build: BuildOptions, layout: GraphLayout): BuildOptions {
  return layout === 'packed' ? { ...build, packed: true } : build;
}

/** Whether a model of this config, loaded with these options, has a packed graph (its architecture has one, and
 * attention probabilities are not requested). */
export function hasPackedGraph(
  config: PretrainedConfig,
  options: { outputAttentions?: boolean } = {},
): boolean {
  return packedSupportOf(config).supported && !options.outputAttentions;
}

/** Per config: forward() asks for every batch, and the answer depends only on config.json. */
const packedSupportByConfig = new WeakMap<PretrainedConfig, PackedSupport>();

function packedSupportOf(config: PretrainedConfig): PackedSupport {
  let support = packedSupportByConfig.get(config);
  if (!support) {
    support = packedSupport(config.architecture, new ConfigReader(config.toJSON(), config.file));
    packedSupportByConfig.set(config, support);
  }
  return support;
}

function packable(config: PretrainedConfig, build: BuildOptions): boolean {
  return hasPackedGraph(config, build);
}

function checkPackable(config: PretrainedConfig, build: BuildOptions): void {
  checkPackedRequest(packedSupportOf(config), config.modelType, build.outputAttentions ?? false, 'packed');
}

function taskLoader(task: ModelTask) {
  return {
    task,
    fromPretrained: (dir: string, options?: FromPretrainedOptions) =>
      PreTrainedModel.fromPretrained(dir, task, options),
  };
}

/** The bare encoder: `last_hidden_state` (+ `pooler_output` for BERT/ALBERT). */
export const AutoModel = taskLoader('base');
export const AutoModelForSequenceClassification = taskLoader('sequence-classification');
export const AutoModelForTokenClassification = taskLoader('token-classification');
export const AutoModelForQuestionAnswering = taskLoader('question-answering');
export const AutoModelForMaskedLM = taskLoader('masked-lm');
/** Inputs [batch, choices, sequence]; `logits` [batch, choices]; labels [batch] (the right choice) add the loss. */
export const AutoModelForMultipleChoice = taskLoader('multiple-choice');

/** The graph inputs a model of this config takes in seqbatch (useful for callers building feeds by hand). */
export function modelInputNames(config: PretrainedConfig): string[] {
  return graphInputNames(config.toJSON(), {
    attentionMask: true,
    positionIds: config.architecture.accepts.positionIds,
  });
}
