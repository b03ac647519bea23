/**
 * The job runner every pipeline shares. Each input is prepared into zero or more model rows (a text, its
 * sliding windows, its question/context windows, its premise/hypothesis pairs); all rows of all inputs go
 * through the length-sorted batch scheduler together; each input is finished as soon as its last row is back,
 * and results come out in the caller's order. Memory stays bounded by the scheduler's window.
 */
import type { ModelOutput, PreTrainedModel } from '../models/auto.js';
import { streamBatched, type BatchEvent, type BatchRunStats, type PlanOptions } from '../batching/index.js';
import { checkFiniteOutputs } from './finite-outputs.js';
import { runModelBatch, type ModelRow } from './model-batch.js';

/** How inputs are scheduled: the batching knobs of `src/batching/` (see docs/batching.md). */
export interface PipelineBatchOptions extends PlanOptions {
  /** Rows read, sorted and batched together (default: the scheduler's window). */
  windowSize?: number;
  /** Called after each batch. */
  onBatch?: (event: BatchEvent) => void;
  /** Called after each batch and once at the end (`done: true`). */
  onProgress?: (stats: BatchRunStats) => void;
  /** Cancels the run. */
  signal?: AbortSignal;
}

/**
 * What a task does with one input: its rows, and what it needs to finish it. The rows may be lazy (the windows of
 * a very long text): they are read as the scheduler takes them.
 */
export interface PreparedInput<S> {
  rows: Iterable<ModelRow>;
  state: S;
}

/**
 * The steps of a task. `extract` must copy what it keeps (the batch's buffers are not kept alive). With `absorb`,
 * each row's output is handed to it as it arrives, in row order, and `finish` receives no outputs: an input of
 * thousands of windows then keeps a running combination instead of every window's output.
 */
export interface TaskSteps<I, S, R, O> {
  prepare(input: I, index: number): PreparedInput<S>;
  extract(output: ModelOutput, batchRow: number, row: ModelRow, paddedLength: number): R;
  absorb?(state: S, output: R): void;
  finish(state: S, outputs: R[], index: number): O;
}

interface Job<S, R> {
  index: number;
  state: S;
  /** Rows of the input; Infinity until its last row has been read. */
  rowCount: number;
  /** Outputs received so far. */
  received: number;
  outputs: R[];
}

interface ScheduledRow<S, R> {
  job: Job<S, R>;
  row: ModelRow;
}

export interface RunContext {
  model: PreTrainedModel;
  padId: number;
  batching: PipelineBatchOptions;
}

/**
 * Runs `inputs` (any iterable) through a task; an async generator of results in input order. The batching
 * options are checked now (an InputError naming the option), before anything is read.
 */
export function runTask<I, S, R, O>(
  inputs: Iterable<I> | AsyncIterable<I>,
  steps: TaskSteps<I, S, R, O>,
  context: RunContext,
): AsyncGenerator<O, void, undefined> {
  // Jobs prepared but not yet finished, in input order (bounded by the scheduler's window).
  const pending: Job<S, R>[] = [];
  let head = 0;

  async function* rows(): AsyncGenerator<ScheduledRow<S, R>> {
    let index = 0;
    for await (const input of inputs as AsyncIterable<I>) {
      const prepared = steps.prepare(input, index);
      const job: Job<S, R> = {
        index,
        state: prepared.state,
        rowCount: Number.POSITIVE_INFINITY,
        received: 0,
        outputs: [],
      };
      pending.push(job);
      index++;
      // One row ahead, so the count is known before the last row goes out: its output may come back before
      // this generator is resumed, and the job must then be complete.
      const iterator = prepared.rows[Symbol.iterator]();
      let next = iterator.next();
      let count = 0;
      if (next.done) job.rowCount = 0;
      while (!next.done) {
        const row = next.value;
        next = iterator.next();
        count++;
        if (next.done) job.rowCount = count;
        yield { job, row };
      }
    }
  }

  const { model, padId, batching } = context;
  const results = streamBatched<ScheduledRow<S, R>, R>(rows(), {
    ...batching,
    lengthOf: (item) => item.row.ids.length,
    runBatch: async (items, info) => {
      const batchRows = items.map((item) => item.row);
      const output = await runModelBatch(model, batchRows, info.paddedLength, padId);
      checkFiniteOutputs(
        output,
        batchRows.map((row) => row.ids.length),
        info.paddedLength,
        model.modelDir,
        (b) => items[b]!.job.index,
      );
      return batchRows.map((row, b) => steps.extract(output, b, row, info.paddedLength));
    },
  });

  function* finished(): Generator<O> {
    while (head < pending.length && pending[head].received === pending[head].rowCount) {
      const job = pending[head];
      pending[head++] = undefined as unknown as Job<S, R>;
      if (head > 1024 && head * 2 > pending.length) {
        pending.splice(0, head);
        head = 0;
      }
      yield steps.finish(job.state, job.outputs, job.index);
    }
  }

  async function* inOrder(): AsyncGenerator<O, void, undefined> {
    for await (const result of results) {
      yield* finished();
      const job = pending[head];
      job.received++;
      if (steps.absorb) steps.absorb(job.state, result);
      else job.outputs.push(result);
      yield* finished();
    }
    yield* finished();
  }
  return inOrder();
}
