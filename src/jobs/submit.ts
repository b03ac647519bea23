/**
 * `seqbatch jobs submit`: reads the input as a stream, cuts it into chunks of rows, writes each chunk's rows to the
 * results folder and queues it on its model's queue. Only one chunk is in memory at a time, so the input is never
 * held whole.
 */
import { randomBytes } from 'node:crypto';
import { resolve } from 'node:path';
import type { Redis } from 'ioredis';
import { readInputRows, type InputRow, type InputSpec } from '../cli/io/index.js';
import { chunkFile, writeChunkFile } from './chunk-files.js';
import { checkJobName, createJob, finishSubmission, type JobRecord } from './job-record.js';
import { chunkJobOptions, openQueue } from './queue.js';

/** What submit is given: the job record's fields that are not worked out here, and the input to read. */
export interface SubmitSpec extends Omit<JobRecord, 'name' | 'input' | 'resultsDir' | 'submittedAt'> {
  /** Job name; default generated (task, time, random suffix). */
  name?: string;
  input: InputSpec;
  resultsDir: string;
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
    ...spec,
    name,
    input: spec.input.file ?? '-',
    resultsDir: resolve(spec.resultsDir),
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
