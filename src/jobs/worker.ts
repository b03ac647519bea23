/**
 * `seqbatch jobs worker`: takes chunks from the queue of the model it was started with and runs them through the
 * local command's pipeline and batching (tasks.ts), writing each chunk's records to the results folder.
 *
 * Recovery is BullMQ's: a worker holds a lock on each chunk it runs and renews it while alive; a chunk whose
 * worker died (SIGKILL, lost machine) loses its lock and the stalled-job check hands it to another worker. A chunk
 * that fails (an error, or stalling more than MAX_STALLS times) is retried with exponential backoff up to the
 * job's attempts, then parked in the failed set with its error, where `status` names it.
 *
 * A worker waits for work with its checkpoint's own task (classify, rerank or embed, as `serve` picks it) open
 * and warmed up, so the first chunk of such a job neither waits for the model to load nor runs on cold code.
 *
 * A worker serves one model: it listens on that model's queue only (model-key.ts), so chunks of another model
 * never reach it, and it refuses, without retry, any chunk whose job records another model key.
 */
import { UnrecoverableError, Worker, type ConnectionOptions, type Job } from 'bullmq';
import type { Redis } from 'ioredis';
import { rowError, batchingFrom, BATCHES_PER_CHUNK, type RowRecords } from '../cli/commands/shared-rows.js';
import type { ResolvedModelFlags } from '../cli/commands/shared-model.js';
import { DEFAULT_BATCH_SIZE, type InputRow, type OutputRecord } from '../cli/io/index.js';
import type { PipelineOptions } from '../pipelines/index.js';
import { chunkFile, readChunkRows, writeChunkFile } from './chunk-files.js';
import { jobExists, KEY_PREFIX, markChunkDone, startChunk, type JobRecord } from './job-record.js';
import { modelQueueName } from './model-key.js';
import type { ChunkData } from './queue.js';
import { AutoConfig } from '../models/config.js';
import { checkpointTasks } from '../server/engine-pipelines.js';
import { DEFAULT_STALLED_MS, JOB_TASK_NAMES } from './constants.js';
import { jobTask } from './tasks.js';

/** Times a chunk may lose its worker before it counts as failing (each loss also uses one attempt). */
export const MAX_STALLS = 3;
/** Jobs whose prepared records function a worker keeps (recordsFor). */
const KEPT_JOBS = 8;

/**
 * The warm-up a worker runs through its own task's pipeline before it waits for chunks: a job's first chunks then
 * run on code V8 has already optimised and on ONNX Runtime's allocations for a few batch shapes, as a worker's
 * second job does (measured: BENCHMARKS.md, "Corpus jobs on the queue"). Texts of 1 to 64 words, so the batches
 * have several lengths; the query stands in for a reranker's.
 */
const WARM_UP_ROWS = 256;
const WARM_UP_QUERY = 'which of these texts says the most about the weather today';
const WARM_UP_WORDS = (
  'a quiet film about people who rarely get one , told with warmth and wit ; the cast is fine but the story ' +
  'drags in its second half and never quite recovers its early promise'
).split(' ');

function warmUpRows(): InputRow[] {
  return Array.from({ length: WARM_UP_ROWS }, (_, index) => {
    const words = Array.from(
      { length: 1 + (index % 64) },
      (_, k) => WARM_UP_WORDS[(index * 7 + k) % WARM_UP_WORDS.length]!,
    );
    return { index, line: index + 1, text: words.join(' ') };
  });
}

/** A job run (a name cleaned and submitted again is another run). */
function jobCacheKey(record: JobRecord): string {
  return `${record.name}\n${record.submittedAt}`;
}

export interface WorkerSpec {
  redis: Redis;
  redisUrl: string;
  model: ResolvedModelFlags;
  modelKey: string;
  concurrency: number;
  /** Overrides each job's recorded results folder (the same share mounted elsewhere on this machine). */
  resultsDir?: string;
  /** Lock time of a chunk (and the stalled-check interval). */
  stalledMs?: number;
  /** Lines for the operator (stderr in the CLI). */
  log?: (line: string) => void;
  /** Open the pipeline of the checkpoint's own task at start and warm it up (default true). */
  warm?: boolean;
}

type OpenPipeline = { readonly task: string; dispose(): Promise<void> };

export interface RunningWorker {
  readonly queue: string;
  /** Stops taking chunks, lets the running ones finish, and disposes the pipelines. */
  close(): Promise<void>;
}

/**
 * The job task a worker opens ahead of work: the one `serve` runs for the checkpoint (classify for a classifier,
 * rerank for a cross-encoder, embed for a bare encoder), when it is a job task. A checkpoint with another head (token
 * classification, question answering, masked LM) opens its pipelines on first use.
 */
function ownJobTask(dir: string): string | undefined {
  const [task] = checkpointTasks(dir);
  if (task === undefined || !(JOB_TASK_NAMES as readonly string[]).includes(task)) return undefined;
  const headed = AutoConfig.fromPretrained(dir).architectures.some((name) => /For[A-Z]\w*$/.test(name));
  return task === 'embed' && headed ? undefined : task;
}

