/**
 * ONNX Runtime sessions: creation from graph bytes (or a cached .onnx file) with seqbatch's thread defaults, and
 * runs with named tensors. ORT failures come back as InferenceError carrying the model folder and the input
 * shapes, so a failed batch says which model and what it was fed.
 *
 * By default a session lives on the process's ORT worker thread (ort-thread.ts), because onnxruntime-node runs
 * synchronously: on the main thread every batch would freeze the event loop (a server stops reading requests, a
 * progress bar stops moving). `runOn: 'main'` keeps the old in-thread behaviour.
 */
import type * as ort from 'onnxruntime-node';
import { InferenceError, InputError } from '../errors.js';
import { OrtThread } from './ort-thread.js';
import type { WireTensor } from './ort-protocol.js';

export type GraphOptimizationLevel = 'disabled' | 'basic' | 'extended' | 'all';
export const GRAPH_OPTIMIZATION_LEVELS: readonly GraphOptimizationLevel[] = [
  'disabled',
  'basic',
  'extended',
  'all',
];

export interface RuntimeOptions {
  /** Intra-op threads (one operator split across cores). Default 2. */
  threads?: number;
  /** Inter-op threads (independent operators in parallel). Default 1: encoder graphs are a chain. */
  interOpThreads?: number;
  /** ORT graph optimisation level. Default 'all'. */
  graphOptimizationLevel?: GraphOptimizationLevel;
  /**
   * Where ONNX Runtime runs: 'worker' (default), the process's ORT worker thread, so the event loop stays free
   * while a batch computes; 'own-worker', a worker thread for this session alone, so its runs can overlap other
   * sessions' (model replicas in the server); 'main', the calling thread (each run then blocks it for the batch's
   * duration).
   */
  runOn?: RunOn;
  /**
   * Profile every run: ONNX Runtime writes a Chrome-trace JSON with each operator's kernel time to
   * `<profileFilePrefix>_<date>_<time>.json`, one file per session, complete once the session is released
   * (`dispose()`). For finding where a graph spends its time (`bench/ort-profile.ts` summarises the files).
   */
  profileFilePrefix?: string;
}

export type RunOn = 'worker' | 'own-worker' | 'main';
export const RUN_ON: readonly RunOn[] = ['worker', 'own-worker', 'main'];

export const DEFAULT_INTRA_OP_THREADS = 2;
export const DEFAULT_INTER_OP_THREADS = 1;

/**
 * ORT graph rewrites seqbatch turns off. SkipLayerNormFusion folds a residual Add + LayerNormalization into the
 * com.microsoft SkipLayerNormalization kernel, which on CPU (ORT 1.30) measured about 4× slower than the pair it
 * replaces: 5.4% of the packed DistilBERT-base graph's kernel time against 1.2% unfused (docs/models.md). The
 * padded graphs' residual blocks escape the fusion by their shape; packed ones ([1, tokens, hidden]) do not.
 */
export const DISABLED_ORT_OPTIMIZERS: readonly string[] = ['SkipLayerNormFusion'];

/** What a session is fed and returns: a flat typed array in row-major order with its dims. */
export interface NamedTensor {
  type: 'int64' | 'float32';
  data: BigInt64Array | Float32Array;
  dims: number[];
}

