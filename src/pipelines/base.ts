/**
 * What every pipeline shares: the tokenizer and model, calls on one input, an array or a stream (results in the
 * caller's order), per-call options over the pipeline's defaults, and the statistics of the last run.
 */
import type { BatchRunStats } from '../batching/index.js';
import { InputError } from '../errors.js';
import type { PreTrainedModel } from '../models/auto.js';
import type { Tokenizer } from '../tokenizers/tokenizer.js';
import { runTask, type PipelineBatchOptions, type TaskSteps } from './runner.js';

/** How a pair task cuts a pair that is too long. */
export type PairTruncation = 'longest_first' | 'only_second';

export type PipelineTask =
  | 'text-classification'
  | 'feature-extraction'
  | 'token-classification'
  | 'question-answering'
  | 'fill-mask'
  | 'zero-shot-classification'
  | 'text-ranking'
  | 'multiple-choice';

/**
 * A call whose results depend on all its inputs together (int8 quantization with the call's own ranges): the
 * options each input runs with, and what turns all the results into the call's results.
 */
export interface WholeCall<C, O> {
  options: C;
  finish(outputs: O[]): O[];
  /** Why a stream cannot be served (the option at fault and what to pass instead). */
  streamError: InputError;
}

/** A value that is one input, not a collection of inputs (strings and plain objects). */
function isSingleInput(value: unknown): boolean {
  if (typeof value === 'string') return true;
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return false;
  return !(Symbol.iterator in value) && !(Symbol.asyncIterator in value);
}

export abstract class Pipeline<I, O, C extends object> {
  /** Statistics of the last finished (or current) run: padding ratio, batches, throughput. */
  lastRunStats: BatchRunStats | null = null;

  constructor(
    readonly task: PipelineTask,
    readonly tokenizer: Tokenizer,
    readonly model: PreTrainedModel,
    /** Options of every call; a call's own options override them. */
    readonly defaults: C & PipelineBatchOptions,
  ) {}

  /** Longest row the model takes: the tokenizer's model_max_length, capped by the position table. */
  get modelMaxLength(): number {
    return Math.min(this.tokenizer.modelMaxLength, this.model.config.maxSequenceLength);
  }

  /**
   * The truncation and length of a pair task (rerank, multiple choice), checked: `longest_first` or `only_second`,
   * and a length that leaves room for a token beside the special ones, at most the model's.
   */
  protected pairTruncation(options: { truncation?: string; maxLength?: number }): {
    truncation: PairTruncation;
    maxLength: number;
  } {
    const truncation = options.truncation ?? 'longest_first';
    if (truncation !== 'longest_first' && truncation !== 'only_second') {
      throw new InputError(
        `truncation: expected 'longest_first' or 'only_second', got ${JSON.stringify(truncation)}`,
        { argument: 'truncation' },
      );
    }
    const maxLength = options.maxLength ?? this.modelMaxLength;
    const added = this.tokenizer.numSpecialTokensToAdd(true);
    if (!Number.isSafeInteger(maxLength) || maxLength <= added || maxLength > this.modelMaxLength) {
      throw new InputError(
        `maxLength: expected an integer from ${added + 1} to the model maximum of ${this.modelMaxLength}, got ${maxLength}`,
        { argument: 'maxLength' },
      );
    }
    return { truncation, maxLength };
  }

  /** The id padding positions get (config.json pad_token_id, else the tokenizer's pad token, else 0). */
  get padId(): number {
    return this.model.config.padTokenId ?? this.tokenizer.padTokenId ?? 0;
  }

  /** Builds the task's steps for one call; throws an InputError naming a bad option before any input is read. */
  protected abstract steps(options: C): TaskSteps<I, unknown, unknown, O>;

  /** A task whose options make a call need all its results at once says how here (default: never). */
  protected wholeCall(_options: C): WholeCall<C, O> | null {
    return null;
  }

  /** One input → its result; an array → the results in order; any other iterable → an async iterable. */
  run(input: I, options?: C & PipelineBatchOptions): Promise<O>;
  run(inputs: readonly I[], options?: C & PipelineBatchOptions): Promise<O[]>;
  run(inputs: Iterable<I> | AsyncIterable<I>, options?: C & PipelineBatchOptions): AsyncGenerator<O>;
  run(
    inputs: I | readonly I[] | Iterable<I> | AsyncIterable<I>,
    options?: C & PipelineBatchOptions,
  ): Promise<O> | Promise<O[]> | AsyncGenerator<O> {
    const merged = { ...this.defaults, ...options } as C & PipelineBatchOptions;
    const single = isSingleInput(inputs);
    let whole: WholeCall<C, O> | null;
    try {
      whole = this.wholeCall(merged);
    } catch (error) {
      return Promise.reject(error) as Promise<O>;
    }
    if (single || Array.isArray(inputs)) {
      let results: AsyncGenerator<O>;
      try {
        results = this.stream(
          single ? [inputs as I] : (inputs as I[]),
          whole ? { ...merged, ...whole.options } : merged,
        );
      } catch (error) {
        return Promise.reject(error) as Promise<O>;
      }
      const all: Promise<O[]> = collect(results).then((outputs): O[] =>
        whole ? whole.finish(outputs) : outputs,
      );
      if (single) return first(all);
      return all;
    }
    if (whole) throw whole.streamError;
    if (inputs === null || typeof inputs !== 'object') {
      throw new InputError(
        `inputs: expected a string, an object, an array or an iterable, got ${String(inputs)}`,
        {
          argument: 'inputs',
        },
      );
    }
    // The stream form checks its options at call time, like the batch scheduler.
    return this.stream(inputs as Iterable<I> | AsyncIterable<I>, merged);
  }

  private stream(
    inputs: Iterable<I> | AsyncIterable<I>,
    options: C & PipelineBatchOptions,
  ): AsyncGenerator<O> {
    const steps = this.steps(options);
    const userProgress = options.onProgress;
    return runTask(inputs, steps, {
      model: this.model,
      padId: this.padId,
      batching: {
        batchSize: options.batchSize,
        maxBatchTokens: options.maxBatchTokens,
        padToMultipleOf: options.padToMultipleOf,
        oversize: options.oversize,
        sortByLength: options.sortByLength,
        // A model that runs every batch packed computes no padding, so only the number of batches costs: a
        // server's batch of 32 stays one run instead of being cut into short length-sorted ones.
        batchOverheadTokens:
          options.batchOverheadTokens ??
          (this.model.loadLayout === 'packed' ? Number.POSITIVE_INFINITY : undefined),
        windowSize: options.windowSize,
        onBatch: options.onBatch,
        signal: options.signal,
        onProgress: (stats) => {
          this.lastRunStats = stats;
          userProgress?.(stats);
        },
      },
    });
  }

  /** Frees the model's ONNX Runtime session. */
  async dispose(): Promise<void> {
    await this.model.dispose();
  }
}

async function first<O>(outputs: Promise<O[]>): Promise<O> {
  return (await outputs)[0] as O;
}

async function collect<O>(results: AsyncGenerator<O>): Promise<O[]> {
  const out: O[] = [];
  for await (const result of results) out.push(result);
  return out;
}
