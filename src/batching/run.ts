/**
 * The runner: reads items (an array or a possibly endless async stream) a window at a time, plans length-sorted
 * batches inside the window, calls the caller's `runBatch` with bounded concurrency and hands results back in
 * input order. Generic over items and results: it knows nothing of tokenizers or models.
 *
 * Memory stays bounded by one window (plus the batches in flight): the next window is read only once every
 * result of the current one has been taken by the consumer, and nothing runs while the consumer is not pulling.
 */
import { InputError } from '../errors.js';
import { BatchError, describeIndices } from './errors.js';
import {
  count,
  DEFAULT_CONCURRENCY,
  DEFAULT_WINDOW_SIZE,
  describe,
  resolvePlanOptions,
  type PlanOptions,
  type ResolvedPlanOptions,
} from './options.js';
import { checkLength, planWindow, type PlannedBatch } from './plan.js';
import { BatchRunStatsAccumulator, type BatchRunStats } from './stats.js';

/** What `runBatch` learns about the batch it runs. */
export interface BatchInfo {
  /** Input positions (0-based, across the whole input) of the batch's items, ascending. */
  indices: readonly number[];
  /** Length to pad every row to: the longest item's length rounded up to `padToMultipleOf`. */
  paddedLength: number;
  /** Σ item lengths. */
  realTokens: number;
  /** 0-based number of the batch in dispatch order. */
  batchNumber: number;
  /** Aborted when the run stops early (the consumer stopped, or another batch failed). */
  signal: AbortSignal;
}

/** Reported to `onBatch` when a batch has finished. */
export interface BatchEvent {
  indices: readonly number[];
  paddedLength: number;
  realTokens: number;
  batchNumber: number;
  /** rows × paddedLength. */
  paddedTokens: number;
  /** Time `runBatch` took for this batch, in milliseconds. */
  durationMs: number;
  /** Totals so far, this batch included. */
  stats: BatchRunStats;
}

export interface RunBatchedOptions<T, R> extends PlanOptions {
  /** Length of an item in tokens (a non-negative integer); called once per item when its window is read. */
  lengthOf: (item: T, index: number) => number;
  /** Runs one batch; must return exactly one result per item, in the order of `items`. */
  runBatch: (items: T[], info: BatchInfo) => Promise<ArrayLike<R>> | ArrayLike<R>;
  /**
   * Items read, sorted and batched together. Larger windows sort better but hold more items and results.
   * Default {@link DEFAULT_WINDOW_SIZE}, arrays included: a few thousand items already sort as well as a whole
   * array would, and planning time stays bounded.
   */
  windowSize?: number;
  /** Batches running at once. Default 1: the model already uses every core. */
  concurrency?: number;
  /** Called after each batch finishes. */
  onBatch?: (event: BatchEvent) => void;
  /** Called after each batch and once more at the end with `done: true`, e.g. to drive a progress bar. */
  onProgress?: (stats: BatchRunStats) => void;
  /**
   * Cancels the run: no further item is read or batch dispatched, batches in flight see their `info.signal`
   * abort and are awaited, and the run rejects with the signal's reason.
   */
  signal?: AbortSignal;
}

interface ResolvedRunOptions<T, R> {
  plan: ResolvedPlanOptions;
  lengthOf: RunBatchedOptions<T, R>['lengthOf'];
  runBatch: RunBatchedOptions<T, R>['runBatch'];
  windowSize: number;
  concurrency: number;
  onBatch?: RunBatchedOptions<T, R>['onBatch'];
  onProgress?: RunBatchedOptions<T, R>['onProgress'];
  signal?: AbortSignal;
}

/**
 * Runs `items` through `runBatch` in length-sorted batches. An array gives a promise of the results in input
 * order; any other (async) iterable gives an async iterable of results in input order, read window by window
 * with backpressure. A failed batch rejects with a {@link BatchError} naming its items' input positions.
 */
export function runBatched<T, R>(items: readonly T[], options: RunBatchedOptions<T, R>): Promise<R[]>;
export function runBatched<T, R>(
  items: Iterable<T> | AsyncIterable<T>,
  options: RunBatchedOptions<T, R>,
): AsyncGenerator<R, void, undefined>;
export function runBatched<T, R>(
  items: Iterable<T> | AsyncIterable<T>,
  options: RunBatchedOptions<T, R>,
): Promise<R[]> | AsyncGenerator<R, void, undefined> {
  if (Array.isArray(items)) return collect(items as readonly T[], options);
  return streamBatched(items, options);
}

