/**
 * The files of a job in its results folder, shared by submit, the workers and collect:
 *
 *   RESULTS_DIR/NAME/input/000042.jsonl     the chunk's input rows ({index, line, text, textPair?} per line)
 *   RESULTS_DIR/NAME/results/000042.jsonl   its output records, one JSON object per row, in row order
 *
 * Each file is written whole to a temporary name and renamed into place, so a reader never sees half a chunk and a
 * worker killed mid-write leaves nothing that looks finished. Two workers finishing the same chunk write the same
 * bytes; the later rename simply wins.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, readFile, rename, unlink, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { QueueError } from '../errors.js';
import type { InputRow, OutputRecord } from '../cli/io/index.js';

export type ChunkPart = 'input' | 'results';

export function chunkFile(resultsDir: string, job: string, part: ChunkPart, chunk: number): string {
  return join(resultsDir, job, part, `${String(chunk).padStart(6, '0')}.jsonl`);
}

/** Writes `lines` (JSON values) as JSONL, atomically. */
export async function writeChunkFile(path: string, values: readonly unknown[]): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  let text = '';
  for (const value of values) text += JSON.stringify(value) + '\n';
  const temporary = `${path}.${process.pid}-${randomBytes(4).toString('hex')}.tmp`;
  try {
    await writeFile(temporary, text);
    await rename(temporary, path);
  } catch (error) {
    await unlink(temporary).catch(() => {});
    throw error;
  }
}

async function readChunkLines(path: string, what: string): Promise<unknown[]> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    throw new QueueError(
      `${path}: cannot read the ${what}: ${(error as Error).message} (is the results folder shared with this machine? pass --results-dir)`,
      { file: path, argument: '--results-dir', cause: error },
    );
  }
  const lines = text.split('\n');
  if (lines.pop() !== '') {
    throw new QueueError(`${path}: the ${what} does not end with a newline (cut short)`, { file: path });
  }
  return lines.map((line, i) => {
    try {
      return JSON.parse(line) as unknown;
    } catch {
      throw new QueueError(`${path}:${i + 1}: the ${what} holds a line that is not JSON`, { file: path });
    }
  });
}

export async function readChunkRows(path: string): Promise<InputRow[]> {
  return (await readChunkLines(path, 'chunk input')) as InputRow[];
}

export async function readChunkRecords(path: string): Promise<OutputRecord[]> {
  return (await readChunkLines(path, 'chunk results')) as OutputRecord[];
}
