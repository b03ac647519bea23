/**
 * `resolveModel`: turns a folder or a Hub model id into a local folder holding the model's files, downloading
 * what is missing into the cache shared with Python's `huggingface_hub`.
 */
import { readFile, stat } from 'node:fs/promises';
import { HubError, InputError } from '../errors.js';
import { withFileLock } from './blob-lock.js';
import { RepoCache, assertSafeEtag, assertSafeRepoPath } from './cache-layout.js';
import { downloadBlob } from './download.js';
import { selectModelFiles, selectReferencedFiles, type SelectionOptions } from './file-selection.js';
import {
  HubConnectionError,
  describeTarget,
  fetchFileMetadata,
  fetchRevisionInfo,
  hubHeaders,
  type HttpOptions,
  type HubRequestContext,
} from './http.js';
import { createProgressReporter, type ProgressCallback, type ProgressReporter } from './progress.js';
import { isCommitHash, parseModelRef, type ModelRef } from './repo-id.js';
import { resolveHubSettings, type HubSettings, type HubSettingsOptions } from './settings.js';

export interface ResolveModelOptions extends HubSettingsOptions {
  /** Branch, tag or commit (default `main`); `org/name@revision` in the id works too. */
  revision?: string;
  /** Fetch the weights too (default true); false fetches only config and tokenizer files. */
  weights?: boolean;
  /** Called as bytes arrive, for every file downloaded. */
  onProgress?: ProgressCallback;
  /** Draw progress bars on stderr (default: only when stderr is a terminal). */
  progressBar?: boolean;
  /** Extra attempts per file after a dropped connection, each resuming where the last stopped (default 3). */
  retries?: number;
  /** Timeout for metadata requests and for a stalled download, in ms (default 10 000, as in Python). */
  timeoutMs?: number;
  /** Files downloaded at the same time (default 4). */
  concurrency?: number;
  signal?: AbortSignal;
}

const DEFAULT_RETRIES = 3;
const DEFAULT_TIMEOUT_MS = 10_000;
const DEFAULT_CONCURRENCY = 4;

/** Downloads of one blob already running in this process, so concurrent calls share them. */
const inFlight = new Map<string, Promise<void>>();

async function isDirectory(path: string): Promise<boolean | undefined> {
  try {
    return (await stat(path)).isDirectory();
  } catch {
    return undefined;
  }
}

/** Paths, not ids: they start like a path or have more segments than `org/name` (before any `@revision`). */
function looksLikePath(value: string): boolean {
  const id = value.split('@')[0]!;
  return (
    /^(\.{1,2}([/\\]|$)|[/\\~]|[A-Za-z]:[/\\])/.test(id) || id.includes('\\') || id.split('/').length > 2
  );
}

async function mapWithConcurrency<T>(items: readonly T[], limit: number, fn: (item: T) => Promise<void>) {
  let next = 0;
  const workers = Array.from({ length: Math.min(limit, items.length) }, async () => {
    while (next < items.length) await fn(items[next++]!);
  });
  await Promise.all(workers);
}

/**
 * Resolves `idOrDir` to a local folder. An existing directory is returned as given. Anything else is read as a
 * Hub model id (`org/name`, `name`, optionally `@revision`) and resolved against the cache, downloading
 * missing files unless offline (`HF_HUB_OFFLINE=1` or `offline: true`). Returns the snapshot folder,
 * `<cache>/models--org--name/snapshots/<commit>`.
 */
export async function resolveModel(idOrDir: string, options: ResolveModelOptions = {}): Promise<string> {
  if (typeof idOrDir !== 'string' || idOrDir === '') {
    throw new InputError('model: expected a folder path or a Hub model id such as "org/name"', {
      argument: 'model',
    });
  }
  const directory = await isDirectory(idOrDir);
  if (directory === true) return idOrDir;
  if (directory === false) {
    throw new InputError(`model: ${idOrDir} is a file; expected a model folder or a Hub model id`, {
      argument: 'model',
      file: idOrDir,
    });
  }
  if (looksLikePath(idOrDir)) {
    throw new InputError(`model: folder ${idOrDir} does not exist (and it is not a Hub model id)`, {
      argument: 'model',
      file: idOrDir,
    });
  }
  const ref = parseModelRef(idOrDir, options.revision);
  const settings = resolveHubSettings(options);
  const cache = new RepoCache(settings.cacheDir, ref.repoId);
  const weights = options.weights ?? true;

  if (settings.offline) {
    return resolveFromCache(
      cache,
      ref,
      weights,
      'HF_HUB_OFFLINE is set (or offline: true), so the Hub was not contacted.',
    );
  }
  try {
    return await resolveOnline(cache, ref, settings, options, weights);
  } catch (error) {
    // Like Python: when the Hub cannot be reached at all, a complete cached copy of the revision still serves.
    if (!(error instanceof HubConnectionError)) throw error;
    try {
      return await resolveFromCache(cache, ref, weights, '');
    } catch {
      throw error;
    }
  }
}

