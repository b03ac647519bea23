/**
 * A small Hugging Face Hub stand-in on 127.0.0.1 for the hub tests (no test touches the internet). It speaks the
 * parts of the protocol the client uses, with the headers the real Hub sends:
 * - `GET /api/models/{repo}/revision/{rev}` → `{ id, sha, siblings: [{ rfilename }] }`;
 * - `HEAD|GET /{repo}/resolve/{rev}/{file}` → `X-Repo-Commit`, `ETag` (git blob sha1) for regular files, or a
 *   302 to the "CDN" with `X-Linked-Etag` (sha256) and `X-Linked-Size` for LFS files;
 * - `GET /cdn/{sha256}` on a second port (another origin, as a CDN is) with Range support;
 * - Hub error codes (`X-Error-Code`: RepoNotFound, RevisionNotFound, EntryNotFound, GatedRepo).
 * - renamed repos answered with a relative 307, as the Hub does.
 * Switches: require a token for private repos, corrupt a file, cut a download after N bytes, or ignore Range.
 */
import { createHash } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface MockRepoSpec {
  id: string;
  /** Branches and tags → commit hash. */
  refs: Record<string, string>;
  /** Commit hash → repo path → content. */
  commits: Record<string, Record<string, string | Uint8Array>>;
  /** Needs `Authorization: Bearer <token>` (the hub's `token`). */
  private?: boolean;
}

export interface RecordedRequest {
  method: string;
  host: string;
  path: string;
  headers: IncomingMessage['headers'];
}

export interface MockHub {
  /** e.g. http://127.0.0.1:43123 */
  endpoint: string;
  requests: RecordedRequest[];
  /** Serve this file with one byte flipped until `repair`. */
  corrupt(file: string): void;
  repair(file: string): void;
  /** The next `times` GETs of this file's bytes stop (socket destroyed) after `afterBytes` bytes. */
  cut(file: string, afterBytes: number, times?: number): void;
  /** Answer Range requests for this file with the whole file (200), as some servers do, until `repair`. */
  ignoreRange(file: string): void;
  /** Requests that fetched file bytes (GET on resolve for regular files, GET on the CDN). */
  contentGets(): RecordedRequest[];
  close(): Promise<void>;
}

export interface MockHubOptions {
  repos: MockRepoSpec[];
  /** The token private repos accept. */
  token?: string;
  /** Renamed repos: old id → new id, answered with a relative 307 to the same path under the new name. */
  renamed?: Record<string, string>;
}

export const LFS_EXTENSIONS = ['.safetensors', '.bin', '.h5', '.msgpack', '.onnx'];

export function isLfs(file: string): boolean {
  return LFS_EXTENSIONS.some((ext) => file.endsWith(ext));
}

