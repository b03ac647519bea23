/**
 * Downloads one blob into the cache the way Python's `huggingface_hub` does, so the two can resume each other's
 * downloads: bytes are appended to `blobs/<etag>.incomplete`, an interrupted download continues with a
 * `Range: bytes=<have>-` request, and only a complete file whose size and hash match the ETag is renamed
 * (atomically) to `blobs/<etag>`.
 */
import { createWriteStream } from 'node:fs';
import { mkdir, rename, rm, stat, truncate } from 'node:fs/promises';
import { dirname } from 'node:path';
import { Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { ReadableStream as WebReadableStream } from 'node:stream/web';
import { HubError } from '../errors.js';
import {
  HubConnectionError,
  describeTarget,
  hubFetch,
  raiseForStatus,
  type HubRequestContext,
} from './http.js';
import { digestForEtag, etagKind } from './integrity.js';
import type { FileProgress } from './progress.js';

export interface BlobDownload {
  ctx: HubRequestContext;
  /** Where to GET the bytes (the resolve URL or the CDN URL it redirected to). */
  url: string;
  headers: Record<string, string>;
  etag: string;
  expectedSize: number | undefined;
  blobPath: string;
  incompletePath: string;
}

export interface DownloadOptions {
  /** Extra attempts after a dropped connection, each resuming where the last stopped. */
  retries: number;
  /** Give up when no byte arrives for this long. */
  idleTimeoutMs: number;
  signal?: AbortSignal;
  progress?: (downloadedBytes: number, totalBytes: number | undefined) => FileProgress;
}

async function fileSize(path: string): Promise<number> {
  try {
    return (await stat(path)).size;
  } catch {
    return 0;
  }
}

/** A GET that aborts when the body stalls for `idleTimeoutMs`, not merely when it is slow overall. */
class IdleTimer {
  readonly controller = new AbortController();
  private timer: NodeJS.Timeout | undefined;

  constructor(private readonly idleTimeoutMs: number) {
    this.touch();
  }

  touch(): void {
    clearTimeout(this.timer);
    this.timer = setTimeout(
      () => this.controller.abort(new Error(`no data for ${this.idleTimeoutMs} ms`)),
      this.idleTimeoutMs,
    );
  }

  clear(): void {
    clearTimeout(this.timer);
  }
}

type AttemptResult = 'complete' | 'restart';

const LOCAL_FILE_SYSCALLS = new Set(['open', 'write', 'close', 'fsync', 'ftruncate', 'truncate', 'mkdir']);

function isLocalFileError(error: unknown): boolean {
  const syscall = (error as NodeJS.ErrnoException | undefined)?.syscall;
  return syscall !== undefined && LOCAL_FILE_SYSCALLS.has(syscall);
}

async function attempt(
  job: BlobDownload,
  options: DownloadOptions,
  fileProgress: () => FileProgress,
): Promise<AttemptResult> {
  const { ctx } = job;
  let have = await fileSize(job.incompletePath);
  if (job.expectedSize !== undefined && have > job.expectedSize) {
    // Longer than the file can be: not a prefix of it. Start over.
    await rm(job.incompletePath, { force: true });
    have = 0;
  }
  if (job.expectedSize !== undefined && have === job.expectedSize) return 'complete';

  const idle = new IdleTimer(options.idleTimeoutMs);
  const signal =
    options.signal === undefined
      ? idle.controller.signal
      : AbortSignal.any([options.signal, idle.controller.signal]);
  const headers: Record<string, string> = { ...job.headers, 'accept-encoding': 'identity' };
  if (have > 0) headers.range = `bytes=${have}-`;
  try {
    const response = await hubFetch(job.url, { headers, redirect: 'follow', signal }, ctx, options.signal);
    if (response.status === 416 && have > 0) {
      // The server cannot serve "the rest": our partial file does not match it. Start over.
      await response.body?.cancel().catch(() => undefined);
      await rm(job.incompletePath, { force: true });
      return 'restart';
    }
    await raiseForStatus(response, ctx);
    if (have > 0 && response.status !== 206) {
      // The server ignored the Range header and sends the whole file: drop what we had.
      await truncate(job.incompletePath, 0);
      have = 0;
    } else if (have > 0) {
      const start = /^bytes (\d+)-/.exec(response.headers.get('content-range') ?? '')?.[1];
      if (start === undefined || Number(start) !== have) {
        await response.body?.cancel().catch(() => undefined);
        await rm(job.incompletePath, { force: true });
        return 'restart';
      }
    }
    if (response.body === null) throw new HubError(`The Hub sent no body for ${describeTarget(ctx)}`);

    const progress = fileProgress();
    let written = have;
    progress.update(written);
    const counter = new Transform({
      transform(chunk: Buffer, _encoding, callback) {
        idle.touch();
        written += chunk.length;
        progress.update(written);
        callback(null, chunk);
      },
    });
    await mkdir(dirname(job.incompletePath), { recursive: true });
    await pipeline(
      Readable.fromWeb(response.body as WebReadableStream<Uint8Array>),
      counter,
      createWriteStream(job.incompletePath, { flags: 'a' }),
    );
    return 'complete';
  } catch (error) {
    if (options.signal?.aborted) throw options.signal.reason;
    if (error instanceof HubError && !(error instanceof HubConnectionError)) throw error;
    if (isLocalFileError(error)) {
      // Disk full, read-only cache, permissions: retrying or falling back to the network will not help.
      throw new HubError(
        `Could not write ${job.incompletePath} while downloading ${describeTarget(ctx)}: ` +
          `${(error as Error).message}`,
        { file: ctx.file, cause: error },
      );
    }
    const reason = idle.controller.signal.aborted
      ? (idle.controller.signal.reason as Error)
      : (error as Error);
    throw new HubConnectionError(
      `Download of ${describeTarget(ctx)} was interrupted after ${await fileSize(job.incompletePath)} bytes ` +
        `(${reason.message}); run again to resume from ${job.incompletePath}`,
      { file: ctx.file, cause: error },
    );
  } finally {
    idle.clear();
  }
}

/** Downloads, verifies and atomically publishes `blobs/<etag>`. */
export async function downloadBlob(job: BlobDownload, options: DownloadOptions): Promise<void> {
  const { ctx } = job;
  let current: FileProgress | undefined;
  const fileProgress = (): FileProgress => {
    current ??= options.progress?.(0, job.expectedSize) ?? { update() {}, finish() {} };
    return current;
  };
  await mkdir(dirname(job.incompletePath), { recursive: true });

  let restarts = 0;
  for (let failures = 0; ;) {
    let result: AttemptResult;
    try {
      result = await attempt(job, options, fileProgress);
    } catch (error) {
      if (error instanceof HubConnectionError && failures < options.retries) {
        failures++;
        continue;
      }
      throw error;
    }
    if (result === 'complete') break;
    if (++restarts > 1) {
      throw new HubError(`The server keeps refusing to resume ${describeTarget(ctx)} from ${job.url}`, {
        file: ctx.file,
      });
    }
  }

  const size = await fileSize(job.incompletePath);
  const mismatch = async (what: string): Promise<never> => {
    await rm(job.incompletePath, { force: true });
    throw new HubError(
      `Downloaded ${describeTarget(ctx)} is corrupt: ${what}. The partial file was deleted; run again to ` +
        `download it afresh.`,
      { file: ctx.file },
    );
  };
  if (job.expectedSize !== undefined && size !== job.expectedSize) {
    await mismatch(`${size} bytes instead of the ${job.expectedSize} the Hub announced`);
  }
  const digest = await digestForEtag(job.incompletePath, job.etag, size);
  if (digest !== undefined && digest !== job.etag) {
    const kind = etagKind(job.etag) === 'sha256' ? 'sha256' : 'git blob sha1';
    await mismatch(`its ${kind} is ${digest}, the Hub's ETag says ${job.etag}`);
  }
  await rename(job.incompletePath, job.blobPath);
  fileProgress().finish();
}
