/**
 * Opens an input file (or stdin) as a stream of text chunks and splits it into lines, keeping memory bounded by the
 * stream's chunk size however large the file is.
 */
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import type { Readable } from 'node:stream';
import { InputError } from '../../errors.js';

/** How a source is named in messages: its path, or `<stdin>`. */
export const STDIN_NAME = '<stdin>';

/** Opens a file for reading, failing with an InputError naming it when it is missing, a folder or unreadable. */
export async function openSourceFile(file: string): Promise<Readable> {
  let info;
  try {
    info = await stat(file);
  } catch (error) {
    const reason = (error as NodeJS.ErrnoException).code === 'ENOENT' ? 'file not found' : String(error);
    throw new InputError(`${file}: cannot read input: ${reason}`, {
      file,
      argument: '--input',
      cause: error,
    });
  }
  if (info.isDirectory()) {
    throw new InputError(`${file}: cannot read input: is a directory`, { file, argument: '--input' });
  }
  return createReadStream(file);
}

/** Yields decoded text chunks; a read error becomes an InputError naming the source. */
export async function* textChunks(stream: Readable, name: string): AsyncGenerator<string> {
  stream.setEncoding('utf8');
  try {
    for await (const chunk of stream) yield chunk as string;
  } catch (error) {
    throw new InputError(`${name}: read failed: ${(error as Error).message}`, { file: name, cause: error });
  }
}

export interface SourceLine {
  /** The line without its `\n` / `\r\n` terminator (and without a leading byte-order mark on line 1). */
  text: string;
  /** 1-based line number. */
  number: number;
}

/** Splits a stream into lines ("\n" or "\r\n"); a last line without a terminator is still a line. */
export async function* sourceLines(stream: Readable, name: string): AsyncGenerator<SourceLine> {
  let pending = '';
  let number = 0;
  let first = true;
  for await (let chunk of textChunks(stream, name)) {
    if (first) {
      if (chunk.charCodeAt(0) === 0xfeff) chunk = chunk.slice(1);
      first = false;
    }
    let start = 0;
    let newline = chunk.indexOf('\n');
    while (newline !== -1) {
      let line = pending + chunk.slice(start, newline);
      pending = '';
      if (line.endsWith('\r')) line = line.slice(0, -1);
      yield { text: line, number: ++number };
      start = newline + 1;
      newline = chunk.indexOf('\n', start);
    }
    pending += chunk.slice(start);
  }
  if (pending !== '') {
    yield { text: pending.endsWith('\r') ? pending.slice(0, -1) : pending, number: ++number };
  }
}
