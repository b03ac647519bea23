/**
 * What Redis holds about a job besides its queued chunks: the record written by `submit` (task, model, options,
 * where chunk files live) and the progress counters the workers keep (chunks done, rows done, timings).
 *
 * Keys (one hash and one set per job): `seqbatch:job:NAME` holds `record` (JSON), `state` (`submitting` until every
 * chunk is queued, then `queued`), `chunks`, `rows`, `rows_done`, `started_at`, `last_done_at`;
 * `seqbatch:job:NAME:done` is the set of finished chunk numbers. A chunk finished twice (a worker thought dead
 * that was only slow) is counted once, because the set and the row counter change together in one script.
 */
import type { Redis } from 'ioredis';
import { InputError, QueueError } from '../errors.js';
import type { RunFingerprint } from '../cli/io/index.js';

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
  /** The local command's manifest fingerprint, so `collect`'s output carries the same one. */
  run: RunFingerprint;
  /** The input file as given (for messages). */
  input: string;
  chunkSize: number;
  /** Folder holding `NAME/input` and `NAME/results` (shared by the workers). */
  resultsDir: string;
  attempts: number;
  backoffMs: number;
  submittedAt: string;
}

export interface JobCounters {
  state: 'submitting' | 'queued';
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

export async function loadCounters(redis: Redis, name: string): Promise<JobCounters> {
  const [fields, chunksDone] = await Promise.all([redis.hgetall(jobKey(name)), redis.scard(doneKey(name))]);
  const number = (value: string | undefined) => (value === undefined ? undefined : Number(value));
  return {
    state: fields.state === 'queued' ? 'queued' : 'submitting',
    chunks: number(fields.chunks),
    rows: number(fields.rows),
    chunksDone,
    rowsDone: number(fields.rows_done) ?? 0,
    startedAt: number(fields.started_at),
    lastDoneAt: number(fields.last_done_at),
  };
}

/** Deletes the job's record, counters and done set (`jobs clean`). */
export async function deleteJobKeys(redis: Redis, name: string): Promise<void> {
  await redis.del(jobKey(name), doneKey(name));
}

/** Whether the job still exists (a worker drops the chunks of a job cleaned while they ran). */
export async function jobExists(redis: Redis, name: string): Promise<boolean> {
  return (await redis.hexists(jobKey(name), 'record')) === 1;
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
