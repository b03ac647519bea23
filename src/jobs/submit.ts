/**
 * `seqbatch jobs submit`: reads the input as a stream, cuts it into chunks of rows, writes each chunk's rows to the
 * results folder and queues it on its model's queue. Only one chunk is in memory at a time, so the input is never
 * held whole.
 */
import { randomBytes } from 'node:crypto';
import { resolve } from 'node:path';
import type { Redis } from 'ioredis';
import { readInputRows, type InputRow, type InputSpec, type RunFingerprint } from '../cli/io/index.js';
import { chunkFile, writeChunkFile } from './chunk-files.js';
import { checkJobName, createJob, finishSubmission, type JobRecord } from './job-record.js';
import { chunkJobOptions, openQueue } from './queue.js';

export interface SubmitSpec {
  /** Job name; default generated (task, time, random suffix). */
  name?: string;
  task: string;
  model: string;
  modelKey: string;
  queue: string;
  options: Record<string, unknown>;
  run: RunFingerprint;
  input: InputSpec;
  chunkSize: number;
  resultsDir: string;
  attempts: number;
  backoffMs: number;
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
  const name = spec.name === undefined ? generatedJobName(spec.task) : checkJobName(spec.name, '--name');
  const record: JobRecord = {
    name,
    task: spec.task,
    model: spec.model,
    modelKey: spec.modelKey,
    queue: spec.queue,
    options: spec.options,
    run: spec.run,
    input: spec.input.file ?? '-',
    chunkSize: spec.chunkSize,
    resultsDir: resolve(spec.resultsDir),
    attempts: spec.attempts,
    backoffMs: spec.backoffMs,
    submittedAt: new Date().toISOString(),
  };
  await createJob(redis, record);
  const queue = openQueue(spec.queue, redis);
  let chunks = 0;
  let rows = 0;
  const queueChunk = async (chunkRows: InputRow[]) => {
    await writeChunkFile(chunkFile(record.resultsDir, name, 'input', chunks), chunkRows);
    await queue.add(
      name,
      { job: name, chunk: chunks, firstRow: chunkRows[0]!.index, rows: chunkRows.length },
      chunkJobOptions(name, chunks, spec.attempts, spec.backoffMs),
    );
    chunks++;
  };
  try {
    let chunk: InputRow[] = [];
    for await (const row of readInputRows(spec.input)) {
      chunk.push(row);
      rows++;
      if (chunk.length < spec.chunkSize) continue;
      await queueChunk(chunk);
      chunk = [];
    }
    if (chunk.length > 0) await queueChunk(chunk);
    await finishSubmission(redis, name, chunks, rows);
  } finally {
    await queue.close();
  }
  return { record, chunks, rows };
}
