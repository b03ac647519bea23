/**
 * Writes output records to stdout or a file a batch at a time, each batch in one write that has completed (and,
 * with `fsync`, reached the disk) before the next batch is processed, so a killed run loses no finished row.
 *
 * A file is never damaged by a failed run. Nothing is opened until the first records are ready. A new output is
 * written to a work file beside it (`labels.jsonl.partial`) and renamed into place when the run ends, however it
 * ends (finished, failed after some rows, interrupted); only a run killed outright leaves the work file, which
 * `--resume` continues. With `resume`, the existing rows are checked first (output-resume.ts) and the new ones
 * appended in place. Every write is preceded by an update of the manifest beside the file (output-manifest.ts).
 */
import { open, rename, unlink, type FileHandle } from 'node:fs/promises';
import { extname } from 'node:path';
import type { Writable } from 'node:stream';
import { InputError } from '../../errors.js';
import type { InputRow } from './input-row.js';
import { checkRecordsFit } from './output-legacy.js';
import {
  csvRecords,
  csvRows,
  jsonlLines,
  OUTPUT_FORMATS,
  type OutputFormat,
  type OutputRecord,
} from './output-format.js';
import {
  manifestPath,
  RunDigests,
  writeManifest,
  type OutputManifest,
  type OutputState,
  type RunFingerprint,
} from './output-manifest.js';
import { findResumePoint, START_OVER, type ResumePoint } from './output-resume.js';
import { durability } from './sync-directory.js';

/** The work file a new output is written to before it is renamed into place. */
export const WORK_FILE_SUFFIX = '.partial';

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
  /**
   * What the run is: the command and the options that change its output. Recorded in the manifest; `--resume`
   * refuses to continue an output written with a different one. Default `{}`.
   */
  run?: RunFingerprint;
  /** The input as the user named it, recorded in the manifest for messages. */
  inputName?: string;
}

