/**
 * The BullMQ side of a job: one queue per model (named by its content key, model-key.ts), one queue job per chunk
 * with a deterministic id (`NAME__42`, so queuing a chunk twice is a no-op), bounded attempts with exponential
 * backoff, and parked chunks kept in BullMQ's failed set with their error (removed from Redis only on success).
 */
import { Queue, type ConnectionOptions, type JobsOptions } from 'bullmq';
import type { Redis } from 'ioredis';
import { KEY_PREFIX } from './job-record.js';

/** What a queued chunk carries: where to find its rows (the rows themselves are in the results folder). */
export interface ChunkData {
  job: string;
  chunk: number;
  /** Index of the chunk's first row in the whole input. */
  firstRow: number;
  rows: number;
}

export function chunkId(job: string, chunk: number): string {
  return `${job}__${chunk}`;
}

export function openQueue(name: string, redis: Redis): Queue<ChunkData> {
  return new Queue<ChunkData>(name, {
    connection: redis as unknown as ConnectionOptions,
    prefix: KEY_PREFIX,
  });
}

export function chunkJobOptions(
  job: string,
  chunk: number,
  attempts: number,
  backoffMs: number,
): JobsOptions {
  return {
    jobId: chunkId(job, chunk),
    attempts,
    backoff: { type: 'exponential', delay: backoffMs },
    // Progress lives in the job's own counters (job-record.ts): a finished chunk needs no place in Redis.
    removeOnComplete: true,
    removeOnFail: false,
  };
}