/**
 * Like {@link runBatched} but always streams, arrays included. Options are checked at call time (an InputError
 * naming the option is thrown before anything is read).
 */
export function streamBatched<T, R>(
  items: Iterable<T> | AsyncIterable<T>,
  options: RunBatchedOptions<T, R>,
): AsyncGenerator<R, void, undefined> {
  return schedule(openSource(items), resolveRunOptions(options));
}

async function collect<T, R>(items: readonly T[], options: RunBatchedOptions<T, R>): Promise<R[]> {
  const results: R[] = [];
  for await (const result of streamBatched(items, options)) results.push(result);
  return results;
}

function resolveRunOptions<T, R>(options: RunBatchedOptions<T, R>): ResolvedRunOptions<T, R> {
  if (options === null || typeof options !== 'object') {
    throw new InputError(`options: expected an object with lengthOf and runBatch, got ${describe(options)}`, {
      argument: 'options',
    });
  }
  for (const name of ['lengthOf', 'runBatch'] as const) {
    if (typeof options[name] !== 'function') {
      throw new InputError(`${name}: expected a function, got ${describe(options[name])}`, {
        argument: name,
      });
    }
  }
  for (const name of ['onBatch', 'onProgress'] as const) {
    if (options[name] !== undefined && typeof options[name] !== 'function') {
      throw new InputError(`${name}: expected a function, got ${describe(options[name])}`, {
        argument: name,
      });
    }
  }
  if (options.signal !== undefined && !(options.signal instanceof AbortSignal)) {
    throw new InputError(`signal: expected an AbortSignal, got ${describe(options.signal)}`, {
      argument: 'signal',
    });
  }
  return {
    plan: resolvePlanOptions(options),
    lengthOf: options.lengthOf,
    runBatch: options.runBatch,
    windowSize: count(options.windowSize, 'windowSize', DEFAULT_WINDOW_SIZE),
    concurrency: count(options.concurrency, 'concurrency', DEFAULT_CONCURRENCY),
    onBatch: options.onBatch,
    onProgress: options.onProgress,
    signal: options.signal,
  };
}

/** A sync or async iterator read one item at a time, without awaiting sync sources item by item. */
interface Source<T> {
  iterator: Iterator<T> | AsyncIterator<T>;
  isAsync: boolean;
}

function openSource<T>(items: Iterable<T> | AsyncIterable<T>): Source<T> {
  if (items !== null && typeof items === 'object') {
    const asyncIterable = items as AsyncIterable<T>;
    if (typeof asyncIterable[Symbol.asyncIterator] === 'function') {
      return { iterator: asyncIterable[Symbol.asyncIterator](), isAsync: true };
    }
    const iterable = items as Iterable<T>;
    if (typeof iterable[Symbol.iterator] === 'function') {
      return { iterator: iterable[Symbol.iterator](), isAsync: false };
    }
  }
  throw new InputError(`items: expected an array, an iterable or an async iterable, got ${describe(items)}`, {
    argument: 'items',
  });
}

interface Window<T> {
  /** Items not yet handed to `runBatch`; slots are cleared on dispatch so memory is released early. */
  items: (T | undefined)[];
  lengths: number[];
  /** True when the source reported its end while this window was read. */
  ended: boolean;
}

async function readWindow<T, R>(
  source: Source<T>,
  options: ResolvedRunOptions<T, R>,
  firstIndex: number,
): Promise<Window<T>> {
  const items: T[] = [];
  const lengths: number[] = [];
  while (items.length < options.windowSize) {
    const next = source.isAsync
      ? await source.iterator.next()
      : (source.iterator.next() as IteratorResult<T>);
    if (next.done) return { items, lengths, ended: true };
    const index = firstIndex + items.length;
    const length = options.lengthOf(next.value, index);
    checkLength(length, index, 'lengthOf');
    items.push(next.value);
    lengths.push(length);
  }
  return { items, lengths, ended: false };
}

