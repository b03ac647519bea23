/**
 * Where `--resume` continues, and whether it may: the output's unfinished work file (left by a run that was
 * killed before it could rename it into place) or the output itself, checked against its manifest (or, for a
 * plain output from an older version, line by line). Reads only: nothing is changed until the first new rows are
 * ready to append.
 */
import type { Hash } from 'node:crypto';
import { rename, stat, unlink } from 'node:fs/promises';
import { parse as parseCsv } from 'csv-parse/sync';
import { InputError } from '../../errors.js';
import { checkPlainOutput, type PlainRowShape } from './output-legacy.js';
import {
  hashPrefix,
  manifestPath,
  matchState,
  readManifest,
  runDifferences,
  type OutputManifest,
  type RunFingerprint,
} from './output-manifest.js';
import type { OutputFormat } from './output-format.js';
import { scanOutputFile } from './output-scan.js';

/** What every refusal tells the user to do instead. */
export const START_OVER = 'run without --resume to replace it, or write to another --output';

export interface ResumePoint {
  /** The file continued: the output, or its work file. */
  file: string;
  /** Complete rows in it (the CSV header not counted): skip that many input rows. */
  rows: number;
  /** Bytes kept; a torn write after them is cut once new rows are ready to append. */
  keepBytes: number;
  /** The CSV header found, to keep writing under. */
  header?: string[];
  /** sha256 of the kept bytes, to continue. */
  outputDigest: Hash;
  /** The manifest the file was checked against; undefined for a plain output. */
  manifest?: OutputManifest;
  /** The digest the skipped input rows must have (from the manifest); undefined for a plain output. */
  inputSha256?: string;
  /** A plain output's row shape, which the first new records must fit. */
  plainShape?: PlainRowShape;
}

export async function exists(path: string): Promise<boolean> {
  try {
    await stat(path);
    return true;
  } catch {
    return false;
  }
}

/**
 * Finds what a `--resume` run continues: `workFile` when a killed run left one (with its manifest), else the
 * output; undefined when neither exists (a new output). Throws an InputError saying what differs when the file
 * cannot be trusted.
 */
export async function findResumePoint(
  output: string,
  workFile: string,
  format: OutputFormat,
  run: RunFingerprint,
): Promise<ResumePoint | undefined> {
  if (await exists(workFile)) {
    if (!(await exists(manifestPath(workFile)))) {
      throw new InputError(
        `${workFile}: cannot resume: this unfinished output has no manifest (${manifestPath(workFile)}); delete it to resume ${output}, or ${START_OVER}`,
        { file: workFile, argument: '--resume' },
      );
    }
    return checkedPoint(workFile, await readManifest(manifestPath(workFile)), format, run);
  }
  await settleStrayWorkManifest(output, workFile);
  if (!(await exists(output))) return undefined;
  if (await exists(manifestPath(output))) {
    return checkedPoint(output, await readManifest(manifestPath(output)), format, run);
  }
  return plainPoint(output, format);
}

/**
 * A work file's manifest without the work file: the run was killed between renaming the two into place (the
 * manifest then describes the output exactly: keep it), or while discarding an old work file (drop it).
 */
async function settleStrayWorkManifest(output: string, workFile: string): Promise<void> {
  const stray = manifestPath(workFile);
  if (!(await exists(stray))) return;
  const manifest = await readManifest(stray).catch(() => undefined);
  const match = manifest && (await exists(output)) ? await matchState(output, manifest) : undefined;
  if (match?.kind === 'state') await rename(stray, manifestPath(output));
  else await unlink(stray);
}

async function checkedPoint(
  file: string,
  manifest: OutputManifest,
  format: OutputFormat,
  run: RunFingerprint,
): Promise<ResumePoint> {
  const differences = runDifferences(manifest, format, run);
  if (differences.length > 0) {
    throw new InputError(
      `${file}: cannot resume: it was written by another run (${differences.join('; ')}); repeat that run's options, or ${START_OVER}`,
      { file, argument: '--resume' },
    );
  }
  const match = await matchState(file, manifest);
  if (match.kind === 'extra') {
    throw new InputError(
      `${file}: cannot resume: ${match.extraLines} line(s) (${match.extraBytes} bytes) follow the ${match.state.rows} rows seqbatch wrote, added by something else; remove them, or ${START_OVER}`,
      { file, argument: '--resume' },
    );
  }
  if (match.kind === 'changed') {
    throw new InputError(
      `${file}: cannot resume: the file was changed after seqbatch wrote it (${match.bytes} bytes that match neither of the states in ${manifestPath(file)}); ${START_OVER}`,
      { file, argument: '--resume' },
    );
  }
  const point: ResumePoint = {
    file,
    rows: match.state.rows,
    keepBytes: match.state.bytes,
    outputDigest: match.digests,
    manifest,
    inputSha256: match.state.inputSha256,
  };
  if (format === 'csv' && match.state.bytes > 0) point.header = await csvHeader(file);
  return point;
}

/** An output without a manifest: resumable when every complete line reads as a row of one command. */
async function plainPoint(file: string, format: OutputFormat): Promise<ResumePoint> {
  const scan = await scanOutputFile(file, format === 'csv');
  const plain = await checkPlainOutput(file, format, scan.completeBytes);
  const point: ResumePoint = {
    file,
    rows: plain.rows,
    keepBytes: scan.completeBytes,
    outputDigest: await hashPrefix(file, scan.completeBytes),
  };
  if (plain.shape !== undefined) point.plainShape = plain.shape;
  if (format === 'csv' && plain.shape !== undefined) point.header = plain.shape.keys;
  return point;
}

async function csvHeader(file: string): Promise<string[]> {
  const { firstRecord } = await scanOutputFile(file, true);
  try {
    const [header] = parseCsv(firstRecord ?? '') as string[][];
    if (header !== undefined && header.length > 0) return header;
  } catch {
    // reported below
  }
  throw new InputError(`${file}:1: cannot resume: the first line is not a CSV header; ${START_OVER}`, {
    file,
    argument: '--resume',
  });
}
