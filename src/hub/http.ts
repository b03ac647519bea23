/**
 * The two Hub HTTP calls we need, with the protocol details of `huggingface_hub`:
 * - `GET {endpoint}/api/models/{repo}/revision/{revision}`: the commit a revision points to and its file list;
 * - `HEAD {endpoint}/{repo}/resolve/{revision}/{file}`: a file's commit, ETag (`X-Linked-Etag` for LFS files:
 *   their sha256), size (`X-Linked-Size`) and download location (a redirect to the CDN for LFS files).
 * Every failure becomes a HubError naming the repo, revision and file.
 */
import { HubError } from '../errors.js';

export interface HubRequestContext {
  repoId: string;
  revision: string;
  /** The repo file concerned, when the request is about one file. */
  file?: string;
  endpoint: string;
  /** Whether a token was sent: decides between "set HF_TOKEN" and "your token has no access". */
  tokenSent: boolean;
}

/** The network itself failed (DNS, refused connection, reset, timeout): the cache may still serve the request. */
export class HubConnectionError extends HubError {}

const USER_AGENT = `seqbatch/0.1.0; node/${process.versions.node}`;

export function hubHeaders(token: string | undefined): Record<string, string> {
  const headers: Record<string, string> = { 'user-agent': USER_AGENT };
  if (token !== undefined) headers.authorization = `Bearer ${token}`;
  return headers;
}

export function describeTarget(ctx: HubRequestContext): string {
  const file = ctx.file === undefined ? '' : `${ctx.file} of `;
  return `${file}${ctx.repoId} at revision "${ctx.revision}"`;
}

/**
 * `fetch` whose network failures (refused, reset, DNS, timeout) become HubConnectionError naming the target.
 * An abort requested by the caller's own signal is passed through unchanged.
 */
export async function hubFetch(
  url: string,
  init: RequestInit,
  ctx: HubRequestContext,
  callerSignal?: AbortSignal,
): Promise<Response> {
  try {
    return await fetch(url, init);
  } catch (error) {
    if (callerSignal?.aborted) throw callerSignal.reason;
    const cause = (error as Error).cause;
    const detail = cause instanceof Error ? ` (${cause.message})` : '';
    throw new HubConnectionError(
      `Could not reach the Hub at ${ctx.endpoint} for ${describeTarget(ctx)}: ${(error as Error).message}${detail}`,
      { file: ctx.file, cause: error },
    );
  }
}

function tokenHint(ctx: HubRequestContext): string {
  return ctx.tokenSent
    ? 'The token sent (HF_TOKEN or the token option) was rejected or has no access to it.'
    : 'If it is private or gated, set HF_TOKEN to an access token of an account that can read it.';
}

/** Maps an unsuccessful Hub response to a HubError, reading the Hub's `X-Error-Code` where it sends one. */
export async function raiseForStatus(response: Response, ctx: HubRequestContext): Promise<void> {
  if (response.ok) return;
  const errorCode = response.headers.get('x-error-code') ?? '';
  const serverMessage = response.headers.get('x-error-message') ?? '';
  await response.body?.cancel().catch(() => undefined);
  const status = `HTTP ${response.status}`;
  const suffix = serverMessage === '' ? '' : ` Hub says: ${serverMessage}`;
  const fileContext = { file: ctx.file };

  if (errorCode === 'GatedRepo' || (response.status === 403 && errorCode !== 'RepoNotFound')) {
    throw new HubError(
      `Access to ${describeTarget(ctx)} is restricted (${status}, gated or private repo): accept its conditions ` +
        `at ${ctx.endpoint}/${ctx.repoId} and set HF_TOKEN to a token of that account. ${tokenHint(ctx)}${suffix}`,
      { ...fileContext, argument: 'token' },
    );
  }
  if (errorCode === 'RepoNotFound' || response.status === 401) {
    throw new HubError(
      `Repository ${ctx.repoId} was not found on ${ctx.endpoint} or needs authentication (${status}) while ` +
        `fetching ${describeTarget(ctx)}. ${tokenHint(ctx)}${suffix}`,
      { ...fileContext, argument: 'model' },
    );
  }
  if (errorCode === 'RevisionNotFound') {
    throw new HubError(
      `Revision "${ctx.revision}" was not found in ${ctx.repoId} (${status}): use a branch, tag or commit ` +
        `that exists.${suffix}`,
      { ...fileContext, argument: 'revision' },
    );
  }
  if (response.status === 404) {
    const what =
      ctx.file === undefined ? `Repository or revision of ${describeTarget(ctx)}` : describeTarget(ctx);
    throw new HubError(`${what} was not found on ${ctx.endpoint} (${status}).${suffix}`, fileContext);
  }
  throw new HubError(
    `The Hub answered ${status} ${response.statusText} for ${describeTarget(ctx)} (${response.url}).${suffix}`,
    fileContext,
  );
}

