/**
 * The driver behind every row-oriented CLI command (classify, embed, ner, ...): read rows, hand them to the task's
 * `processBatch` a batch at a time, write one output record per row in input order, show progress, and resume a
 * killed run without losing or repeating a row.
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

/** Turns rows into exactly one output record each, in the same order. */
export type ProcessBatch = (rows: InputRow[]) => Promise<OutputRecord[]>;

export interface RowsCommandIO {
  stdin?: Readable;
  stdout?: Writable;
  stderr?: NodeJS.WriteStream;
}

export interface RowsCommandSummary {
  /** Rows skipped because a previous run already wrote them (--resume). */
  skipped: number;
  /** Rows processed and written by this run. */
  written: number;
}

export async function runRowsCommand(
  options: RowsCommandOptions,
  processBatch: ProcessBatch,
  io: RowsCommandIO = {},
): Promise<RowsCommandSummary> {
  const batchSize = positiveInteger(options.batchSize, '--batch-size');
  const concurrency = positiveInteger(options.concurrency ?? 1, 'concurrency');
  const input: InputSpec = { ...options.input, stdin: io.stdin ?? options.input.stdin };
  const writer = await openRowWriter({ ...options.output, stdout: io.stdout ?? options.output.stdout });
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
  const inFlight: Promise<OutputRecord[]>[] = [];
  const inFlightSizes: number[] = [];
  const flushOldest = async (): Promise<void> => {
    const rows = inFlightSizes.shift()!;
    const records = await inFlight.shift()!;
    if (records.length !== rows) {
      throw new Error(
        `processBatch returned ${records.length} records for ${rows} rows (it must return one per row)`,
      );
    }
    await writer.write(records);
    written += rows;
    progress.update(skipped + written);
  };
  const start = (batch: InputRow[]): void => {
    const work = processBatch(batch);
    work.catch(() => {}); // awaited in order by flushOldest; this only avoids an unhandled rejection meanwhile
    inFlight.push(work);
    inFlightSizes.push(batch.length);
  };

  try {
    let batch: InputRow[] = [];
    for await (const row of readInputRows(input)) {
      if (row.index < skipped) continue;
      batch.push(row);
      if (batch.length < batchSize) continue;
      start(batch);
      batch = [];
      if (inFlight.length >= concurrency) await flushOldest();
    }
    if (batch.length > 0) start(batch);
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
  return { skipped, written };
}

function positiveInteger(value: number, argument: string): number {
  if (!Number.isInteger(value) || value < 1) {
    throw new InputError(`${argument}: expected a positive integer, got ${value}`, { argument });
  }
  return value;
}
