/**
 * ONNX Runtime sessions: creation from graph bytes (or a cached .onnx file) with seqbatch's thread defaults, and
 * runs with named tensors. ORT failures come back as InferenceError carrying the model folder and the input
 * shapes, so a failed batch says which model and what it was fed.
 */
import * as ort from 'onnxruntime-node';
import { InferenceError, InputError } from '../errors.js';

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
}

export const DEFAULT_INTRA_OP_THREADS = 2;
export const DEFAULT_INTER_OP_THREADS = 1;

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
  return {
    intraOpNumThreads: threads,
    interOpNumThreads: interOp,
    graphOptimizationLevel: level,
    executionMode: 'sequential',
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

export class OnnxSession {
  private constructor(
    private readonly session: ort.InferenceSession,
    /** The model folder (or other label) named in errors. */
    readonly source: string,
  ) {}

  /** Creates a session from serialised ONNX bytes or the path of an .onnx file. */
  static async create(
    model: Uint8Array | string,
    options: RuntimeOptions = {},
    source = '<memory>',
  ): Promise<OnnxSession> {
    const opts = sessionOptions(options);
    try {
      const session =
        typeof model === 'string'
          ? await ort.InferenceSession.create(model, opts)
          : await ort.InferenceSession.create(model, opts);
      return new OnnxSession(session, source);
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
    return this.session.inputNames;
  }

  get outputNames(): readonly string[] {
    return this.session.outputNames;
  }

  /** Runs the graph. Feeds must cover the graph's inputs; returns every requested output (default: all). */
  async run(feeds: Record<string, NamedTensor>, outputs?: string[]): Promise<Record<string, NamedTensor>> {
    const shapes = Object.entries(feeds)
      .map(([name, t]) => `${name} [${t.dims.join(', ')}]`)
      .join(', ');
    const missing = this.session.inputNames.filter((name) => !(name in feeds));
    if (missing.length > 0) {
      throw new InferenceError(
        `${this.source}: the graph needs inputs ${missing.join(', ')} (given: ${shapes})`,
        {
          file: this.source,
        },
      );
    }
    const ortFeeds: Record<string, ort.Tensor> = {};
    for (const name of this.session.inputNames) {
      const t = feeds[name]!;
      ortFeeds[name] = new ort.Tensor(t.type, t.data, t.dims);
    }
    let results: ort.InferenceSession.ReturnType;
    try {
      results = outputs ? await this.session.run(ortFeeds, outputs) : await this.session.run(ortFeeds);
    } catch (error) {
      throw new InferenceError(
        `${this.source}: inference failed for inputs ${shapes} (${(error as Error).message})`,
        {
          file: this.source,
          cause: error,
        },
      );
    }
    const out: Record<string, NamedTensor> = {};
    for (const [name, tensor] of Object.entries(results)) {
      if (tensor.type !== 'float32' && tensor.type !== 'int64') {
        throw new InferenceError(`${this.source}: output ${name} has unexpected type ${tensor.type}`, {
          file: this.source,
        });
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