/** Python's `_normalize_etag`: strip a weak-validator prefix and the quotes. */
export function normalizeEtag(etag: string | null): string | undefined {
  if (etag === null) return undefined;
  const value = etag.replace(/^W\//, '').replace(/^"|"$/g, '');
  return value === '' ? undefined : value;
}

export interface RevisionInfo {
  commit: string;
  files: string[];
}

function encodeRepoPath(file: string): string {
  return file.split('/').map(encodeURIComponent).join('/');
}

export function revisionInfoUrl(endpoint: string, repoId: string, revision: string): string {
  return `${endpoint}/api/models/${repoId}/revision/${encodeURIComponent(revision)}`;
}

export function resolveUrl(endpoint: string, repoId: string, revision: string, file: string): string {
  return `${endpoint}/${repoId}/resolve/${encodeURIComponent(revision)}/${encodeRepoPath(file)}`;
}

export interface HttpOptions {
  token: string | undefined;
  timeoutMs: number;
  signal?: AbortSignal;
}

export function requestSignal(options: HttpOptions): AbortSignal {
  const timeout = AbortSignal.timeout(options.timeoutMs);
  return options.signal === undefined ? timeout : AbortSignal.any([options.signal, timeout]);
}

/** The commit a revision points to and every file in the repo at that commit. */
export async function fetchRevisionInfo(ctx: HubRequestContext, options: HttpOptions): Promise<RevisionInfo> {
  const url = revisionInfoUrl(ctx.endpoint, ctx.repoId, ctx.revision);
  const response = await hubFetch(
    url,
    { headers: hubHeaders(options.token), signal: requestSignal(options), redirect: 'follow' },
    ctx,
    options.signal,
  );
  await raiseForStatus(response, ctx);
  let body: unknown;
  try {
    body = await response.json();
  } catch (error) {
    throw new HubError(`The Hub sent invalid JSON from ${url} for ${describeTarget(ctx)}`, { cause: error });
  }
  const info = body as { sha?: unknown; siblings?: unknown };
  if (typeof info.sha !== 'string' || !Array.isArray(info.siblings)) {
    throw new HubError(
      `The Hub answer from ${url} for ${describeTarget(ctx)} lacks "sha" or "siblings"; is HF_ENDPOINT a Hub?`,
      { field: typeof info.sha !== 'string' ? 'sha' : 'siblings' },
    );
  }
  const files = info.siblings
    .map((sibling) => (sibling as { rfilename?: unknown }).rfilename)
    .filter((name): name is string => typeof name === 'string');
  return { commit: info.sha, files };
}

export interface FileMetadata {
  /** The commit the file was resolved at (`X-Repo-Commit`). */
  commit: string;
  /** The blob name: git sha1 for regular files, sha256 for LFS files. */
  etag: string;
  /** Bytes, when the Hub says (`X-Linked-Size`, else `Content-Length`). */
  size: number | undefined;
  /** Where to GET the bytes: the resolve URL itself, or the CDN URL it redirects to. */
  location: string;
}

const MAX_RELATIVE_REDIRECTS = 10;

/**
 * HEADs the resolve URL without following the CDN redirect (its headers carry the metadata), but following
 * same-site relative redirects, which is how the Hub points a renamed repo at its new name.
 */
export async function fetchFileMetadata(ctx: HubRequestContext, options: HttpOptions): Promise<FileMetadata> {
  let url = resolveUrl(ctx.endpoint, ctx.repoId, ctx.revision, ctx.file ?? '');
  let response: Response;
  for (let hops = 0; ; hops++) {
    response = await hubFetch(
      url,
      {
        method: 'HEAD',
        headers: { ...hubHeaders(options.token), 'accept-encoding': 'identity' },
        redirect: 'manual',
        signal: requestSignal(options),
      },
      ctx,
      options.signal,
    );
    const location = response.headers.get('location');
    const isRedirect = response.status >= 300 && response.status < 400 && location !== null;
    if (!isRedirect || /^[a-z][a-z0-9+.-]*:/i.test(location) || location.startsWith('//')) break;
    if (hops >= MAX_RELATIVE_REDIRECTS) {
      throw new HubError(`Too many redirects resolving ${describeTarget(ctx)} (last: ${url})`, {
        file: ctx.file,
      });
    }
    url = new URL(location, url).toString();
  }
  const isRedirect = response.status >= 300 && response.status < 400;
  if (!isRedirect) await raiseForStatus(response, ctx);

  const commit = response.headers.get('x-repo-commit');
  const etag = normalizeEtag(response.headers.get('x-linked-etag') ?? response.headers.get('etag'));
  if (commit === null || etag === undefined) {
    throw new HubError(
      `The Hub answer for ${describeTarget(ctx)} lacks the ${commit === null ? 'X-Repo-Commit' : 'ETag'} ` +
        `header, so the file cannot be cached reliably; is HF_ENDPOINT (${ctx.endpoint}) a Hub?`,
      { file: ctx.file },
    );
  }
  const sizeHeader = response.headers.get('x-linked-size') ?? response.headers.get('content-length');
  const size = sizeHeader === null || !/^\d+$/.test(sizeHeader) ? undefined : Number(sizeHeader);
  const location = isRedirect ? new URL(response.headers.get('location') ?? url, url).toString() : url;
  return { commit, etag, size, location };
}