/** The session options ORT receives, after validating ours (InputError naming the bad option). */
export function sessionOptions(options: RuntimeOptions = {}): ort.InferenceSession.SessionOptions {
  const threads = positiveInteger(options.threads, DEFAULT_INTRA_OP_THREADS, 'threads');
  const interOp = positiveInteger(options.interOpThreads, DEFAULT_INTER_OP_THREADS, 'interOpThreads');
  const level = options.graphOptimizationLevel ?? 'all';
  if (!GRAPH_OPTIMIZATION_LEVELS.includes(level)) {
    throw new InputError(
      `graphOptimizationLevel must be one of ${GRAPH_OPTIMIZATION_LEVELS.join(', ')}, got ${JSON.stringify(level)}`,
      { argument: 'graphOptimizationLevel' },
    );
  }
  if (
    options.profileFilePrefix !== undefined &&
    (typeof options.profileFilePrefix !== 'string' || options.profileFilePrefix === '')
  ) {
    throw new InputError(
      `profileFilePrefix must be a non-empty path prefix, got ${JSON.stringify(options.profileFilePrefix)}`,
      { argument: 'profileFilePrefix' },
    );
  }
  if (options.runOn !== undefined && !RUN_ON.includes(options.runOn)) {
    throw new InputError(`runOn must be one of ${RUN_ON.join(', ')}, got ${JSON.stringify(options.runOn)}`, {
      argument: 'runOn',
    });
  }
  return {
    intraOpNumThreads: threads,
    interOpNumThreads: interOp,
    graphOptimizationLevel: level,
    executionMode: 'sequential',
    ...(options.profileFilePrefix === undefined
      ? {}
      : { enableProfiling: true, profileFilePrefix: options.profileFilePrefix }),
    // Session config entry "optimization.disable_specified_optimizers" (a comma-separated list).
    extra: { optimization: { disable_specified_optimizers: DISABLED_ORT_OPTIMIZERS.join(',') } },
  };
}

function positiveInteger(value: number | undefined, fallback: number, argument: string): number {
  if (value === undefined) return fallback;
  if (!Number.isSafeInteger(value) || value < 1) {
    throw new InputError(`${argument} must be a positive integer, got ${JSON.stringify(value)}`, {
      argument,
    });
  }
  return value;
}

/** What runs a session: ORT in this thread, or a session held by the ORT worker thread. */
interface SessionBackend {
  readonly inputNames: readonly string[];
  readonly outputNames: readonly string[];
  run(feeds: Record<string, WireTensor>, outputs?: string[]): Promise<Record<string, NamedTensor>>;
  release(): Promise<void>;
}

export interface CreateSessionOptions {
  /**
   * Move `model`'s bytes to the worker thread instead of copying them (the array is detached afterwards). For a
   * caller that built the graph only to open it; saves one copy of the weights.
   */
  transferBytes?: boolean;
}

export class OnnxSession {
  private constructor(
    private readonly backend: SessionBackend,
    /** The model folder (or other label) named in errors. */
    readonly source: string,
  ) {}

  /** Creates a session from serialised ONNX bytes or the path of an .onnx file. */
  static async create(
    model: Uint8Array | string,
    options: RuntimeOptions = {},
    source = '<memory>',
    createOptions: CreateSessionOptions = {},
  ): Promise<OnnxSession> {
    const opts = sessionOptions(options);
    try {
      const runOn = options.runOn ?? 'worker';
      const backend =
        runOn === 'main'
          ? await MainThreadBackend.open(model, opts)
          : await WorkerBackend.open(
              model,
              opts,
              createOptions.transferBytes ?? false,
              runOn === 'own-worker',
            );
      return new OnnxSession(backend, source);
    } catch (error) {
      throw new InferenceError(
        `${source}: ONNX Runtime could not load the model graph (${(error as Error).message})`,
        {
          file: source,
          cause: error,
        },
      );
    }
  }

  get inputNames(): readonly string[] {
    return this.backend.inputNames;
  }

  get outputNames(): readonly string[] {
    return this.backend.outputNames;
  }

