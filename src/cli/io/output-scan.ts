/**
 * Reads back an output file written by a previous (possibly killed) run: how many complete records it holds and
 * where the last complete record ends, so `--resume` can cut a torn last line and append after it.
 *
 * Records end at "\n". In CSV a "\n" inside a quoted field is not a record end; since `"` and `\n` are ASCII, the
 * quote state can be tracked on raw UTF-8 bytes (a doubled `""` toggles twice, leaving the state unchanged).
 */
import { createReadStream } from 'node:fs';

export interface OutputScan {
  /** Complete records, the CSV header included. */
  records: number;
  /** Byte length of the file up to and including the last complete record's "\n". */
  completeBytes: number;
  /** Total byte length found. */
  totalBytes: number;
  /** The first complete record (the CSV header), without its terminator; undefined when none. */
  firstRecord?: string;
}

const NEWLINE = 0x0a;
const QUOTE = 0x22;

export async function scanOutputFile(path: string, quoted: boolean): Promise<OutputScan> {
  let records = 0;
  let completeBytes = 0;
  let position = 0;
  let inQuotes = false;
  const firstRecordChunks: Buffer[] = [];
  let firstRecord: string | undefined;
  for await (const chunk of createReadStream(path) as AsyncIterable<Buffer>) {
    let firstRecordEnd = -1;
    for (let i = 0; i < chunk.length; i++) {
      const byte = chunk[i];
      if (byte === QUOTE && quoted) inQuotes = !inQuotes;
      else if (byte === NEWLINE && !inQuotes) {
        records++;
        completeBytes = position + i + 1;
        if (records === 1) firstRecordEnd = i;
      }
    }
    if (firstRecord === undefined) {
      firstRecordChunks.push(firstRecordEnd === -1 ? chunk : chunk.subarray(0, firstRecordEnd));
      if (firstRecordEnd !== -1)
        firstRecord = Buffer.concat(firstRecordChunks).toString('utf8').replace(/\r$/, '');
    }
    position += chunk.length;
  }
  return { records, completeBytes, totalBytes: position, firstRecord };
}