async function resolveFromCache(
  cache: RepoCache,
  ref: ModelRef,
  weights: boolean,
  hint: string,
): Promise<string> {
  const commit = isCommitHash(ref.revision) ? ref.revision : await cache.readRef(ref.revision);
  const target = `${ref.repoId} at revision "${ref.revision}"`;
  if (commit === undefined) {
    throw new HubError(
      `${target} is not in the cache at ${cache.root} (no refs/${ref.revision}). ${hint}`.trim(),
      { argument: 'revision' },
    );
  }
  const snapshot = cache.snapshotDir(commit);
  const available = new Set(await cache.listSnapshotFiles(commit));
  if (available.size === 0) {
    throw new HubError(
      `${target} (commit ${commit}) is not in the cache: ${snapshot} is missing or empty. ${hint}`.trim(),
      {
        argument: 'revision',
      },
    );
  }
  const selection: SelectionOptions = {
    weights,
    where: `the cached snapshot ${snapshot}`,
    missingHint: hint,
  };
  const first = selectModelFiles(available, selection);
  await selectReferencedFiles(
    first,
    available,
    (file) => readFile(cache.snapshotFile(commit, file), 'utf8'),
    selection,
  );
  return snapshot;
}

async function resolveOnline(
  cache: RepoCache,
  ref: ModelRef,
  settings: HubSettings,
  options: ResolveModelOptions,
  weights: boolean,
): Promise<string> {
  const http: HttpOptions = {
    token: settings.token,
    timeoutMs: options.timeoutMs ?? DEFAULT_TIMEOUT_MS,
    signal: options.signal,
  };
  const baseCtx: HubRequestContext = {
    repoId: ref.repoId,
    revision: ref.revision,
    endpoint: settings.endpoint,
    tokenSent: settings.token !== undefined,
  };
  const info = await fetchRevisionInfo(baseCtx, http);
  if (!isCommitHash(info.commit)) {
    throw new HubError(
      `The Hub gave "${info.commit}" as the commit of ${describeTarget(baseCtx)}; expected 40 hex digits`,
      {
        field: 'sha',
      },
    );
  }
  const commit = info.commit;
  await cache.writeRef(ref.revision, commit);

  const available = new Set(info.files);
  const selection: SelectionOptions = { weights, where: describeTarget(baseCtx) };
  const reporter = createProgressReporter(ref.repoId, {
    onProgress: options.onProgress,
    showBar: options.progressBar ?? process.stderr.isTTY === true,
  });
  const fetchAll = (files: readonly string[]) =>
    mapWithConcurrency(files, options.concurrency ?? DEFAULT_CONCURRENCY, (file) =>
      ensureFile(cache, commit, file, { ...baseCtx, revision: commit, file }, http, options, reporter),
    );
  try {
    const first = selectModelFiles(available, selection);
    await fetchAll(first);
    const referenced = await selectReferencedFiles(
      first,
      available,
      (file) => readFile(cache.snapshotFile(commit, file), 'utf8'),
      selection,
    );
    await fetchAll(referenced);
  } finally {
    reporter.stop();
  }
  return cache.snapshotDir(commit);
}

/** Makes `snapshots/<commit>/<file>` exist, downloading its blob unless some snapshot already has it. */
async function ensureFile(
  cache: RepoCache,
  commit: string,
  file: string,
  ctx: HubRequestContext,
  http: HttpOptions,
  options: ResolveModelOptions,
  reporter: ProgressReporter,
): Promise<void> {
  assertSafeRepoPath(file, ctx.repoId);
  if (await cache.hasSnapshotFile(commit, file)) return;

  const metadata = await fetchFileMetadata(ctx, http);
  assertSafeEtag(metadata.etag, ctx.repoId, file);
  if (!(await cache.hasBlob(metadata.etag))) {
    const blobPath = cache.blobPath(metadata.etag);
    let pending = inFlight.get(blobPath);
    if (pending === undefined) {
      // The token goes to the Hub only: a CDN location is pre-signed and must not see it (Python drops it too).
      const sameOrigin = new URL(metadata.location).origin === new URL(ctx.endpoint).origin;
      const headers = hubHeaders(sameOrigin ? http.token : undefined);
      const download = async (): Promise<void> => {
        // Another process may have finished this blob while we waited for the lock.
        if (await cache.hasBlob(metadata.etag)) return;
        await downloadBlob(
          {
            ctx,
            url: metadata.location,
            headers,
            etag: metadata.etag,
            expectedSize: metadata.size,
            blobPath,
            incompletePath: cache.incompletePath(metadata.etag),
          },
          {
            retries: options.retries ?? DEFAULT_RETRIES,
            idleTimeoutMs: http.timeoutMs,
            signal: options.signal,
            progress: (downloaded, total) => reporter.start(file, total, downloaded),
          },
        );
      };
      pending = withFileLock(cache.lockPath(metadata.etag), download, options.signal).finally(() =>
        inFlight.delete(blobPath),
      );
      inFlight.set(blobPath, pending);
    }
    await pending;
  }
  await cache.linkSnapshotFile(commit, file, metadata.etag);
}