export interface RowWriter {
  readonly format: OutputFormat;
  /** Complete rows already in the file when resuming (0 otherwise): skip that many input rows. */
  readonly resumedRows: number;
  /**
   * Called with each input row skipped because it is already done, in order: once all are seen, their digest is
   * checked against the manifest (another input is refused before anything is written).
   */
  skipInput(row: InputRow): void;
  /** Called when the input ended after `rows` rows: fewer than resumedRows is refused. */
  endInput(rows: number): void;
  /**
   * Writes the records of `rows` (one each) after all earlier ones; resolves once the bytes are handed to the OS
   * (and synced).
   */
  write(records: readonly OutputRecord[], rows: readonly InputRow[]): Promise<void>;
  /** Ends the output: a new output's work file is renamed into place (when it holds any row). */
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

/** Opens the output; with `resume`, checks what is there. Changes no file (that waits for the first write). */
export async function openRowWriter(spec: OutputSpec): Promise<RowWriter> {
  const format = resolveOutputFormat(spec);
  const toStdout = spec.file === undefined || spec.file === '-';
  if (toStdout) {
    if (spec.resume) {
      throw new InputError('--resume needs --output FILE (it continues that file)', { argument: '--resume' });
    }
    return new StreamRowWriter(format, spec.stdout ?? process.stdout, spec.columns);
  }
  const output = spec.file!;
  const workFile = output + WORK_FILE_SUFFIX;
  const run = spec.run ?? {};
  let point: ResumePoint | undefined;
  if (spec.resume) {
    try {
      point = await findResumePoint(output, workFile, format, run);
    } catch (error) {
      if (error instanceof InputError) throw error;
      throw new InputError(`${output}: cannot resume: ${(error as Error).message}`, {
        file: output,
        argument: '--resume',
        cause: error,
      });
    }
  }
  // Without --resume a new output goes through the work file; with it, rows are appended where they are.
  const file = point?.file ?? (spec.resume ? output : workFile);
  return new FileRowWriter({
    format,
    file,
    renameTo: file === workFile ? output : undefined,
    point,
    manifest: {
      seqbatch: 1,
      format,
      run,
      input: spec.inputName ?? '',
    },
    fsync: spec.fsync ?? false,
    columns: point?.header ?? spec.columns,
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

  abstract skipInput(row: InputRow): void;
  abstract endInput(rows: number): void;
  abstract write(records: readonly OutputRecord[], rows: readonly InputRow[]): Promise<void>;
  abstract close(): Promise<void>;
}

interface FileRowWriterSpec {
  format: OutputFormat;
  /** The file written: the output, or the work file renamed to `renameTo` at the end. */
  file: string;
  renameTo: string | undefined;
  point: ResumePoint | undefined;
  manifest: Omit<OutputManifest, 'state' | 'previous'>;
  fsync: boolean;
  columns: string[] | undefined;
}

class FileRowWriter extends EncodingRowWriter {
  private readonly file: string;
  private readonly digests: RunDigests;
  private state: OutputState;
  private handle: FileHandle | undefined;
  private skippedSeen = 0;
  /** The first write began: the file was checked, cut or cleared, and may be open. */
  private started = false;
  /** Some rows reached the file (else closing leaves every file as it was). */
  private wrote = false;
  /** The input ended with no row beyond those already in the resumed file: the output is complete as it is. */
  private completeAsResumed = false;

  constructor(private readonly spec: FileRowWriterSpec) {
    super(spec.format, spec.columns);
    this.file = spec.file;
    const point = spec.point;
    this.resumedRows = point?.rows ?? 0;
    this.headerWritten = point?.header !== undefined;
    this.digests = new RunDigests(point?.outputDigest);
    this.state = this.digests.state(this.resumedRows, point?.keepBytes ?? 0);
  }

  skipInput(row: InputRow): void {
    this.digests.addInput([row]);
    if (++this.skippedSeen !== this.resumedRows) return;
    const expected = this.spec.point?.inputSha256;
    if (expected !== undefined && expected !== this.digests.state(0, 0).inputSha256) {
      const was = this.spec.point?.manifest?.input;
      throw new InputError(
        `${this.file}: cannot resume: its ${this.resumedRows} rows were made from other input rows than the first ${this.resumedRows} of this input${was ? ` (it was made from ${was})` : ''}; give the same input, or ${START_OVER}`,
        { file: this.file, argument: '--resume' },
      );
    }
  }

  endInput(rows: number): void {
    this.completeAsResumed = rows === this.resumedRows && this.spec.point !== undefined;
    if (rows >= this.resumedRows) return;
    throw new InputError(
      `${this.file}: cannot resume: it holds ${this.resumedRows} rows but the input has only ${rows}, so it is not this input's output; ${START_OVER}`,
      { file: this.file, argument: '--resume' },
    );
  }

  async write(records: readonly OutputRecord[], rows: readonly InputRow[]): Promise<void> {
    if (records.length === 0) return;
    try {
      const bytes = Buffer.from(this.encode(records), 'utf8');
      if (!this.started) {
        await this.start(records[0]!);
        this.started = true;
        // Now that every skipped input row has been seen, the starting state has its input digest.
        this.state = this.digests.state(this.state.rows, this.state.bytes);
      }
      this.digests.output.update(bytes);
      this.digests.addInput(rows);
      const next = this.digests.state(this.state.rows + records.length, this.state.bytes + bytes.length);
      await writeManifest(
        manifestPath(this.file),
        { ...this.spec.manifest, state: next, previous: this.state },
        this.spec.fsync,
      );
      // A new file is created only now, so it never exists without a manifest that describes it.
      const created = this.handle === undefined;
      this.handle ??= await open(this.file, 'w');
      let offset = 0;
      while (offset < bytes.length) {
        const { bytesWritten } = await this.handle!.write(
          bytes,
          offset,
          bytes.length - offset,
          this.state.bytes + offset,
        );
        offset += bytesWritten;
      }
      if (this.spec.fsync) {
        await this.handle!.datasync();
        if (created) await durability.syncDirectoryOf(this.file); // the new file's name
      }
      this.state = next;
      this.wrote = true;
    } catch (error) {
      if (error instanceof InputError) throw error;
      throw new InputError(`${this.file}: write failed: ${(error as Error).message}`, {
        file: this.file,
        argument: '--output',
        cause: error,
      });
    }
  }

  /** The first write: only now is any file changed. */
  private async start(first: OutputRecord): Promise<void> {
    const point = this.spec.point;
    if (point?.plainShape !== undefined) checkRecordsFit(this.file, this.format, point.plainShape, first);
    if (point !== undefined) {
      this.handle = await open(this.file, 'r+');
      await this.handle.truncate(point.keepBytes); // a torn last write
      return;
    }
    // A stale work file of an earlier run: its data goes first, so its manifest is never left describing it alone.
    await unlinkIfPresent(this.file);
    await unlinkIfPresent(manifestPath(this.file));
  }

  async close(): Promise<void> {
    if (!this.started) {
      // A run killed after its last write but before the rename leaves a work file holding every row: a resume
      // then has nothing to write, yet must still put that file in place. Otherwise no file was touched.
      if (this.completeAsResumed) await this.finishResumedAsIs();
      return;
    }
    await this.handle?.close();
    const target = this.spec.renameTo;
    if (!this.wrote && this.spec.point === undefined) {
      // The first write failed: drop the file this run created rather than leave (or rename into place) nothing.
      await unlinkIfPresent(this.file);
      await unlinkIfPresent(manifestPath(this.file));
    } else if (this.wrote && target !== undefined) {
      await this.renameIntoPlace(target);
    }
  }

  /** A resumed file that already held every row: its torn tail is cut, and a work file is put in place. */
  private async finishResumedAsIs(): Promise<void> {
    const handle = await open(this.file, 'r+');
    try {
      await handle.truncate(this.spec.point!.keepBytes);
      if (this.spec.fsync) await handle.datasync();
    } finally {
      await handle.close();
    }
    if (this.spec.renameTo !== undefined) await this.renameIntoPlace(this.spec.renameTo);
  }

  private async renameIntoPlace(target: string): Promise<void> {
    // Data first: between the two renames the work manifest describes the output exactly (see output-resume).
    await rename(this.file, target);
    await rename(manifestPath(this.file), manifestPath(target));
    if (this.spec.fsync) await durability.syncDirectoryOf(target);
  }
}

async function unlinkIfPresent(path: string): Promise<void> {
  try {
    await unlink(path);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
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

  skipInput(): void {} // stdout output is never resumed
  endInput(): void {}

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
