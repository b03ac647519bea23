/**
 * `seqbatch jobs collect`: writes a finished job's rows, every row once and in input order, through the local
 * command's row writer (src/cli/io): the same JSONL or CSV bytes, the work file renamed into place at the end,
 * and the manifest with the local command's fingerprint beside it. The chunk files are read in chunk order, one
 * at a time, so collecting never holds the whole output. Collecting again writes the same file.
 */
import type { Redis } from 'ioredis';
import { QueueError } from '../errors.js';
import { openRowWriter, type OutputSpec } from '../cli/io/index.js';
import { chunkFile, readChunkRecords, readChunkRows } from './chunk-files.js';
import { loadJob } from './job-record.js';
import { statusOf } from './status.js';

export interface CollectSpec {
  output: OutputSpec;
  /** The shared results folder as mounted here (default: the one the job recorded). */
  resultsDir?: string;
}

export async function collectJob(
  redis: Redis,
  name: string,
  url: string,
  spec: CollectSpec,
): Promise<{ rows: number }> {
  const record = await loadJob(redis, name, url);
  const status = await statusOf(redis, record);
  if (!status.submitted || status.done < status.chunks) {
    const parked = status.parked.map((chunk) => `chunk ${chunk.chunk}: ${chunk.error}`).join('; ');
    throw new QueueError(
      `job ${name} is not finished: ${status.done} of ${status.chunks} chunks done, ${status.running} running, ` +
        `${status.waiting} waiting, ${status.failed} parked${parked ? ` (${parked})` : ''}` +
        (status.submitted ? '' : '; submit is still queuing chunks'),
      { argument: 'JOB' },
    );
  }
  const resultsDir = spec.resultsDir ?? record.resultsDir;
  const writer = await openRowWriter({ ...spec.output, run: record.run, inputName: record.input });
  let rows = 0;
  try {
    for (let chunk = 0; chunk < status.chunks; chunk++) {
      const inputs = await readChunkRows(chunkFile(resultsDir, name, 'input', chunk));
      const resultsPath = chunkFile(resultsDir, name, 'results', chunk);
      const records = await readChunkRecords(resultsPath);
      if (records.length !== inputs.length || inputs[0]?.index !== rows) {
        throw new QueueError(
          `${resultsPath}: holds ${records.length} rows for a chunk of ${inputs.length} starting at row ${inputs[0]?.index}, expected row ${rows}`,
          { file: resultsPath },
        );
      }
      await writer.write(records, inputs);
      rows += inputs.length;
    }
    writer.endInput(rows);
  } finally {
    await writer.close();
  }
  return { rows };
}
