/**
 * `seqbatch jobs clean` and `seqbatch jobs list`: what Redis and the results folder hold of past jobs.
 *
 * Cleaning a job deletes its record and counters (job-record.ts), its chunks left in the model's queue (waiting,
 * delayed or parked, each found by its id), and its folder in the results directory. A job with chunks still to run is refused unless
 * forced; a forced clean cannot take a chunk from the worker holding its lock, so that worker finds the job gone
 * and drops the chunk instead of writing its results (worker.ts).
 */
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { Redis } from 'ioredis';
import { QueueError } from '../errors.js';
import {
  countersFrom,
  deleteJobKeys,
  jobKey,
  KEY_PREFIX,
  loadJob,
  queueCounterReads,
  type JobRecord,
} from './job-record.js';
import { chunkId, openQueue } from './queue.js';
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

export async function cleanJob(redis: Redis, name: string, url: string, spec: CleanSpec): Promise<Cleaned> {
  const record = await loadJob(redis, name, url);
  const status = await statusOf(redis, record);
  if (!spec.force && !status.finished) {
    throw new QueueError(
      `job ${name} is not finished: ${status.running} chunk(s) running, ${status.waiting} waiting` +
        (status.submitted || status.submit_error !== null ? '' : ', submit still queuing chunks') +
        '; pass --force to remove it anyway',
      { argument: '--force' },
    );
  }
  return removeJob(redis, record, status.chunks, spec.resultsDir ?? record.resultsDir);
}

/** Chunks looked up and removed side by side (commands in flight on the one connection). */
const REMOVED_AT_ONCE = 500;

/**
 * Deletes a job whatever its state (`clean --force`, and submit when the flags fail their check): its keys, its
 * chunks 0..chunks-1 left in the queue (each looked up by its id, so other jobs' chunks in the model's queue cost
 * nothing), and its folder.
 */
export async function removeJob(
  redis: Redis,
  record: JobRecord,
  chunks: number,
  resultsDir: string,
): Promise<Cleaned> {
  // The record goes first: from then on a worker that takes or finishes one of its chunks drops it.
  await deleteJobKeys(redis, record.name);
  const queue = openQueue(record.queue, redis);
  let chunksRemoved = 0;
  let chunksRunning = 0;
  try {
    for (let first = 0; first < chunks; first += REMOVED_AT_ONCE) {
      const ids = Array.from({ length: Math.min(REMOVED_AT_ONCE, chunks - first) }, (_, i) =>
        chunkId(record.name, first + i),
      );
      // Done chunks were removed on completion; the others are waiting, delayed, parked or running.
      const left = (await Promise.all(ids.map((id) => queue.getJob(id)))).filter((job) => job !== undefined);
      for (const removed of await Promise.all(left.map((job) => queue.remove(job.id!)))) {
        // BullMQ removes no chunk locked by the worker running it (0); that worker drops it when it finishes.
        if (removed === 1) chunksRemoved++;
        else chunksRunning++;
      }
    }
  } finally {
    await queue.close();
  }
  const folder = join(resultsDir, record.name);
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
  // Every job's record and counters in one round trip.
  const batch = redis.pipeline();
  for (const name of names) {
    batch.hget(jobKey(name), 'record');
    queueCounterReads(batch, name);
  }
  const replies = ((await batch.exec()) ?? []).map(([, reply]) => reply);
  const summaries: JobSummary[] = [];
  for (const [i, name] of names.entries()) {
    const [text, values, chunksDone] = replies.slice(3 * i, 3 * i + 3) as [
      string | null,
      (string | null)[],
      number,
    ];
    const counters = countersFrom(values, chunksDone);
    if (text === null || counters === undefined) continue; // the job was being cleaned
    const job = JSON.parse(text) as JobRecord;
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
