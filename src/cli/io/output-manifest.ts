/**
 * The manifest kept beside an output file (`labels.jsonl.seqbatch.json`) so that `--resume` can verify an output
 * before it trusts it: what the run was (command, options that change the output, format) and how far it got
 * (rows written, a digest of the output bytes and of the input rows they came from).
 *
 * A manifest rather than extra fields in every row: rows stay exactly what the command promises (a CSV keeps its
 * columns, a JSONL consumer sees no bookkeeping keys), and the digests cover the file as a whole, so a line added,
 * removed or edited anywhere is caught, not only in the rows that carry the fields.
 *
 * Crash safety: before each write the manifest is replaced (atomically, by rename) with the state the output will
 * have once the write completes, keeping the state before it as `previous`. A process killed at any moment thus
 * leaves a file that matches `state` (the write completed) or starts with `previous` (it did not: the torn tail is
 * cut), and anything else was changed by someone else.
 */
import { createHash, type Hash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { readFile, rename, writeFile, open } from 'node:fs/promises';
import { isDeepStrictEqual } from 'node:util';
import { InputError } from '../../errors.js';
import type { InputRow } from './input-row.js';
import type { OutputFormat } from './output-format.js';
import { durability } from './sync-directory.js';

export const MANIFEST_SUFFIX = '.seqbatch.json';
const MANIFEST_VERSION = 1;

/** How far an output got. */
export interface OutputState {
  /** Output rows (the CSV header not counted). */
  rows: number;
  /** Bytes of the output file. */
  bytes: number;
  /** sha256 of those bytes. */
  outputSha256: string;
  /** sha256 of the input rows those output rows came from (see inputRowBytes). */
  inputSha256: string;
}

/** What a run is: two runs with equal fingerprints write the same rows for the same input. */
export type RunFingerprint = Record<string, unknown>;

export interface OutputManifest {
  seqbatch: number;
  format: OutputFormat;
  /** The command and the options that change its output. */
  run: RunFingerprint;
  /** The input as given (for messages only: the input is checked by the digest of its rows). */
  input: string;
  /** The file's state once its last write completed. */
  state: OutputState;
  /** The state before that write: what the file holds if the process died during it. */
  previous: OutputState;
}

export function manifestPath(output: string): string {
  return output + MANIFEST_SUFFIX;
}

/** The bytes an input row contributes to the input digest: its text and pair, unambiguously delimited. */
export function inputRowBytes(row: InputRow): string {
  return JSON.stringify([row.text, row.textPair ?? null]) + '\n';
}

/** Running digests of the output bytes and the input rows, from which each new state is taken. */
export class RunDigests {
  constructor(
    readonly output: Hash = createHash('sha256'),
    readonly input: Hash = createHash('sha256'),
  ) {}

  addInput(rows: readonly InputRow[]): void {
    for (const row of rows) this.input.update(inputRowBytes(row));
  }

  /** The state after `rows` rows and `bytes` bytes, digests so far (the hashes stay open). */
  state(rows: number, bytes: number): OutputState {
    return {
      rows,
      bytes,
      outputSha256: this.output.copy().digest('hex'),
      inputSha256: this.input.copy().digest('hex'),
    };
  }
}

export async function readManifest(path: string): Promise<OutputManifest> {
  let value: unknown;
  try {
    value = JSON.parse(await readFile(path, 'utf8'));
  } catch (error) {
    throw new InputError(
      `${path}: cannot resume: the manifest is unreadable (${(error as Error).message}); delete the output and ${path} to start over, or run without --resume`,
      { file: path, argument: '--resume', cause: error },
    );
  }
  const manifest = value as Partial<OutputManifest>;
  const stateOk = (s: unknown) =>
    typeof s === 'object' &&
    s !== null &&
    ['rows', 'bytes'].every((k) => Number.isInteger((s as Record<string, unknown>)[k])) &&
    ['outputSha256', 'inputSha256'].every((k) => typeof (s as Record<string, unknown>)[k] === 'string');
  if (
    manifest?.seqbatch !== MANIFEST_VERSION ||
    typeof manifest.run !== 'object' ||
    !stateOk(manifest.state) ||
    !stateOk(manifest.previous)
  ) {
    throw new InputError(
      `${path}: cannot resume: not a seqbatch output manifest (version ${MANIFEST_VERSION}); delete it and the output to start over, or run without --resume`,
      { file: path, argument: '--resume' },
    );
  }
  return manifest as OutputManifest;
}

/** Replaces the manifest atomically (a reader sees the old one or the new one, never a mix). */
export async function writeManifest(path: string, manifest: OutputManifest, fsync: boolean): Promise<void> {
  const temporary = `${path}.tmp`; // one name: a copy left by a killed run is replaced by the next write
  const text = JSON.stringify(manifest, null, 1) + '\n';
  if (fsync) {
    const handle = await open(temporary, 'w');
    try {
      await handle.writeFile(text);
      await handle.datasync();
    } finally {
      await handle.close();
    }
  } else {
    await writeFile(temporary, text);
  }
  await rename(temporary, path);
  if (fsync) await durability.syncDirectoryOf(path);
}

/** `--top-k` for `topK`: how an option key is spelled on the command line, for messages. */
function flagName(key: string): string {
  return '--' + key.replace(/[A-Z]/g, (c) => '-' + c.toLowerCase());
}

/** Differences between the recorded run and this one, one phrase each (empty when they are the same run). */
export function runDifferences(
  recorded: OutputManifest,
  format: OutputFormat,
  run: RunFingerprint,
): string[] {
  const differences: string[] = [];
  if (recorded.format !== format) differences.push(`--format: ${recorded.format} before, ${format} now`);
  const keys = new Set([...Object.keys(recorded.run), ...Object.keys(run)]);
  for (const key of keys) {
    const before = recorded.run[key];
    const now = run[key];
    if (isDeepStrictEqual(before, now)) continue;
    const show = (value: unknown) => (value === undefined ? 'not given' : JSON.stringify(value));
    const name = key === 'command' || key === 'modelDir' ? key : flagName(key);
    differences.push(`${name}: ${show(before)} before, ${show(now)} now`);
  }
  return differences;
}

/** sha256 of a file's first `bytes` bytes, left open to continue. */
export async function hashPrefix(file: string, bytes: number): Promise<Hash> {
  const hash = createHash('sha256');
  if (bytes === 0) return hash;
  for await (const chunk of createReadStream(file, { end: bytes - 1 }) as AsyncIterable<Buffer>)
    hash.update(chunk);
  return hash;
}

/** How a file compares with its manifest's states. */
export type StateMatch =
  | { kind: 'state' | 'previous'; state: OutputState; digests: Hash }
  | { kind: 'extra'; state: OutputState; extraBytes: number; extraLines: number }
  | { kind: 'changed'; bytes: number };

/**
 * Reads the file once, hashing it, and says which recorded state it holds: `state` (the last write completed),
 * `previous` (the process died during the last write: the bytes after it are a torn write), `extra` (the file goes
 * on after the complete state: lines added by someone else) or `changed` (its recorded bytes were altered).
 * The returned hash covers exactly the matched state's bytes, ready to continue.
 */
export async function matchState(file: string, manifest: OutputManifest): Promise<StateMatch> {
  const { state, previous } = manifest;
  const hash = createHash('sha256');
  let atPrevious: Hash | undefined = previous.bytes === 0 ? hash.copy() : undefined;
  let atState: Hash | undefined = state.bytes === 0 ? hash.copy() : undefined;
  let position = 0;
  let extraLines = 0;
  for await (const chunk of createReadStream(file) as AsyncIterable<Buffer>) {
    const end = position + chunk.length;
    // Hash up to state.bytes (the larger offset); count the newlines after it.
    const hashedEnd = Math.min(end, state.bytes);
    if (hashedEnd > position) {
      const split = previous.bytes > position && previous.bytes <= hashedEnd ? previous.bytes : undefined;
      if (split !== undefined) {
        hash.update(chunk.subarray(0, split - position));
        atPrevious = hash.copy();
        hash.update(chunk.subarray(split - position, hashedEnd - position));
      } else {
        hash.update(chunk.subarray(0, hashedEnd - position));
      }
      if (hashedEnd === state.bytes) atState = hash.copy();
    }
    for (let i = Math.max(0, state.bytes - position); i < chunk.length; i++)
      if (chunk[i] === 0x0a) extraLines++;
    position = end;
  }
  const matches = (h: Hash | undefined, s: OutputState) =>
    h !== undefined && h.copy().digest('hex') === s.outputSha256;
  if (position >= state.bytes && matches(atState, state)) {
    if (position === state.bytes) return { kind: 'state', state, digests: atState! };
    return { kind: 'extra', state, extraBytes: position - state.bytes, extraLines };
  }
  if (position >= previous.bytes && position < state.bytes && matches(atPrevious, previous)) {
    return { kind: 'previous', state: previous, digests: atPrevious! };
  }
  return { kind: 'changed', bytes: position };
}
