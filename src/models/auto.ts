/**
 * The model API: `AutoModel*.fromPretrained(dir)` loads config.json and the safetensors weights, builds (or takes
 * from the on-disk cache) the ONNX graph for the task, and opens an ONNX Runtime session; `model.forward(batch)`
 * validates the inputs, runs the graph and returns HF-named outputs, with the loss when labels are given.
 *
 * One graph serves every call: it takes every input the architecture accepts (input_ids, attention_mask, and
 * token_type_ids / position_ids where HF's forward() takes them), and inputs the caller leaves out are filled
 * with HF's defaults here (mask of ones, type ids of zeros, HF's default positions).
 */
import { createHash, type Hash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { InputError } from '../errors.js';
import {
  toIntMatrix,
  toNumericTensor,
  validateModelInputs,
  type FlatTensorLike,
  type IntMatrix,
  type IntTensorInput,
} from '../runtime/inputs.js';
import {
  questionAnsweringLoss,
  sequenceClassificationLoss,
  tokenLoss,
} from '../runtime/losses.js';
import { OnnxSession, sessionOptions, type NamedTensor, type RuntimeOptions } from '../runtime/session.js';
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
import { loadWeights } from '../weights/load.js';
import { AutoConfig, PretrainedConfig } from './config.js';
import { defaultCacheDir, GraphCache, graphCacheKey } from './graph-cache.js';
import {
  buildModelGraph,
  defaultPositionIds,
  graphInputNames,
  inferredSequenceClassificationLoss,
  type ModelTask,
} from './index.js';

export type { ModelTask } from './index.js';

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

type BuildOptions = {
  task: ModelTask;
  outputHiddenStates: boolean;
  outputAttentions: boolean;
  inputs: { attentionMask: boolean; positionIds: boolean };
  packed?: boolean;
};

interface OpenedGraph {
  session: OnnxSession;
  fromCache: boolean;
  graphPath: string | undefined;
}

/** Integer inputs by their HF names (camelCase spellings are accepted too). */
export interface ModelInputs {
  input_ids: IntTensorInput;
  attention_mask?: IntTensorInput;
  token_type_ids?: IntTensorInput;
  position_ids?: IntTensorInput;
  /** Longformer: 1 marks tokens with global attention (default as in HF: see `defaultGlobalAttentionMask`). */
  global_attention_mask?: IntTensorInput;
  /** Class ids [batch] (or float targets for regression / multi-hot [batch, num_labels]); per-token for token tasks. */
  labels?: unknown;
  start_positions?: unknown;
  end_positions?: unknown;
}

/** What `forward` accepts: ModelInputs, a camelCase BatchEncoding-like object, or a list of Encodings. */
export type ForwardInput =
  | ModelInputs
  | {
      inputIds: IntTensorInput;
      attentionMask?: IntTensorInput;
      tokenTypeIds?: IntTensorInput;
      positionIds?: IntTensorInput;
      globalAttentionMask?: IntTensorInput;
      labels?: unknown;
      startPositions?: unknown;
      endPositions?: unknown;
    }
  | ReadonlyArray<{ ids: readonly number[]; attentionMask: readonly number[]; typeIds: readonly number[] }>;

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

const INPUT_ALIASES: Array<[keyof ModelInputs, string]> = [
  ['input_ids', 'inputIds'],
  ['attention_mask', 'attentionMask'],
  ['token_type_ids', 'tokenTypeIds'],
  ['position_ids', 'positionIds'],
  ['global_attention_mask', 'globalAttentionMask'],
  ['labels', 'labels'],
  ['start_positions', 'startPositions'],
  ['end_positions', 'endPositions'],
];

/** A tokenizer's BatchEncoding: builds int64 tensors for the fields its model takes. */
interface TensorSource {
  modelInputNames?: readonly string[];
  toTensors(dtype: 'int64', fields?: readonly string[]): Record<string, FlatTensorLike | undefined>;
}

const TOKENIZER_FIELDS = ['input_ids', 'attention_mask', 'token_type_ids'];

/**
 * The inputs under their HF names, and whether they came from a tokenizer (Encodings or a BatchEncoding). Tokenizer
 * output always carries type ids, which models without token types (DistilBERT) do not take: those are dropped
 * rather than refused.
 */
function normaliseInputs(input: ForwardInput): { inputs: ModelInputs; fromTokenizer: boolean } {
  if (Array.isArray(input)) {
    const encodings = input as ReadonlyArray<{
      ids: readonly number[];
      attentionMask: readonly number[];
      typeIds: readonly number[];
    }>;
    const inputs = {
      input_ids: encodings.map((e) => e.ids),
      attention_mask: encodings.map((e) => e.attentionMask),
      token_type_ids: encodings.map((e) => e.typeIds),
    };
    return { inputs, fromTokenizer: true };
  }
  if (input === null || typeof input !== 'object') {
    throw new InputError('forward() expects {input_ids, attention_mask?, ...}, a BatchEncoding or Encodings', {
      argument: 'inputs',
    });
  }
  const source = input as Record<string, unknown>;
  const out: Record<string, unknown> = {};
  let fromTokenizer = false;
  if (typeof (source as Partial<TensorSource>).toTensors === 'function') {
    // A BatchEncoding: one pass into int64 tensors, only for the fields its tokenizer gives a model.
    const tensorSource = source as unknown as TensorSource;
    const fields = (tensorSource.modelInputNames ?? TOKENIZER_FIELDS).filter((f) => TOKENIZER_FIELDS.includes(f));
    const tensors = tensorSource.toTensors('int64', fields.includes('input_ids') ? fields : ['input_ids', ...fields]);
    for (const [name, tensor] of Object.entries(tensors)) if (tensor) out[name] = tensor;
    fromTokenizer = true;
  }
  for (const [snake, camel] of INPUT_ALIASES) {
    if (out[snake] !== undefined) continue;
    const value = source[snake] ?? source[camel];
    if (value !== undefined && value !== null) out[snake] = value;
  }
  if (out.input_ids === undefined) {
    throw new InputError('input_ids is required', { argument: 'input_ids' });
  }
  return { inputs: out as unknown as ModelInputs, fromTokenizer };
}

let builderFingerprint: string | undefined;
/**
 * A fingerprint of the graph-building code (this folder and ../onnx, as .ts in development or .js when built),
 * part of the cache key so a changed builder never serves a stale graph.
 */
export function graphBuilderVersion(): string {
  if (builderFingerprint === undefined) {
    const here = dirname(fileURLToPath(import.meta.url));
    builderFingerprint = sourceTreeFingerprint([here, join(here, '..', 'onnx')]);
  }
  return builderFingerprint;
}

/** A short digest of the names and contents of every .ts/.js source under `dirs`, subfolders included. */
export function sourceTreeFingerprint(dirs: readonly string[]): string {
  const hash = createHash('sha256');
  for (const dir of dirs) hashSourceTree(hash, dir, '');
  return hash.digest('hex').slice(0, 16);
}

/** Hashes every .ts/.js file under `dir`, subfolders included (architectures may live in their own folders). */
function hashSourceTree(hash: Hash, dir: string, prefix: string): void {
  if (!existsSync(dir)) return;
  for (const entry of readdirSync(dir, { withFileTypes: true }).sort((a, b) => (a.name < b.name ? -1 : 1))) {
    const relative = prefix + entry.name;
    if (entry.isDirectory()) hashSourceTree(hash, join(dir, entry.name), `${relative}/`);
    else if (/\.(ts|js)$/.test(entry.name) && !entry.name.endsWith('.d.ts')) {
      hash.update(`${relative}\0`);
      hash.update(readFileSync(join(dir, entry.name)));
    }
  }
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
  static async fromPretrained(dir: string, task: ModelTask, options: FromPretrainedOptions = {}): Promise<PreTrainedModel> {
    sessionOptions(options); // validate runtime options before any expensive work
    const packed = options.packed ?? false;
    if (packed !== 'auto' && typeof packed !== 'boolean') {
      throw new InputError(`packed: expected 'auto', true or false, got ${JSON.stringify(packed)}`, { argument: 'packed' });
    }
    const config = AutoConfig.fromPretrained(dir);
    const raw = config.toJSON();
    const selection = { attentionMask: true, positionIds: acceptsPositionIds(raw) };
    const buildOptions: BuildOptions = {
      task,
      outputHiddenStates: options.outputHiddenStates ?? false,
      outputAttentions: options.outputAttentions ?? false,
      inputs: selection,
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
      throw new InputError(`packed: expected 'auto', true or false, got ${JSON.stringify(mode)}`, { argument: 'packed' });
    }
    const { inputs, fromTokenizer } = normaliseInputs(input);
    if (fromTokenizer && this.config.typeVocabSize === 0) delete inputs.token_type_ids;
    const matrices = {
      input_ids: toIntMatrix(inputs.input_ids, 'input_ids'),
      attention_mask: inputs.attention_mask === undefined ? undefined : toIntMatrix(inputs.attention_mask, 'attention_mask'),
      token_type_ids: inputs.token_type_ids === undefined ? undefined : toIntMatrix(inputs.token_type_ids, 'token_type_ids'),
      position_ids: inputs.position_ids === undefined ? undefined : toIntMatrix(inputs.position_ids, 'position_ids'),
      global_attention_mask:
        inputs.global_attention_mask === undefined
          ? undefined
          : toIntMatrix(inputs.global_attention_mask, 'global_attention_mask'),
    };
    for (const name of ['position_ids', 'global_attention_mask'] as const) {
      if (matrices[name] && !this.inputNames.includes(name)) {
        throw new InputError(`${name}: ${this.config.modelType} models take no ${name}`, { argument: name });
      }
    }
    if (matrices.global_attention_mask) {
      checkGlobalMask(matrices.global_attention_mask, matrices.input_ids);
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
      const results = await session.run(packed.feeds);
      this.packedRuns++;
      return this.collectOutputs(this.unpackResults(results, packed), inputs);
    }

    const [batch, seq] = matrices.input_ids.dims;
    const feeds: Record<string, NamedTensor> = {};
    for (const name of this.inputNames) {
      const given = matrices[name as keyof typeof matrices];
      const matrix = given ?? (name === 'position_ids' ? positions : this.defaultInput(name, matrices.input_ids));
      feeds[name] = { type: 'int64', data: matrix.data, dims: [batch, seq] };
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
        throw new InputError('start_positions: the question-answering loss needs the padded graph (use packed: false)', {
          argument: 'start_positions',
        });
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
      const opening = openGraph(this.modelDir, this.config, layoutBuild(this.buildOptions, layout), this.options).then(
        (opened) => opened.session,
      );
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
  private unpackResults(results: Record<string, NamedTensor>, packed: PackedBatch): Record<string, NamedTensor> {
    const perSequence = new Set(['pooler_output', ...(this.task === 'sequence-classification' ? ['logits'] : [])]);
    const out: Record<string, NamedTensor> = {};
    for (const [name, tensor] of Object.entries(results)) {
      if (perSequence.has(name)) out[name] = tensor;
      else out[name] = { type: 'float32', ...unpackTokens(tensor.data as Float32Array, tensor.dims, packed) };
    }
    return out;
  }

  private defaultInput(name: string, ids: IntMatrix): IntMatrix {
    const size = ids.data.length;
    switch (name) {
      case 'attention_mask':
        return { data: new BigInt64Array(size).fill(1n), dims: ids.dims };
      case 'token_type_ids':
        return { data: new BigInt64Array(size), dims: ids.dims };
      case 'position_ids': {
        const [batch, seq] = ids.dims;
        const rows = Array.from({ length: batch }, (_, b) => Array.from(ids.data.subarray(b * seq, (b + 1) * seq), Number));
        const positions = defaultPositionIds(this.config.toJSON(), rows);
        return { data: BigInt64Array.from(positions.flat(), BigInt), dims: ids.dims };
      }
      case 'global_attention_mask':
        return defaultGlobalAttentionMask(this.task, ids, this.config);
      default:
        throw new InputError(`the model graph needs an input "${name}" that seqbatch does not know how to fill`, {
          argument: name,
        });
    }
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
      throw new InputError(`start_positions/end_positions only apply to question answering, not ${this.task}`, {
        argument: 'start_positions',
      });
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
          indexed[1] === 'hidden_states' ? hidden : indexed[1] === 'attentions' ? attentions : globalAttentions;
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
        this.config.problemType === undefined ? inferredSequenceClassificationLoss(this.config.raw as Record<string, unknown>) : null;
      out.loss =
        this.task !== 'sequence-classification'
          ? tokenLoss(out.logits, labels)
          : ownRule
            ? ownRule(out.logits, labels, this.config.numLabels)
            : sequenceClassificationLoss(out.logits, labels, this.config.numLabels, this.config.problemType);
    }
    if (inputs.start_positions !== undefined && inputs.end_positions !== undefined && out.start_logits && out.end_logits) {
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

/** Whether a model of this config, loaded with these options, has a packed graph (not Longformer, not with
 * attention probabilities). */
export function hasPackedGraph(config: PretrainedConfig, options: { outputAttentions?: boolean } = {}): boolean {
  return config.modelType !== 'longformer' && !options.outputAttentions;
}

function packable(config: PretrainedConfig, build: BuildOptions): boolean {
  return hasPackedGraph(config, build);
}

function checkPackable(config: PretrainedConfig, build: BuildOptions): void {
  if (config.modelType === 'longformer') {
    throw new InputError('packed: longformer models have no packed graph (banded attention)', { argument: 'packed' });
  }
  if (build.outputAttentions) {
    throw new InputError('packed: attention probabilities are only returned by the padded graph', {
      argument: 'packed',
    });
  }
}

/** Opens the graph of `build`: from the cache when it holds it, else built from the weights (and cached). */
async function openGraph(
  dir: string,
  config: PretrainedConfig,
  buildOptions: BuildOptions,
  options: FromPretrainedOptions,
): Promise<OpenedGraph> {
  const cache = options.cacheDir === false ? undefined : new GraphCache(options.cacheDir ?? defaultCacheDir());
  let key: string | undefined;
  if (cache) {
    const weightFiles = weightFilesOf(dir);
    if (weightFiles) {
      key = await graphCacheKey(
        { configFile: config.file, weightFiles, options: buildOptions, builderVersion: graphBuilderVersion() },
        cache.fileDigests(),
      );
      const hit = await cache.get(key);
      if (hit) {
        try {
          const session = await OnnxSession.create(hit.modelPath, options, dir);
          return { session, fromCache: true, graphPath: hit.modelPath };
        } catch (error) {
          // An entry ONNX Runtime refuses (a format it no longer reads) is rebuilt and overwritten below.
          process.emitWarning(
            `seqbatch: the cached graph ${hit.modelPath} could not be opened (${(error as Error).message}); rebuilding it`,
          );
        }
      }
    }
  }

  const weights = await loadWeights(dir);
  const graph = buildModelGraph(config.toJSON(), weights, buildOptions);
  let graphPath: string | undefined;
  if (cache && key) {
    try {
      graphPath = await cache.put(key, graph.bytes, {
        inputNames: graph.inputNames,
        outputNames: graph.outputNames,
        modelDir: dir,
        options: buildOptions,
      });
    } catch (error) {
      // A read-only or full cache folder must not stop the model from loading.
      process.emitWarning(`seqbatch: could not cache the graph in ${cache.dir} (${(error as Error).message})`);
    }
  }
  // The bytes were built only to open this session: move them to the ORT thread rather than copy them.
  const session = await OnnxSession.create(graph.bytes, options, dir, { transferBytes: true });
  return { session, fromCache: false, graphPath };
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
 * token 0, question answering on every token before the first separator (the question), other heads on none.
 */
export function defaultGlobalAttentionMask(task: ModelTask, ids: IntMatrix, config: PretrainedConfig): IntMatrix {
  const [batch, seq] = ids.dims;
  const data = new BigInt64Array(batch * seq);
  if (task === 'sequence-classification') {
    for (let b = 0; b < batch; b++) data[b * seq] = 1n;
  } else if (task === 'question-answering') {
    const sep = BigInt(config.integer('sep_token_id', 2));
    for (let b = 0; b < batch; b++) {
      const row = ids.data.subarray(b * seq, (b + 1) * seq);
      const seps = row.reduce((n, id) => n + (id === sep ? 1 : 0), 0);
      if (seps !== 3) {
        // HF asserts this too: the question end is found from the separators of `<s> q </s></s> context </s>`.
        throw new InputError(
          `input_ids: row ${b} has ${seps} separator tokens (id ${sep}); Longformer question answering needs ` +
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

/** The weights files whose contents key the cache, or undefined when the folder has none we can read. */
function weightFilesOf(dir: string): string[] | undefined {
  const single = join(dir, 'model.safetensors');
  if (existsSync(single)) return [single];
  const index = join(dir, 'model.safetensors.index.json');
  if (!existsSync(index)) return undefined;
  try {
    const map = (JSON.parse(readFileSync(index, 'utf8')) as { weight_map?: Record<string, string> }).weight_map ?? {};
    const shards = [...new Set(Object.values(map))].sort().map((f) => join(dir, f));
    // The index itself decides which tensor comes from where, so it is part of the key too.
    return shards.every((f) => typeof f === 'string' && existsSync(f)) ? [index, ...shards] : undefined;
  } catch {
    return undefined; // loadWeights will report the malformed index
  }
}

/** Whether HF's forward() of this architecture takes position_ids (the builder refuses the input otherwise). */
function acceptsPositionIds(config: Record<string, unknown>): boolean {
  try {
    graphInputNames(config, { attentionMask: true, positionIds: true });
    return true;
  } catch (error) {
    if (error instanceof InputError) return false;
    throw error;
  }
}

function taskLoader(task: ModelTask) {
  return {
    task,
    fromPretrained: (dir: string, options?: FromPretrainedOptions) => PreTrainedModel.fromPretrained(dir, task, options),
  };
}

/** The bare encoder: `last_hidden_state` (+ `pooler_output` for BERT/ALBERT). */
export const AutoModel = taskLoader('base');
export const AutoModelForSequenceClassification = taskLoader('sequence-classification');
export const AutoModelForTokenClassification = taskLoader('token-classification');
export const AutoModelForQuestionAnswering = taskLoader('question-answering');
export const AutoModelForMaskedLM = taskLoader('masked-lm');

/** The graph inputs a model of this config takes in seqbatch (useful for callers building feeds by hand). */
export function modelInputNames(config: PretrainedConfig): string[] {
  return graphInputNames(config.toJSON(), { attentionMask: true, positionIds: acceptsPositionIds(config.toJSON()) });
}