export async function startWorker(spec: WorkerSpec): Promise<RunningWorker> {
  const log = spec.log ?? (() => {});
  const queueName = modelQueueName(spec.modelKey);
  const pipelines = new Map<string, Promise<OpenPipeline>>();

  /** One pipeline per task and batching flags (they are load options), opened on first use. */
  const pipelineFor = (
    task: string,
    options: Record<string, unknown>,
    open: (dir: string, load: PipelineOptions) => Promise<OpenPipeline>,
  ) => {
    const load: PipelineOptions = { ...spec.model.load, ...batchingFrom(options) };
    if (options.allowHeadMismatch === true) load.allowHeadMismatch = true;
    const key = JSON.stringify([task, load.batchSize, load.maxBatchTokens, load.allowHeadMismatch]);
    let pipe = pipelines.get(key);
    if (pipe === undefined) {
      pipe = open(spec.model.dir, load);
      pipe.catch(() => pipelines.delete(key)); // a failed load is retried with the next chunk
      pipelines.set(key, pipe);
    }
    return pipe;
  };

  /**
   * Each job's records function, kept for its next chunks: what a task prepares once per run (similarity embeds
   * its --against list) is then prepared once per job and worker, not once per chunk. The last few jobs are kept.
   */
  const recordFns = new Map<string, RowRecords>();
  const recordsFor = async (record: JobRecord): Promise<RowRecords> => {
    const key = jobCacheKey(record);
    let recordsOf = recordFns.get(key);
    if (recordsOf === undefined) {
      const task = jobTask(record.task).rowTask(record.options);
      recordsOf = task.recordsOf(await pipelineFor(record.task, record.options, task.open));
      recordFns.set(key, recordsOf);
      if (recordFns.size > KEPT_JOBS) recordFns.delete(recordFns.keys().next().value!);
    }
    return recordsOf;
  };

  const processChunk = async (job: Job<ChunkData>): Promise<void> => {
    const { job: name, chunk } = job.data;
    const record = await startChunk(spec.redis, name);
    if (record === undefined) {
      log(`seqbatch: chunk ${chunk} of job ${name} dropped: the job was cleaned`);
      return;
    }
    if (record.modelKey !== spec.modelKey) {
      throw new UnrecoverableError(
        `job ${name} needs model ${record.model} (key ${record.modelKey}); this worker has ${spec.model.modelId} (key ${spec.modelKey})`,
      );
    }
    const resultsDir = spec.resultsDir ?? record.resultsDir;
    const rows = await readChunkRows(chunkFile(resultsDir, name, 'input', chunk));
    const recordsOf = await recordsFor(record);
    // The local command hands the pipeline batch-size × 4 rows at a time, counted from the first row of the
    // input; cutting the chunk at the same places gives the same model batches, hence the same bytes.
    const slice = Number(record.options.batchSize ?? DEFAULT_BATCH_SIZE) * BATCHES_PER_CHUNK;
    const records: OutputRecord[] = [];
    let start = 0;
    while (start < rows.length) {
      const end = Math.min(rows.length, start + slice - (rows[start]!.index % slice));
      const part: InputRow[] = rows.slice(start, end);
      try {
        records.push(...(await recordsOf(part)));
      } catch (error) {
        recordFns.delete(jobCacheKey(record)); // the next attempt starts afresh
        const relabelled = rowError(error, part, [], record.input);
        throw relabelled instanceof Error ? relabelled : new Error(String(relabelled));
      }
      start = end;
    }
    if (!(await jobExists(spec.redis, name))) {
      log(`seqbatch: chunk ${chunk} of job ${name} dropped: the job was cleaned while it ran`);
      return;
    }
    await writeChunkFile(chunkFile(resultsDir, name, 'results', chunk), records);
    await markChunkDone(spec.redis, name, chunk, rows.length);
  };

  const stalledMs = spec.stalledMs ?? DEFAULT_STALLED_MS;
  const worker = new Worker<ChunkData>(queueName, processChunk, {
    connection: spec.redis as unknown as ConnectionOptions,
    prefix: KEY_PREFIX,
    concurrency: spec.concurrency,
    lockDuration: stalledMs,
    stalledInterval: stalledMs,
    maxStalledCount: MAX_STALLS,
  });
  worker.on('failed', (job, error) => {
    if (job === undefined) return;
    const left = (job.opts.attempts ?? 1) - job.attemptsMade;
    log(
      `seqbatch: chunk ${job.data.chunk} of job ${job.data.job} failed (${error.message})` +
        (left > 0 && !(error instanceof UnrecoverableError) ? `; ${left} attempt(s) left` : '; parked'),
    );
  });
  worker.on('error', (error) => log(`seqbatch: queue connection: ${error.message}`));
  log(`seqbatch: worker for ${spec.model.modelId} (model key ${spec.modelKey}) on queue ${queueName}`);

  // A worker waits for work with the pipeline of its checkpoint's own task open (with the default flags) and run
  // once, so the first chunk of such a job neither waits for the model to load nor runs on cold code; other tasks
  // and flags open on first use.
  if (spec.warm !== false) {
    const options = { batchSize: String(DEFAULT_BATCH_SIZE) };
    let ownTask: string | undefined;
    Promise.resolve()
      .then(async () => {
        ownTask = ownJobTask(spec.model.dir);
        if (ownTask === undefined) return false;
        // The query is read by rerank only; the other tasks ignore it.
        const warmUp = jobTask(ownTask).rowTask({ ...options, query: WARM_UP_QUERY });
        await warmUp.recordsOf(await pipelineFor(ownTask, options, warmUp.open))(warmUpRows());
        return true;
      })
      .then(
        (opened) =>
          opened &&
          log(`seqbatch: ${ownTask} pipeline open, waiting for chunks (warmed up on ${WARM_UP_ROWS} texts)`),
        (error: Error) =>
          log(`seqbatch: the ${ownTask} pipeline did not open and warm up ahead of work: ${error.message}`),
      );
  }

  return {
    queue: queueName,
    close: async () => {
      await worker.close();
      for (const pipe of pipelines.values()) await (await pipe.catch(() => undefined))?.dispose();
    },
  };
}