  /** Runs the graph. Feeds must cover the graph's inputs; returns every requested output (default: all). */
  async run(feeds: Record<string, NamedTensor>, outputs?: string[]): Promise<Record<string, NamedTensor>> {
    const shapes = Object.entries(feeds)
      .map(([name, t]) => `${name} [${t.dims.join(', ')}]`)
      .join(', ');
    const missing = this.backend.inputNames.filter((name) => !(name in feeds));
    if (missing.length > 0) {
      throw new InferenceError(
        `${this.source}: the graph needs inputs ${missing.join(', ')} (given: ${shapes})`,
        {
          file: this.source,
        },
      );
    }
    const graphFeeds: Record<string, WireTensor> = {};
    for (const name of this.backend.inputNames) graphFeeds[name] = feeds[name]! as WireTensor;
    try {
      return await this.backend.run(graphFeeds, outputs);
    } catch (error) {
      throw new InferenceError(
        `${this.source}: inference failed for inputs ${shapes} (${(error as Error).message})`,
        {
          file: this.source,
          cause: error,
        },
      );
    }
  }

  async release(): Promise<void> {
    await this.backend.release();
  }
}

class WorkerBackend implements SessionBackend {
  private constructor(
    private readonly thread: OrtThread,
    /** The thread was started for this session alone and stops with it. */
    private readonly ownThread: boolean,
    private readonly sessionId: number,
    readonly inputNames: readonly string[],
    readonly outputNames: readonly string[],
  ) {}

  static async open(
    model: Uint8Array | string,
    options: ort.InferenceSession.SessionOptions,
    transferBytes: boolean,
    ownThread: boolean,
  ): Promise<WorkerBackend> {
    const thread = ownThread ? OrtThread.dedicated() : OrtThread.shared();
    try {
      const opened = await thread.open(model, options, transferBytes);
      return new WorkerBackend(thread, ownThread, opened.sessionId, opened.inputNames, opened.outputNames);
    } catch (error) {
      if (ownThread) await thread.terminate();
      throw error;
    }
  }

  async run(feeds: Record<string, WireTensor>, outputs?: string[]): Promise<Record<string, NamedTensor>> {
    return (await this.thread.request({ kind: 'run', sessionId: this.sessionId, feeds, outputs })) as Record<
      string,
      NamedTensor
    >;
  }

  async release(): Promise<void> {
    // A stopped thread took its sessions with it: nothing is left to free.
    if (!this.thread.alive) return;
    await this.thread.request({ kind: 'release', sessionId: this.sessionId });
    if (this.ownThread) await this.thread.terminate();
  }
}

class MainThreadBackend implements SessionBackend {
  private constructor(
    private readonly runtime: typeof ort,
    private readonly session: ort.InferenceSession,
  ) {}

  static async open(
    model: Uint8Array | string,
    options: ort.InferenceSession.SessionOptions,
  ): Promise<MainThreadBackend> {
    // Loaded on demand: with the default worker backend the main thread never needs the native addon.
    const runtime = await import('onnxruntime-node');
    const session =
      typeof model === 'string'
        ? await runtime.InferenceSession.create(model, options)
        : await runtime.InferenceSession.create(model, options);
    return new MainThreadBackend(runtime, session);
  }

  get inputNames(): readonly string[] {
    return this.session.inputNames;
  }

  get outputNames(): readonly string[] {
    return this.session.outputNames;
  }

  async run(feeds: Record<string, WireTensor>, outputs?: string[]): Promise<Record<string, NamedTensor>> {
    const ortFeeds: Record<string, ort.Tensor> = {};
    for (const [name, t] of Object.entries(feeds))
      ortFeeds[name] = new this.runtime.Tensor(t.type, t.data, t.dims);
    const results = outputs ? await this.session.run(ortFeeds, outputs) : await this.session.run(ortFeeds);
    const out: Record<string, NamedTensor> = {};
    for (const [name, tensor] of Object.entries(results)) {
      if (tensor.type !== 'float32' && tensor.type !== 'int64') {
        throw new Error(`output ${name} has unexpected type ${tensor.type}`);
      }
      out[name] = {
        type: tensor.type,
        data: tensor.data as Float32Array | BigInt64Array,
        dims: [...tensor.dims],
      };
    }
    return out;
  }

  async release(): Promise<void> {
    await this.session.release();
  }
}
