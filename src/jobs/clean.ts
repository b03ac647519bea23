/**
 * `seqbatch jobs clean` and `seqbatch jobs list`: what Redis and the results folder hold of past jobs.
 *
 * Cleaning a job deletes its record and counters (job-record.ts), its chunks left in the model's queue (waiting,
 * delayed or parked), and its folder in the results directory. A job with chunks still to run is refused unless
 * forced; a forced clean cannot take a chunk from the worker holding its lock, so that worker finds the job gone
 * and drops the chunk instead of writing its results (worker.ts).
 */
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { Redis } from 'ioredis';
import { QueueError } from '../errors.js';
import { deleteJobKeys, jobKey, KEY_PREFIX, loadCounters, loadJob, type JobRecord } from './job-record.js';
import { openQueue } from './queue.js';
import { statusOf } from './status.js';

export interface CleanSpec {
  /** Clean a job that still has chunks running or waiting. */
  force: boolean;
  /** The shared results folder as mounted here (default: the one the job recorded). */
  resultsDir?: string;
}

export interface Cleaned {
  /** Chunks taken out of the queue (waiting, delayed or parked). */
  chunksRemoved: number;
  /** Chunks a worker was running: they are dropped by that worker when it finishes. */
  chunksRunning: number;
  /** The job's folder that was deleted. */
  folder: string;
}

/** BullMQ states a chunk of the job can be in (a done chunk is removed on completion). */
const CHUNK_STATES = ['wait', 'delayed', 'prioritized', 'failed', 'active'] as const;

export async function cleanJob(redis: Redis, name: string, url: string, spec: CleanSpec): Promise<Cleaned> {
  const record = await loadJob(redis, name, url);
  const status = await statusOf(redis, record);
  if (!spec.force && !status.finished) {
    throw new QueueError(
      `job ${name} is not finished: ${status.running} chunk(s) running, ${status.waiting} waiting` +
        (status.submitted ? '' : ', submit still queuing chunks') +
        '; pass --force to remove it anyway',
      { argument: '--force' },
    );
  }
  // The record goes first: from then on a worker that takes or finishes one of its chunks drops it.
  await deleteJobKeys(redis, name);
  const queue = openQueue(record.queue, redis);
  let chunksRemoved = 0;
  let chunksRunning = 0;
  try {
    for (const job of await queue.getJobs([...CHUNK_STATES])) {
      if (job === undefined || job.name !== name) continue;
      // BullMQ removes no chunk locked by the worker running it (0); that worker drops it when it finishes.
      if ((await queue.remove(job.id!)) === 1) chunksRemoved++;
      else chunksRunning++;
    }
  } finally {
    await queue.close();
  }
  const folder = join(spec.resultsDir ?? record.resultsDir, name);
  await rm(folder, { recursive: true, force: true });
  return { chunksRemoved, chunksRunning, folder };
}

/** One line of `jobs list`. */
export interface JobSummary {
  job: string;
  task: string;
  model: string;
  submitted_at: string;
  submitted: boolean;
  chunks: number | null;
  done: number;
  rows: number | null;
  rows_done: number;
}

/** Every job in this Redis, oldest first, from its record and counters (no queue scan). */
export async function listJobs(redis: Redis): Promise<JobSummary[]> {
  const names: string[] = [];
  const pattern = `${jobKey('*')}`;
  const record = new RegExp(`^${KEY_PREFIX}:job:([A-Za-z0-9][A-Za-z0-9._-]*)$`);
  let cursor = '0';
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', pattern, 'COUNT', 1000);
    cursor = next;
    for (const key of keys) {
      const name = record.exec(key)?.[1];
      if (name !== undefined) names.push(name);
    }
  } while (cursor !== '0');
  const summaries: JobSummary[] = [];
  for (const name of names) {
    const text = await redis.hget(jobKey(name), 'record');
    if (text === null) continue; // a done set without its record (the job was being cleaned)
    const job = JSON.parse(text) as JobRecord;
    const counters = await loadCounters(redis, name);
    summaries.push({
      job: name,
      task: job.task,
      model: job.model,
      submitted_at: job.submittedAt,
      submitted: counters.state === 'queued',
      chunks: counters.chunks ?? null,
      done: counters.chunksDone,
      rows: counters.rows ?? null,
      rows_done: counters.rowsDone,
    });
  }
  return summaries.sort((a, b) => a.submitted_at.localeCompare(b.submitted_at) || a.job.localeCompare(b.job));
}

/** `jobs list` as a table: one line per job. */
export function formatJobList(jobs: readonly JobSummary[]): string {
  if (jobs.length === 0) return 'no jobs\n';
  const lines = jobs.map((job) => {
    const chunks =
      job.chunks === null
        ? `${job.done} chunks done (submit still queuing)`
        : `${job.done}/${job.chunks} chunks`;
    const rows = job.rows === null ? `${job.rows_done} rows` : `${job.rows_done}/${job.rows} rows`;
    return `${job.job}\t${job.task}\t${job.model}\t${job.submitted_at}\t${chunks}\t${rows}`;
  });
  return `${lines.join('\n')}\n`;
}
