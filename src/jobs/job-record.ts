/**
 * What Redis holds about a job besides its queued chunks: the record written by `submit` (task, model, options,
 * where chunk files live) and the progress counters the workers keep (chunks done, rows done, timings).
 *
 * Keys (one hash and one set per job): `seqbatch:job:NAME` holds `record` (JSON), `state` (`submitting` until every
 * chunk is queued, then `queued`; `failed`, with `submit_error`, when submit stopped half-way), `chunks`, `rows`,
 * `rows_done`, `started_at`, `last_done_at`;
 * `seqbatch:job:NAME:done` is the set of finished chunk numbers. A chunk finished twice (a worker thought dead
 * that was only slow) is counted once, because the set and the row counter change together in one script.
 */
import type { ChainableCommander, Redis } from 'ioredis';
import { InputError, QueueError } from '../errors.js';
import type { RunFingerprint } from '../cli/io/index.js';
import type { RankOrder } from '../pipelines/rank-order.js';

/** Prefix of every Redis key seqbatch writes (BullMQ's keys included). */
export const KEY_PREFIX = 'seqbatch';

/** Job names: also folder and BullMQ id parts, so a plain alphabet. */
const JOB_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$/;

export function checkJobName(name: string, argument: string): string {
  if (!JOB_NAME.test(name)) {
    throw new InputError(
      `${argument}: expected a job name of letters, digits, ".", "_" and "-" (at most 100, not starting with a punctuation mark), got "${name}"`,
      { argument },
    );
  }
  return name;
}

/** What `submit` records: everything a worker needs to run a chunk as the local command would. */
export interface JobRecord {
  name: string;
  /** The local command the job runs (`classify`, `embed`, ...). */
  task: string;
  /** The model as the submitter named it (a folder, a Hub id, or the bundled demo model's name). */
  model: string;
  /** Digest of the model's files (and tokenizer override): only workers with this model take the chunks. */
  modelKey: string;
  /** The BullMQ queue of that model. */
  queue: string;
  /** The task command's flags that change its rows (as commander parsed them), batching flags included. */
  options: Record<string, unknown>;
  /**
   * The local command's manifest fingerprint, so `collect`'s output carries the same one. Known once submit has
   * checked the flags against the model, which runs while the first chunks are queued: undefined until then.
   */
  run?: RunFingerprint;
  /** The input file as given (for messages). */
  input: string;
  chunkSize: number;
  /** Rows ranked once every chunk is scored (rerank): how `collect` orders and cuts them. */
  ranking?: RankOrder;
  /** Folder holding `NAME/input` and `NAME/results` (shared by the workers). */
  resultsDir: string;
  attempts: number;
  backoffMs: number;
  submittedAt: string;
}

export interface JobCounters {
  state: 'submitting' | 'queued' | 'failed';
  /** Why submit stopped before queuing every chunk (state `failed`). */
  submitError: string | undefined;
  /** Known once every chunk is queued. */
  chunks: number | undefined;
  rows: number | undefined;
  chunksDone: number;
  rowsDone: number;
  /** Epoch ms of the first chunk a worker started, and of the last chunk done. */
  startedAt: number | undefined;
  lastDoneAt: number | undefined;
}

export function jobKey(name: string): string {
  return `${KEY_PREFIX}:job:${name}`;
}

function doneKey(name: string): string {
  return `${jobKey(name)}:done`;
}

/** Creates the job's record; refuses a name already taken. */
export async function createJob(redis: Redis, record: JobRecord): Promise<void> {
  const created = await redis.hsetnx(jobKey(record.name), 'record', JSON.stringify(record));
  if (created === 0) {
    throw new InputError(`--name: a job "${record.name}" already exists in this Redis; choose another name`, {
      argument: '--name',
    });
  }
  await redis.hset(jobKey(record.name), 'state', 'submitting', 'rows_done', 0);
}

/** Writes the record again, completed (its `run`, once the flags are checked against the model). */
export async function saveRecord(redis: Redis, record: JobRecord): Promise<void> {
  await redis.hset(jobKey(record.name), 'record', JSON.stringify(record));
}

/** Marks a submission that stopped half-way (an input error, Redis or the results folder failing). */
export async function failSubmission(redis: Redis, name: string, error: string): Promise<void> {
  await redis.hset(jobKey(name), 'state', 'failed', 'submit_error', error);
}

/** Marks the submission complete: every chunk is queued. */
export async function finishSubmission(
  redis: Redis,
  name: string,
  chunks: number,
  rows: number,
): Promise<void> {
  await redis.hset(jobKey(name), 'state', 'queued', 'chunks', chunks, 'rows', rows);
}

export async function loadJob(redis: Redis, name: string, url: string): Promise<JobRecord> {
  const text = await redis.hget(jobKey(name), 'record');
  if (text === null) {
    throw new QueueError(`job "${name}" not found in Redis at ${url} (REDIS_URL)`, { argument: 'JOB' });
  }
  return JSON.parse(text) as JobRecord;
}