async function* schedule<T, R>(
  source: Source<T>,
  options: ResolvedRunOptions<T, R>,
): AsyncGenerator<R, void, undefined> {
  const stats = new BatchRunStatsAccumulator();
  const abort = new AbortController();
  const inFlight = new Set<Promise<void>>();
  let failure: { error: unknown } | undefined;
  let ended = false;
  let windowStart = 0;
  let batchNumber = 0;
  const cancel = options.signal;
  const forwardCancel = () => abort.abort(cancel?.reason);
  cancel?.addEventListener('abort', forwardCancel, { once: true });

  try {
    while (!ended) {
      cancel?.throwIfAborted();
      const window = await readWindow(source, options, windowStart);
      ended = window.ended;
      const size = window.items.length;
      if (size === 0) break;
      const base = windowStart;
      const results = new Array<R | undefined>(size);
      const ready = new Uint8Array(size);
      // Dispatching in order of each batch's first item lets the in-order output start as early as possible.
      const plan = planWindow(window.lengths, options.plan, base).sort(
        (a, b) => a.indices[0]! - b.indices[0]!,
      );

      const launch = (batch: PlannedBatch): void => {
        const batchItems = batch.indices.map((i) => window.items[i] as T);
        for (const i of batch.indices) window.items[i] = undefined;
        const info: BatchInfo = {
          indices: batch.indices.map((i) => base + i),
          paddedLength: batch.paddedLength,
          realTokens: batch.realTokens,
          batchNumber: batchNumber++,
          signal: abort.signal,
        };
        const task: Promise<void> = runOne(batchItems, info, options)
          .then(({ output, durationMs }) => {
            batch.indices.forEach((i, k) => {
              results[i] = output[k];
              ready[i] = 1;
            });
            stats.addBatch(batchItems.length, info.paddedLength, info.realTokens, durationMs);
            if (options.onBatch === undefined && options.onProgress === undefined) return;
            const snapshot = stats.snapshot();
            options.onBatch?.({
              indices: info.indices,
              paddedLength: info.paddedLength,
              realTokens: info.realTokens,
              batchNumber: info.batchNumber,
              paddedTokens: batchItems.length * info.paddedLength,
              durationMs,
              stats: snapshot,
            });
            options.onProgress?.(snapshot);
          })
          .catch((error: unknown) => {
            failure ??= { error };
            abort.abort(error);
          })
          .finally(() => inFlight.delete(task));
        inFlight.add(task);
      };

      let nextBatch = 0;
      let emitted = 0;
      while (emitted < size) {
        // Cancellation wins over a batch failure it may have caused (a runBatch that rejects on abort).
        cancel?.throwIfAborted();
        if (failure !== undefined) throw failure.error;
        while (failure === undefined && inFlight.size < options.concurrency && nextBatch < plan.length) {
          launch(plan[nextBatch++]!);
        }
        if (ready[emitted] === 1) {
          const result = results[emitted] as R;
          results[emitted] = undefined;
          emitted++;
          yield result;
          continue;
        }
        await Promise.race(inFlight);
      }
      windowStart += size;
    }
    options.onProgress?.(stats.snapshot(true));
  } finally {
    // Reached on completion, on failure and when the consumer stops early (return() on this generator).
    cancel?.removeEventListener('abort', forwardCancel);
    abort.abort();
    if (inFlight.size > 0) await Promise.all(inFlight);
    if (!ended) await source.iterator.return?.();
  }
}

async function runOne<T, R>(
  items: T[],
  info: BatchInfo,
  options: ResolvedRunOptions<T, R>,
): Promise<{ output: ArrayLike<R>; durationMs: number }> {
  const started = performance.now();
  let output: ArrayLike<R>;
  try {
    output = await options.runBatch(items, info);
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    throw new BatchError(
      `runBatch failed on batch ${info.batchNumber} (items ${describeIndices(info.indices)}): ${reason}`,
      info.indices,
      error,
    );
  }
  const durationMs = performance.now() - started;
  const got = output === null || output === undefined ? undefined : (output as { length?: unknown }).length;
  if (got !== items.length) {
    const what = typeof got === 'number' ? `${got} results` : describe(output);
    throw new BatchError(
      `runBatch returned ${what} for batch ${info.batchNumber} of ${items.length} items ` +
        `(items ${describeIndices(info.indices)}); it must return one result per item, in order`,
      info.indices,
    );
  }
  return { output, durationMs };
}
