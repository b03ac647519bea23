/**
 * `seqbatch jobs submit`: reads the input as a stream, cuts it into chunks of rows, writes each chunk's rows to the
 * results folder and queues it on its model's queue. Only one chunk is in memory at a time, so the input is never
 * held whole.
 *
 * Workers start on the first chunk while later ones are still being read: each chunk is queued as soon as its
 * file is written. Chunks that are ready while an add is on its way to Redis go together in the next one (one
 * round trip for many chunks, BullMQ's addBulk), so a fast reader is never held back by Redis round trips and a
 * slow one never delays a chunk.
 *
 * The check of the flags against the model (a pipeline opened, as the local command does before reading rows)
 * runs meanwhile, so it is not on the way to the first chunk: the job's name goes out once it passes, and a job
 * whose check fails is removed (chunks, keys and files) before its name was ever printed. Any other failure half-way
 * (an input row, Redis, the results folder) marks the job failed with its error, for `status` to show.
 */
import { randomBytes } from 'node:crypto';
import { resolve } from 'node:path';
import type { Redis } from 'ioredis';
import { readInputRows, type InputRow, type InputSpec, type RunFingerprint } from '../cli/io/index.js';
import { chunkFile, writeChunkFile } from './chunk-files.js';
import { removeJob } from './clean.js';
import {
  checkJobName,
  createJob,
  failSubmission,
  finishSubmission,
  saveRecord,
  type JobRecord,
} from './job-record.js';
import type { Queue } from 'bullmq';
import { chunkJobOptions, openQueue, type ChunkData } from './queue.js';

/** What submit is given: the job record's fields that are not worked out here, and the input to read. */
export interface SubmitSpec extends Omit<JobRecord, 'name' | 'input' | 'resultsDir' | 'submittedAt' | 'run'> {
  /** Job name; default generated (task, time, random suffix). */
  name?: string;
  input: InputSpec;
  resultsDir: string;
  /**
   * The check of the flags against the model, started by the caller: the run fingerprint it gives is recorded;
   * if it fails, the job is removed and its error thrown.
   */
  checked: Promise<RunFingerprint>;
  /** Called once the job exists in Redis and passed the check (the CLI prints the name then). */
  onCreated?: (record: JobRecord) => void;
}

export interface Submitted {
  record: JobRecord;
  chunks: number;
  rows: number;
}

/** A job name that says what and when: `classify-20261207-170512-3fa1`. */
export function generatedJobName(task: string, now = new Date()): string {
  const stamp = now
    .toISOString()
    .replace(/[-:]/g, '')
    .replace('T', '-')
    .replace(/\.\d+Z$/, '');
  return `${task}-${stamp}-${randomBytes(2).toString('hex')}`;
}

export async function submitJob(redis: Redis, spec: SubmitSpec): Promise<Submitted> {
  const { onCreated, checked, ...fields } = spec;
  const name = spec.name === undefined ? generatedJobName(spec.task) : checkJobName(spec.name, '--name');
  const record: JobRecord = {
    ...fields,
    name,
    input: spec.input.file ?? '-',
    resultsDir: resolve(spec.resultsDir),
    submittedAt: new Date().toISOString(),
  };
  // The check's failure, once it is known (undefined while it runs or when it passed).
  let checkFailure: { error: unknown } | undefined;
  const checkOutcome = checked.then(
    () => undefined,
    (error: unknown) => (checkFailure = { error }),
  );
  try {
    await createJob(redis, record);
  } catch (error) {
    // A flag the model refuses is reported first, as the local command reports it before anything else.
    throw (await checkOutcome)?.error ?? error;
  }
  const announced = checked.then(async (run) => {
    record.run = run;
    await saveRecord(redis, record);
    onCreated?.(record);
  });
  announced.catch(() => {}); // awaited below
  const queue = openQueue(spec.queue, redis);
  const adds = new ChunkAdder(queue, name, spec.attempts, spec.backoffMs);
  let chunks = 0;
  let rows = 0;
  const queueChunk = async (chunkRows: InputRow[]) => {
    const chunk = chunks++;
    await writeChunkFile(chunkFile(record.resultsDir, name, 'input', chunk), chunkRows);
    adds.add({ job: name, chunk, firstRow: chunkRows[0]!.index, rows: chunkRows.length });
  };
  try {
    let chunk: InputRow[] = [];
    for await (const row of readInputRows(spec.input)) {
      if (checkFailure !== undefined) break;
      chunk.push(row);
      rows++;
      if (chunk.length < spec.chunkSize) continue;
      await queueChunk(chunk);
      chunk = [];
    }
    if (chunk.length > 0 && checkFailure === undefined) await queueChunk(chunk);
    await adds.drain();
    await announced;
    await finishSubmission(redis, name, chunks, rows);
  } catch (error) {
    await adds.drain().catch(() => {});
    const failure = await checkOutcome;
    if (failure !== undefined) {
      await removeJob(redis, record, chunks, record.resultsDir).catch(() => {});
      throw failure.error;
    }
    await failSubmission(redis, name, (error as Error).message ?? String(error)).catch(() => {});
    throw error;
  } finally {
    await queue.close();
  }
  return { record, chunks, rows };
}

/**
 * Queues chunks as they come: the first at once, and those that arrive while an add is in flight together in the
 * next add. `drain` waits for every add and reports the first failure.
 */
class ChunkAdder {
  private pending: ChunkData[] = [];
  private flushing: Promise<void> | undefined;
  private failure: unknown;

  constructor(
    private readonly queue: Queue<ChunkData>,
    private readonly job: string,
    private readonly attempts: number,
    private readonly backoffMs: number,
  ) {}

  add(data: ChunkData): void {
    if (this.failure !== undefined) throw this.failure;
    this.pending.push(data);
    this.flushing ??= this.flush().finally(() => (this.flushing = undefined));
  }

  private async flush(): Promise<void> {
    while (this.pending.length > 0 && this.failure === undefined) {
      const batch = this.pending;
      this.pending = [];
      try {
        await this.queue.addBulk(
          batch.map((data) => ({
            name: this.job,
            data,
            opts: chunkJobOptions(this.job, data.chunk, this.attempts, this.backoffMs),
          })),
        );
      } catch (error) {
        this.failure = error;
      }
    }
  }

  async drain(): Promise<void> {
    while (this.flushing !== undefined) await this.flushing;
    if (this.failure !== undefined) throw this.failure;
  }
}