/** The counter fields of the job's hash (everything but the record, which can be long). */
const COUNTER_FIELDS = [
  'state',
  'submit_error',
  'chunks',
  'rows',
  'rows_done',
  'started_at',
  'last_done_at',
] as const;

/** Queues the reads of the job's counters on `batch` (a pipeline): its HMGET and the done set's size. */
export function queueCounterReads(batch: ChainableCommander, name: string): void {
  batch.hmget(jobKey(name), ...COUNTER_FIELDS).scard(doneKey(name));
}

/** The counters from the replies of queueCounterReads; undefined when the job is gone (no state). */
export function countersFrom(
  values: readonly (string | null)[],
  chunksDone: number,
): JobCounters | undefined {
  const fields = Object.fromEntries(COUNTER_FIELDS.map((field, i) => [field, values[i] ?? undefined]));
  if (fields.state === undefined) return undefined;
  const number = (value: string | undefined) => (value === undefined ? undefined : Number(value));
  return {
    state: fields.state === 'queued' || fields.state === 'failed' ? fields.state : 'submitting',
    submitError: fields.submit_error,
    chunks: number(fields.chunks),
    rows: number(fields.rows),
    chunksDone,
    rowsDone: number(fields.rows_done) ?? 0,
    startedAt: number(fields.started_at),
    lastDoneAt: number(fields.last_done_at),
  };
}

/** The job's counters, in one round trip; a job cleaned meanwhile reads as a job with nothing done. */
export async function loadCounters(redis: Redis, name: string): Promise<JobCounters> {
  const batch = redis.pipeline();
  queueCounterReads(batch, name);
  const [[, values], [, chunksDone]] = (await batch.exec()) as [[null, (string | null)[]], [null, number]];
  return (
    countersFrom(values, chunksDone) ?? {
      state: 'submitting',
      submitError: undefined,
      chunks: undefined,
      rows: undefined,
      chunksDone,
      rowsDone: 0,
      startedAt: undefined,
      lastDoneAt: undefined,
    }
  );
}

/** Deletes the job's record, counters and done set (`jobs clean`). */
export async function deleteJobKeys(redis: Redis, name: string): Promise<void> {
  await redis.del(jobKey(name), doneKey(name));
}

/** Whether the job still exists (a worker drops the chunks of a job cleaned while they ran). */
export async function jobExists(redis: Redis, name: string): Promise<boolean> {
  return (await redis.hexists(jobKey(name), 'record')) === 1;
}

/**
 * What a follower of a running job (`collect --wait`) asks each time, in one round trip: the counters (undefined
 * once the job is gone), and how many chunks in a row from `first` on are done (looking at most `count` ahead).
 */
export async function pollDone(
  redis: Redis,
  name: string,
  first: number,
  count: number,
): Promise<{ counters: JobCounters | undefined; doneInARow: number }> {
  const batch = redis.pipeline();
  queueCounterReads(batch, name);
  batch.smismember(doneKey(name), ...Array.from({ length: count }, (_, i) => first + i));
  const [[, values], [, chunksDone], [, flags]] = (await batch.exec()) as [
    [null, (string | null)[]],
    [null, number],
    [null, number[]],
  ];
  const doneInARow = flags.indexOf(0);
  return { counters: countersFrom(values, chunksDone), doneInARow: doneInARow < 0 ? count : doneInARow };
}

/** The chunk numbers finished so far. */
export async function doneChunks(redis: Redis, name: string): Promise<Set<number>> {
  return new Set((await redis.smembers(doneKey(name))).map(Number));
}

/** Notes the job's first start, and gives its record; nil when the job is gone (cleaned). */
const START_CHUNK = `
local record = redis.call('HGET', KEYS[1], 'record')
if record then
  redis.call('HSETNX', KEYS[1], 'started_at', ARGV[1])
end
return record`;

/**
 * What a worker does as it takes a chunk: notes that the job started (the first time only) and reads its record,
 * in one round trip. Undefined when the job no longer exists (it was cleaned): the chunk is then dropped.
 */
export async function startChunk(redis: Redis, name: string): Promise<JobRecord | undefined> {
  const text = (await redis.eval(START_CHUNK, 1, jobKey(name), Date.now())) as string | null;
  return text === null ? undefined : (JSON.parse(text) as JobRecord);
}

/**
 * Adds the chunk to the done set and, only if it was not there yet, its rows to rows_done; nothing when the job
 * was cleaned meanwhile (no record), so a late chunk leaves no keys behind.
 */
const MARK_DONE = `
if redis.call('HEXISTS', KEYS[1], 'record') == 0 then
  return 0
end
if redis.call('SADD', KEYS[2], ARGV[1]) == 1 then
  redis.call('HINCRBY', KEYS[1], 'rows_done', ARGV[2])
end
redis.call('HSET', KEYS[1], 'last_done_at', ARGV[3])
return 1`;

export async function markChunkDone(redis: Redis, name: string, chunk: number, rows: number): Promise<void> {
  await redis.eval(MARK_DONE, 2, jobKey(name), doneKey(name), chunk, rows, Date.now());
}
