/**
 * Appends output records to stdout or a file a batch at a time, each batch in one write that has completed (and,
 * with `fsync`, reached the disk) before the next batch is processed, so a killed run loses no finished row.
 * With `resume`, the existing file is read back first: a torn last line is cut off and the number of complete
 * rows is reported so the caller can skip that many input rows.
 */
import { open, stat, type FileHandle } from 'node:fs/promises';
import { extname } from 'node:path';
import type { Writable } from 'node:stream';
import { parse as parseCsv } from 'csv-parse/sync';
import { InputError } from '../../errors.js';
import {
  csvRecords,
  csvRows,
  jsonlLines,
  OUTPUT_FORMATS,
  type OutputFormat,
  type OutputRecord,
} from './output-format.js';
import { scanOutputFile } from './output-scan.js';

export interface OutputSpec {
  /** `jsonl` or `csv`; default: from the output file extension (`.csv`), else `jsonl`. */
  format?: OutputFormat;
  /** Output file; undefined or `-` writes stdout. */
  file?: string;
  /** Continue a previous run's output file instead of replacing it. Needs `file`. */
  resume?: boolean;
  /** fsync the file after every batch (survives power loss, not just a killed process). */
  fsync?: boolean;
  /** CSV column order; default: the keys of the first record written. */
  columns?: string[];
  /** Stream written when there is no file (tests pass their own). Default process.stdout. */
  stdout?: Writable;
}

export interface RowWriter {
  readonly format: OutputFormat;
  /** Complete rows already in the file when resuming (0 otherwise): skip that many input rows. */
  readonly resumedRows: number;
  /** Writes the records after all earlier ones; resolves once the bytes are handed to the OS (and synced). */
  write(records: readonly OutputRecord[]): Promise<void>;
  close(): Promise<void>;
}

export function resolveOutputFormat(spec: OutputSpec): OutputFormat {
  if (spec.format !== undefined) {
    if (!(OUTPUT_FORMATS as readonly string[]).includes(spec.format)) {
      throw new InputError(`--format: expected one of ${OUTPUT_FORMATS.join(', ')}, got "${spec.format}"`, {
        argument: '--format',
      });
    }
    return spec.format;
  }
  return spec.file !== undefined && extname(spec.file).toLowerCase() === '.csv' ? 'csv' : 'jsonl';
}

export async function openRowWriter(spec: OutputSpec): Promise<RowWriter> {
  const format = resolveOutputFormat(spec);
  const toStdout = spec.file === undefined || spec.file === '-';
  if (toStdout) {
    if (spec.resume) {
      throw new InputError('--resume needs --output FILE (it continues that file)', { argument: '--resume' });
    }
    return new StreamRowWriter(format, spec.stdout ?? process.stdout, spec.columns);
  }
  const file = spec.file!;
  let resumedRows = 0;
  let columns = spec.columns;
  let headerPresent = false;
  let handle: FileHandle;
  try {
    if (spec.resume && (await exists(file))) {
      const scan = await scanOutputFile(file, format === 'csv');
      handle = await open(file, 'r+');
      if (scan.completeBytes < scan.totalBytes) await handle.truncate(scan.completeBytes);
      await handle.close();
      if (format === 'csv' && scan.firstRecord !== undefined) {
        columns = csvHeader(scan.firstRecord, file);
        headerPresent = true;
        resumedRows = scan.records - 1;
      } else if (format === 'jsonl') {
        resumedRows = scan.records;
      }
      handle = await open(file, 'a');
    } else {
      handle = await open(file, 'w');
    }
  } catch (error) {
    if (error instanceof InputError) throw error;
    throw new InputError(`${file}: cannot write output: ${(error as Error).message}`, {
      file,
      argument: '--output',
      cause: error,
    });
  }
  const writer = new FileRowWriter(format, handle, file, spec.fsync ?? false, columns);
  writer.resumedRows = resumedRows;
  writer.headerWritten = headerPresent;
  return writer;
}

async function exists(file: string): Promise<boolean> {
  try {
    await stat(file);
    return true;
  } catch {
    return false;
  }
}

function csvHeader(line: string, file: string): string[] {
  try {
    const [header] = parseCsv(line) as string[][];
    if (header !== undefined && header.length > 0) return header;
  } catch {
    // fall through to the error below
  }
  throw new InputError(`${file}:1: cannot resume: the first line is not a CSV header`, {
    file,
    argument: '--resume',
  });
}

/** Shared CSV/JSONL encoding; subclasses only move bytes. */
abstract class EncodingRowWriter implements RowWriter {
  resumedRows = 0;
  headerWritten = false;

  constructor(
    readonly format: OutputFormat,
    protected columns: string[] | undefined,
  ) {}

  protected encode(records: readonly OutputRecord[]): string {
    if (this.format === 'jsonl') return jsonlLines(records);
    let out = '';
    if (this.columns === undefined) {
      if (records.length === 0) return '';
      this.columns = Object.keys(records[0]!);
    }
    if (!this.headerWritten) {
      out += csvRows([this.columns]);
      this.headerWritten = true;
    }
    return out + csvRecords(records, this.columns);
  }

  abstract write(records: readonly OutputRecord[]): Promise<void>;
  abstract close(): Promise<void>;
}

class FileRowWriter extends EncodingRowWriter {
  constructor(
    format: OutputFormat,
    private readonly handle: FileHandle,
    private readonly file: string,
    private readonly fsync: boolean,
    columns: string[] | undefined,
  ) {
    super(format, columns);
  }

  async write(records: readonly OutputRecord[]): Promise<void> {
    const bytes = Buffer.from(this.encode(records), 'utf8');
    if (bytes.length === 0) return;
    try {
      let offset = 0;
      while (offset < bytes.length) {
        const { bytesWritten } = await this.handle.write(bytes, offset, bytes.length - offset);
        offset += bytesWritten;
      }
      if (this.fsync) await this.handle.datasync();
    } catch (error) {
      throw new InputError(`${this.file}: write failed: ${(error as Error).message}`, {
        file: this.file,
        argument: '--output',
        cause: error,
      });
    }
  }

  async close(): Promise<void> {
    await this.handle.close();
  }
}

/** The reader of stdout went away (`seqbatch ... | head`): stop quietly, there is no one left to write for. */
export class OutputClosedError extends Error {
  constructor(cause: unknown) {
    super('output closed by its reader', { cause });
    this.name = 'OutputClosedError';
  }
}

class StreamRowWriter extends EncodingRowWriter {
  private failure: unknown;
  private readonly onError = (error: unknown) => {
    this.failure ??= error;
  };

  constructor(
    format: OutputFormat,
    private readonly stream: Writable,
    columns: string[] | undefined,
  ) {
    super(format, columns);
    // Without a listener an EPIPE 'error' event would crash the process instead of ending the run.
    stream.on('error', this.onError);
  }

  write(records: readonly OutputRecord[]): Promise<void> {
    if (this.failure !== undefined) return Promise.reject(streamError(this.failure));
    const text = this.encode(records);
    if (text === '') return Promise.resolve();
    // Resolving on the write callback waits for the data to leave our buffers (backpressure for free).
    return new Promise((resolve, reject) => {
      this.stream.write(text, (error) => (error ? reject(streamError(error)) : resolve()));
    });
  }

  async close(): Promise<void> {
    // stdout is never ended: other output (or the shell) may still use it.
    this.stream.off('error', this.onError);
  }
}

function streamError(error: unknown): unknown {
  return (error as NodeJS.ErrnoException)?.code === 'EPIPE' ? new OutputClosedError(error) : error;
}
