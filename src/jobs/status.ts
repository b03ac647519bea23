/**
 * `seqbatch jobs status`: how far a job got, from its counters (job-record.ts) and its chunks in BullMQ (the
 * running ones, and the parked ones with their errors).
 */
import type { Redis } from 'ioredis';
import { formatSeconds } from '../cli/io/index.js';
import { doneChunks, loadCounters, loadJob, type JobRecord } from './job-record.js';
import type { Job, Queue } from 'bullmq';
import { openQueue, type ChunkData } from './queue.js';

export interface ParkedChunk {
  chunk: number;
  /** Index of its first row in the input, and its row count. */
  first_row: number;
  rows: number;
  attempts: number;
  error: string;
}

/** The `--json` object (snake_case keys, as the issue names them). */
export interface JobStatus {
  job: string;
  task: string;
  model: string;
  model_key: string;
  /** False while `submit` is still queuing chunks, or when it failed half-way. */
  submitted: boolean;
  /** Why submit stopped before queuing every chunk (null when it did not). */
  submit_error: string | null;
  /** Chunks queued so far (all of them once `submitted`). */
  chunks: number;
  done: number;
  running: number;
  waiting: number;
  failed: number;
  rows: number | null;
  rows_done: number;
  rows_per_second: number | null;
  eta_seconds: number | null;
  /** Every chunk is done or parked. */
  finished: boolean;
  parked: ParkedChunk[];
}

export async function jobStatus(redis: Redis, name: string, url: string): Promise<JobStatus> {
  const record = await loadJob(redis, name, url);
  return statusOf(redis, record);
}

/** A job's chunks in one BullMQ state, from the queue of its model (which other jobs share). */
async function chunksIn(queue: Queue<ChunkData>, name: string, state: 'active' | 'failed') {
  return (await queue.getJobs([state])).filter(
    (job): job is Job<ChunkData> => job !== undefined && job.name === name,
  );
}

function parkedOf(jobs: readonly Job<ChunkData>[]): ParkedChunk[] {
  return jobs
    .map((job) => ({
      chunk: job.data.chunk,
      first_row: job.data.firstRow,
      rows: job.data.rows,
      attempts: job.attemptsMade,
      error: job.failedReason ?? '',
    }))
    .sort((a, b) => a.chunk - b.chunk);
}

/** The job's parked chunks (failed after their attempts), in chunk order, from its model's queue. */
export async function parkedChunks(queue: Queue<ChunkData>, record: JobRecord): Promise<ParkedChunk[]> {
  return parkedOf(await chunksIn(queue, record.name, 'failed'));
}

export async function statusOf(redis: Redis, record: JobRecord): Promise<JobStatus> {
  const queue = openQueue(record.queue, redis);
  try {
    const [counters, active, failedJobs] = await Promise.all([
      loadCounters(redis, record.name),
      chunksIn(queue, record.name, 'active'),
      chunksIn(queue, record.name, 'failed'),
    ]);
    const parked = parkedOf(failedJobs);
    const running = active.length;
    const chunks = counters.chunks ?? (await chunksQueuedSoFar(redis, queue, record));
    const done = counters.chunksDone;
    const failed = parked.length;
    const waiting = Math.max(0, chunks - done - running - failed);
    const submitted = counters.state === 'queued';
    // A submit that failed half-way queues nothing more: the job ends with the chunks it queued.
    const queuing = counters.state === 'submitting';
    let rate: number | null = null;
    if (counters.startedAt !== undefined && counters.lastDoneAt !== undefined) {
      const seconds = (counters.lastDoneAt - counters.startedAt) / 1000;
      if (seconds > 0) rate = counters.rowsDone / seconds;
    }
    const rowsLeft = counters.rows === undefined ? undefined : counters.rows - counters.rowsDone;
    return {
      job: record.name,
      task: record.task,
      model: record.model,
      model_key: record.modelKey,
      submitted,
      submit_error: counters.submitError ?? null,
      chunks,
      done,
      running,
      waiting,
      failed,
      rows: counters.rows ?? null,
      rows_done: counters.rowsDone,
      rows_per_second: rate,
      eta_seconds: rate !== null && rate > 0 && rowsLeft !== undefined ? rowsLeft / rate : null,
      finished: !queuing && done + failed >= chunks,
      parked,
    };
  } finally {
    await queue.close();
  }
}

/** While submit runs, the chunk count is not recorded yet: count the chunk ids BullMQ has seen. */
async function chunksQueuedSoFar(redis: Redis, queue: Queue<ChunkData>, record: JobRecord): Promise<number> {
  // Every chunk id is NAME__N with N from 0 up, and the done ones are removed: the highest N seen + 1.
  const jobs = await queue.getJobs(['wait', 'delayed', 'prioritized', 'active', 'failed']);
  let highest = -1;
  for (const job of jobs) if (job?.name === record.name) highest = Math.max(highest, job.data.chunk);
  for (const chunk of await doneChunks(redis, record.name)) highest = Math.max(highest, chunk);
  return highest + 1;
}

/** The human-readable status: a few lines, parked chunks named with their errors. */
export function formatStatus(status: JobStatus): string {
  const lines = [
    `job ${status.job}: ${status.task} with ${status.model} (model key ${status.model_key})` +
      (status.submit_error !== null
        ? ` [submit failed after ${status.chunks} chunk(s): ${status.submit_error}]`
        : status.submitted
          ? ''
          : ' [submit still queuing chunks]'),
    `chunks: ${status.done} done, ${status.running} running, ${status.waiting} waiting, ${status.failed} failed (of ${status.chunks})`,
    `rows: ${status.rows_done}${status.rows === null ? '' : ` of ${status.rows}`} done` +
      (status.rows_per_second === null ? '' : `, ${status.rows_per_second.toFixed(1)} rows/s`) +
      (status.eta_seconds === null || status.finished ? '' : `, ETA ${formatSeconds(status.eta_seconds)}`),
  ];
  for (const chunk of status.parked) {
    lines.push(
      `parked: chunk ${chunk.chunk} (rows ${chunk.first_row}-${chunk.first_row + chunk.rows - 1}) after ${chunk.attempts} attempt(s): ${chunk.error}`,
    );
  }
  if (status.finished) {
    lines.push(
      status.submit_error !== null
        ? `ended: its submit failed; remove it with seqbatch jobs clean ${status.job}`
        : status.failed === 0
          ? 'finished: collect it with seqbatch jobs collect'
          : 'finished with parked chunks',
    );
  } else if (status.done + status.failed < status.chunks && status.running === 0) {
    lines.push(
      `no chunk is running: start a worker with this model (seqbatch jobs worker --model ${status.model})`,
    );
  }
  return lines.join('\n') + '\n';
}
