/**
 * The driver behind every row-oriented CLI command (classify, embed, ner, ...): read rows, hand them to the task's
 * `processBatch` a batch at a time, write one output record per row in input order, show progress, resume a
 * killed run without losing or repeating a row, and stop early on request (an AbortSignal: the CLI's SIGINT or
 * SIGTERM) after writing the batches already running.
 */
import type { Readable, Writable } from 'node:stream';
import { InputError } from '../../errors.js';
import { countInputRows, readInputRows, type InputSpec } from './input-source.js';
import type { InputRow } from './input-row.js';
import type { OutputRecord } from './output-format.js';
import { createRowProgress } from './progress.js';
import { openRowWriter, OutputClosedError, type OutputSpec } from './row-writer.js';

export interface RowsCommandOptions {
  input: InputSpec;
  output: OutputSpec;
  /** Rows per processBatch call. */
  batchSize: number;
  /** Batches processed at once (the next one starts while the previous is still running). Default 1. */
  concurrency?: number;
  /** Progress bar: true/false, or 'auto' (only when stderr is a TTY). Default 'auto'. */
  progress?: boolean | 'auto';
}

/**
 * Turns rows into exactly one output record each, in the same order. `progress` takes the model rows finished
 * so far within these rows (a row may be thousands of sliding windows), for the progress bar.
 */
export type ProcessBatch = (rows: InputRow[], progress: BatchProgress) => Promise<OutputRecord[]>;

export interface BatchProgress {
  /** Model rows (windows, pairs, ...) finished so far in this batch. */
  modelRows(done: number): void;
}

export interface RowsCommandIO {
  stdin?: Readable;
  stdout?: Writable;
  stderr?: NodeJS.WriteStream;
  /**
   * Stops the run early: no new batch starts, the running ones finish and are written, the output is closed
   * (renamed into place) and the summary says `interrupted`.
   */
  signal?: AbortSignal;
}

export interface RowsCommandSummary {
  /** Rows skipped because a previous run already wrote them (--resume). */
  skipped: number;
  /** Rows processed and written by this run. */
  written: number;
  /** True when `io.signal` stopped the run before the end of the input. */
  interrupted?: boolean;
}

export async function runRowsCommand(
  options: RowsCommandOptions,
  processBatch: ProcessBatch,
  io: RowsCommandIO = {},
): Promise<RowsCommandSummary> {
  const batchSize = positiveInteger(options.batchSize, '--batch-size');
  const concurrency = positiveInteger(options.concurrency ?? 1, 'concurrency');
  const input: InputSpec = { ...options.input, stdin: io.stdin ?? options.input.stdin };
  const inputName = input.texts?.length
    ? 'command-line texts'
    : (input.file ?? '-') === '-'
      ? 'stdin'
      : input.file!;
  const writer = await openRowWriter({
    inputName,
    ...options.output,
    stdout: io.stdout ?? options.output.stdout,
  });
  const skipped = writer.resumedRows;
  const progress = createRowProgress({ enabled: options.progress, stream: io.stderr, start: skipped });
  let stopped = false;
  if (options.progress !== false && (io.stderr ?? process.stderr).isTTY) {
    countInputRows(input).then(
      (total) => !stopped && total !== undefined && progress.setTotal(total),
      () => {}, // the main read reports input errors
    );
  }

  let written = 0;
  // Model rows finished by this run, running batches included (each reports its own count as it grows).
  let modelRows = 0;
  const inFlight: Array<{ rows: InputRow[]; work: Promise<OutputRecord[]> }> = [];
  const flushOldest = async (): Promise<void> => {
    const { rows, work } = inFlight.shift()!;
    const records = await work;
    if (records.length !== rows.length) {
      throw new Error(
        `processBatch returned ${records.length} records for ${rows.length} rows (it must return one per row)`,
      );
    }
    await writer.write(records, rows);
    written += rows.length;
    progress.update(skipped + written);
  };
  const start = (rows: InputRow[]): void => {
    let batchModelRows = 0;
    const work = processBatch(rows, {
      modelRows(done) {
        modelRows += done - batchModelRows;
        batchModelRows = done;
        progress.modelRows(modelRows);
      },
    });
    work.catch(() => {}); // awaited in order by flushOldest; this only avoids an unhandled rejection meanwhile
    inFlight.push({ rows, work });
  };

  const signal = io.signal;
  let interrupted = false;
  try {
    let batch: InputRow[] = [];
    let rowsRead = 0;
    for await (const row of untilAborted(readInputRows(input), signal)) {
      rowsRead++;
      if (row.index < skipped) {
        writer.skipInput(row);
        continue;
      }
      batch.push(row);
      if (batch.length < batchSize) continue;
      start(batch);
      batch = [];
      if (inFlight.length >= concurrency) await flushOldest();
    }
    interrupted = signal?.aborted ?? false;
    if (!interrupted) {
      writer.endInput(rowsRead);
      if (batch.length > 0) start(batch);
    }
    while (inFlight.length > 0) await flushOldest();
  } catch (error) {
    if (error instanceof OutputClosedError) return { skipped, written };
    // Keep the work already finished (an input error on row 9000 should not throw away rows 1..8999), then fail.
    try {
      while (inFlight.length > 0) await flushOldest();
    } catch {
      // the first error is the one to report
    }
    throw error;
  } finally {
    stopped = true;
    progress.stop();
    await writer.close();
  }
  return interrupted ? { skipped, written, interrupted } : { skipped, written };
}

/**
 * The rows of `source` until `signal` aborts, even while a read is waiting (a slow stdin), closing the source
 * either way.
 */
async function* untilAborted<T>(
  source: AsyncGenerator<T>,
  signal: AbortSignal | undefined,
): AsyncGenerator<T> {
  if (signal === undefined) {
    yield* source;
    return;
  }
  let onAbort = (): void => {};
  const aborted = new Promise<IteratorResult<T>>((resolve) => {
    onAbort = () => resolve({ done: true, value: undefined });
    if (signal.aborted) onAbort();
    else signal.addEventListener('abort', onAbort, { once: true });
  });
  try {
    while (!signal.aborted) {
      const next = await Promise.race([source.next(), aborted]);
      if (next.done) return;
      yield next.value;
    }
  } finally {
    signal.removeEventListener('abort', onAbort);
    // A pending read cannot be cancelled; returning the generator closes its stream once that read settles.
    void source.return(undefined).catch(() => {});
  }
}

function positiveInteger(value: number, argument: string): number {
  if (!Number.isInteger(value) || value < 1) {
    throw new InputError(`${argument}: expected a positive integer, got ${value}`, { argument });
  }
  return value;
}
