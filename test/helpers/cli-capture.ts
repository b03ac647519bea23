/** Captures what an in-process CLI command writes: stdout (JSONL records) and stderr. */
import { PassThrough, Writable } from 'node:stream';
import type { RowsCommandIO } from '../../src/cli/io/index.js';

export function capture(): {
  io: RowsCommandIO;
  records: () => Record<string, unknown>[];
  stdout: () => string;
  stderr: () => string;
} {
  const stdout = new PassThrough();
  let out = '';
  stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
  let err = '';
  const stderr = new Writable({
    write(chunk, _encoding, callback) {
      err += String(chunk);
      callback();
    },
  }) as unknown as NodeJS.WriteStream;
  return {
    io: { stdout, stderr },
    records: () =>
      out
        .trim()
        .split('\n')
        .filter((line) => line !== '')
        .map((line) => JSON.parse(line)),
    stdout: () => out,
    stderr: () => err,
  };
}
