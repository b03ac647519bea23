/**
 * `seqbatch jobs collect`: writes a finished job's rows, every row once and in input order, through the local
 * command's row writer (src/cli/io): the same JSONL or CSV bytes, the work file renamed into place at the end,
 * and the manifest with the local command's fingerprint beside it. The chunk files are read in chunk order, one
 * at a time, so collecting never holds the whole output. Collecting again writes the same file.
 *
 * A rerank job's rows come out ranked, as the local command writes them: its chunks hold each document's score,
 * and collect ranks them once it has read the last chunk (holding every score and row, as the local command does).
 *
 * With `wait`, collect follows a job still running: it writes each chunk as soon as it and every chunk before it
 * are done, so the output grows while the workers run and is complete moments after the last chunk, instead of
 * starting then. A parked chunk stops it (naming the chunk and its error), and so does a submit that failed half-way.
 */
import type { Redis } from 'ioredis';
import { QueueError } from '../errors.js';
import {
  openRowWriter,
  writeRanked,
  type InputRow,
  type OutputSpec,
  type RowWriter,
} from '../cli/io/index.js';
import { chunkFile, readChunkRecords, readChunkRows } from './chunk-files.js';
import { loadJob, pollDone, type JobRecord } from './job-record.js';
import { chunkId, openQueue } from './queue.js';
import { parkedChunks, statusOf, type ParkedChunk } from './status.js';

export interface CollectSpec {
  output: OutputSpec;
  /** The shared results folder as mounted here (default: the one the job recorded). */
  resultsDir?: string;
  /** Follow a running job, asking Redis every `intervalMs` for chunks newly done. */
  wait?: { intervalMs: number };
}

export async function collectJob(
  redis: Redis,
  name: string,
  url: string,
  spec: CollectSpec,
): Promise<{ rows: number }> {
  let record = await loadJob(redis, name, url);
  let finishedChunks = 0;
  if (spec.wait === undefined) {
    const status = await statusOf(redis, record);
    finishedChunks = status.chunks;
    if (!status.submitted || status.done < status.chunks) {
      throw new QueueError(
        `job ${name} is not finished: ${status.done} of ${status.chunks} chunks done, ${status.running} running, ` +
          `${status.waiting} waiting, ${status.failed} parked${parkedList(status.parked)}` +
          (status.submit_error !== null
            ? `; its submit failed: ${status.submit_error}`
            : status.submitted
              ? ' (collect --wait follows it to the end)'
              : '; submit is still queuing chunks (collect --wait follows it to the end)'),
        { argument: 'JOB' },
      );
    }
  } else {
    record = await untilChecked(redis, record, url, spec.wait.intervalMs);
  }
  const chunks = new ChunkReader(record, spec.resultsDir ?? record.resultsDir);
  const writer = await openRowWriter({ ...spec.output, run: record.run, inputName: record.input });
  try {
    if (spec.wait === undefined) {
      for (let chunk = 0; chunk < finishedChunks; chunk++) await chunks.write(chunk, writer);
    } else {
      await follow(redis, record, chunks, writer, spec.wait.intervalMs);
    }
    await chunks.finish(writer);
    writer.endInput(chunks.rows);
  } finally {
    await writer.close();
  }
  return { rows: chunks.rows };
}

function parkedList(parked: readonly ParkedChunk[]): string {
  return parked.length === 0
    ? ''
    : ` (${parked.map((chunk) => `chunk ${chunk.chunk}: ${chunk.error}`).join('; ')})`;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * The record once submit has checked the flags against the model (which it does while queuing the first chunks):
 * the output's manifest needs the run fingerprint recorded then.
 */
async function untilChecked(redis: Redis, record: JobRecord, url: string, intervalMs: number) {
  while (record.run === undefined) {
    await sleep(intervalMs);
    record = await loadJob(redis, record.name, url); // a job removed meanwhile (its check failed) ends the wait
  }
  return record;
}

/** Chunks a poll asks about at once (the done set is never read whole). */
const LOOK_AHEAD = 64;

/**
 * Writes chunks in order as they are done, until the last one; stops at a parked chunk or a failed submit. Each
 * poll is one round trip (the counters and whether the next chunks are done); only while the next chunk is not
 * done does it also ask BullMQ for that chunk's state (parked or not), on one queue kept for the whole wait.
 */
async function follow(
  redis: Redis,
  record: JobRecord,
  chunks: ChunkReader,
  writer: RowWriter,
  intervalMs: number,
): Promise<void> {
  const queue = openQueue(record.queue, redis);
  try {
    let next = 0;
    for (;;) {
      // The counters are read before the done flags: a total seen here is final, and every chunk done by then shows.
      const { counters, doneInARow } = await pollDone(redis, record.name, next, LOOK_AHEAD);
      if (counters === undefined) {
        throw new QueueError(
          `job ${record.name} was removed while collect followed it; the ${chunks.rows} rows before chunk ${next} were written`,
          { argument: 'JOB' },
        );
      }
      for (let i = 0; i < doneInARow; i++) await chunks.write(next++, writer);
      if (counters.state === 'queued' && next >= counters.chunks!) return;
      if (doneInARow === LOOK_AHEAD) continue;
      if ((await queue.getJobState(chunkId(record.name, next))) === 'failed') {
        throw new QueueError(
          `job ${record.name} has parked chunks${parkedList(await parkedChunks(queue, record))}; the ${chunks.rows} rows before chunk ${next} were written`,
          { argument: 'JOB' },
        );
      }
      if (counters.state === 'failed') {
        throw new QueueError(
          `job ${record.name}: its submit failed (${counters.submitError}); the ${chunks.rows} rows before chunk ${next} were written`,
          { argument: 'JOB' },
        );
      }
      await sleep(intervalMs);
    }
  } finally {
    await queue.close();
  }
}

/**
 * Reads a chunk's input rows and results and hands them to the writer, checking they belong together. A ranked
 * job's (rerank) chunks hold scores: they are kept until the last chunk, then ranked and written in rank order.
 */
class ChunkReader {
  rows = 0;
  private readonly scored: { rows: InputRow[]; scores: number[] } = { rows: [], scores: [] };

  constructor(
    private readonly record: JobRecord,
    private readonly resultsDir: string,
  ) {}

  async write(chunk: number, writer: RowWriter): Promise<void> {
    const name = this.record.name;
    const [inputs, records] = await Promise.all([
      readChunkRows(chunkFile(this.resultsDir, name, 'input', chunk)),
      readChunkRecords(chunkFile(this.resultsDir, name, 'results', chunk)),
    ]);
    if (records.length !== inputs.length || inputs[0]?.index !== this.rows) {
      const resultsPath = chunkFile(this.resultsDir, name, 'results', chunk);
      throw new QueueError(
        `${resultsPath}: holds ${records.length} rows for a chunk of ${inputs.length} starting at row ${inputs[0]?.index}, expected row ${this.rows}`,
        { file: resultsPath },
      );
    }
    this.rows += inputs.length;
    if (this.record.ranking === undefined) {
      await writer.write(records, inputs);
      return;
    }
    for (const [i, row] of inputs.entries()) {
      this.scored.rows.push(row);
      this.scored.scores.push(records[i]!.score as number);
    }
  }

  /** Writes a ranked job's rows, once every chunk is read. */
  async finish(writer: RowWriter): Promise<void> {
    if (this.record.ranking === undefined) return;
    await writeRanked(writer, this.scored.rows, this.scored.scores, this.record.ranking);
  }
}