export function sha256Hex(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

/** What `git hash-object` prints: sha1 over "blob <size>\0" + content. */
export function gitBlobSha1(bytes: Uint8Array): string {
  return createHash('sha1').update(`blob ${bytes.length}\0`).update(bytes).digest('hex');
}

/** A deterministic fake commit hash. */
export function fakeCommit(seed: string): string {
  return createHash('sha1').update(seed).digest('hex');
}

function toBytes(content: string | Uint8Array): Buffer {
  return typeof content === 'string' ? Buffer.from(content, 'utf8') : Buffer.from(content);
}

export async function startMockHub(options: MockHubOptions): Promise<MockHub> {
  const requests: RecordedRequest[] = [];
  const corrupted = new Set<string>();
  const rangeIgnored = new Set<string>();
  const cuts = new Map<string, { afterBytes: number; times: number }>();
  const cdn = new Map<string, { file: string; bytes: Buffer }>();
  for (const repo of options.repos) {
    for (const files of Object.values(repo.commits)) {
      for (const [file, content] of Object.entries(files)) {
        const bytes = toBytes(content);
        if (isLfs(file)) cdn.set(sha256Hex(bytes), { file, bytes });
      }
    }
  }

  let cdnPort = 0;
  const send = (res: ServerResponse, status: number, headers: Record<string, string> = {}, body?: string) => {
    res.writeHead(status, headers);
    res.end(body);
  };
  const errorReply = (res: ServerResponse, status: number, code: string, message: string, extra = {}) =>
    send(res, status, { 'X-Error-Code': code, 'X-Error-Message': message, ...extra }, message);

  /** Serves bytes honouring `Range: bytes=N-`, applying the corrupt and cut switches. */
  const serveBytes = (
    req: IncomingMessage,
    res: ServerResponse,
    file: string,
    original: Buffer,
    headers = {},
  ) => {
    let bytes = original;
    if (corrupted.has(file)) {
      bytes = Buffer.from(original);
      bytes[bytes.length >> 1] = bytes[bytes.length >> 1]! ^ 0xff;
    }
    let start = 0;
    let status = 200;
    const range = rangeIgnored.has(file) ? null : /^bytes=(\d+)-$/.exec(req.headers.range ?? '');
    const rangeHeaders: Record<string, string> = {};
    if (range) {
      start = Number(range[1]);
      if (start >= bytes.length) {
        return send(res, 416, { 'Content-Range': `bytes */${bytes.length}` });
      }
      status = 206;
      rangeHeaders['Content-Range'] = `bytes ${start}-${bytes.length - 1}/${bytes.length}`;
    }
    const body = bytes.subarray(start);
    res.writeHead(status, {
      ...headers,
      ...rangeHeaders,
      'Accept-Ranges': 'bytes',
      'Content-Length': String(body.length),
      'Content-Type': 'application/octet-stream',
    });
    if (req.method === 'HEAD') return res.end();
    const cut = cuts.get(file);
    if (cut !== undefined && cut.times > 0) {
      cut.times--;
      res.write(body.subarray(0, cut.afterBytes), () => {
        // Give the client time to take the bytes in before the connection drops mid-body. A client may still
        // lose bytes it had buffered but not yet written (fetch discards its queue on error): tests allow that.
        setTimeout(() => res.socket?.destroy(), 100);
      });
      return;
    }
    res.end(body);
  };

  const findRepo = (id: string) => options.repos.find((repo) => repo.id === id);

  /** Auth and existence checks shared by the API and resolve endpoints; returns the commit or undefined. */
  const authorize = (req: IncomingMessage, res: ServerResponse, repoId: string, revision: string) => {
    const repo = findRepo(repoId);
    const auth = req.headers.authorization;
    if (repo === undefined || (repo.private && auth === undefined)) {
      // The real Hub answers 401 for both, so as not to reveal that a private repo exists.
      errorReply(res, 401, 'RepoNotFound', 'Repository Not Found');
      return undefined;
    }
    if (repo.private && auth !== `Bearer ${options.token}`) {
      errorReply(res, 403, 'GatedRepo', 'Access to this repo is restricted');
      return undefined;
    }
    const commit = repo.refs[revision] ?? (repo.commits[revision] !== undefined ? revision : undefined);
    if (commit === undefined) {
      errorReply(res, 404, 'RevisionNotFound', 'Invalid rev id');
      return undefined;
    }
    return { repo, commit, files: repo.commits[commit]! };
  };

  const handle = (req: IncomingMessage, res: ServerResponse) => {
    const url = new URL(req.url ?? '/', `http://${req.headers.host}`);
    const path = url.pathname;
    requests.push({ method: req.method ?? 'GET', host: req.headers.host ?? '', path, headers: req.headers });

    for (const [from, to] of Object.entries(options.renamed ?? {})) {
      for (const prefix of [`/api/models/${from}/`, `/${from}/resolve/`]) {
        if (path.startsWith(prefix)) {
          // Relative, like the Hub's own redirect for a renamed repo.
          return send(res, 307, { Location: prefix.replace(from, to) + path.slice(prefix.length) });
        }
      }
    }

    const api = /^\/api\/models\/(.+)\/revision\/([^/]+)$/.exec(path);
    if (api && req.method === 'GET') {
      const found = authorize(req, res, api[1]!, decodeURIComponent(api[2]!));
      if (found === undefined) return;
      const body = JSON.stringify({
        id: found.repo.id,
        sha: found.commit,
        private: found.repo.private === true,
        siblings: Object.keys(found.files).map((rfilename) => ({ rfilename })),
      });
      return send(res, 200, { 'Content-Type': 'application/json' }, body);
    }

    const resolve = /^\/(.+?)\/resolve\/([^/]+)\/(.+)$/.exec(path);
    if (resolve && (req.method === 'GET' || req.method === 'HEAD')) {
      const found = authorize(req, res, resolve[1]!, decodeURIComponent(resolve[2]!));
      if (found === undefined) return;
      const file = resolve[3]!.split('/').map(decodeURIComponent).join('/');
      const content = found.files[file];
      if (content === undefined) {
        return errorReply(res, 404, 'EntryNotFound', 'Entry not found', { 'X-Repo-Commit': found.commit });
      }
      const bytes = toBytes(content);
      if (isLfs(file)) {
        const sha = sha256Hex(bytes);
        const pointer = `version https://git-lfs.github.com/spec/v1\noid sha256:${sha}\nsize ${bytes.length}\n`;
        return send(res, 302, {
          Location: `http://127.0.0.1:${cdnPort}/cdn/${sha}`,
          'X-Repo-Commit': found.commit,
          'X-Linked-Etag': `"${sha}"`,
          'X-Linked-Size': String(bytes.length),
          ETag: `"${gitBlobSha1(Buffer.from(pointer))}"`,
          'Content-Length': '0',
        });
      }
      return serveBytes(req, res, file, bytes, {
        'X-Repo-Commit': found.commit,
        ETag: `"${gitBlobSha1(bytes)}"`,
      });
    }

    const cdnMatch = /^\/cdn\/([0-9a-f]{64})$/.exec(path);
    if (cdnMatch && (req.method === 'GET' || req.method === 'HEAD')) {
      const blob = cdn.get(cdnMatch[1]!);
      if (blob === undefined) return send(res, 404, {}, 'no such blob');
      return serveBytes(req, res, blob.file, blob.bytes);
    }
    send(res, 404, {}, 'not a mock hub route');
  };

  const servers = [createServer(handle), createServer(handle)];
  for (const server of servers) await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const [hubPort, cdnServerPort] = servers.map((server) => (server.address() as AddressInfo).port);
  cdnPort = cdnServerPort!;

  return {
    endpoint: `http://127.0.0.1:${hubPort}`,
    requests,
    corrupt: (file) => corrupted.add(file),
    repair: (file) => {
      corrupted.delete(file);
      rangeIgnored.delete(file);
    },
    ignoreRange: (file) => rangeIgnored.add(file),
    cut: (file, afterBytes, times = 1) => cuts.set(file, { afterBytes, times }),
    contentGets: () =>
      requests.filter(
        (r) => r.method === 'GET' && (r.path.startsWith('/cdn/') || r.path.includes('/resolve/')),
      ),
    close: async () => {
      for (const server of servers) {
        server.closeAllConnections();
        await new Promise<void>((resolve, reject) =>
          server.close((error) => (error ? reject(error) : resolve())),
        );
      }
    },
  };
}

/** Deterministic bytes that do not compress or repeat, for fake weight files. */
export function pseudoRandomBytes(length: number, seed: number): Uint8Array {
  const bytes = new Uint8Array(length);
  let state = seed >>> 0 || 1;
  for (let i = 0; i < length; i++) {
    // xorshift32
    state ^= state << 13;
    state ^= state >>> 17;
    state ^= state << 5;
    bytes[i] = state & 0xff;
  }
  return bytes;
}
