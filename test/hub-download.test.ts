/**
 * Resumable, verified downloads against the mock Hub: a connection cut mid-file leaves `blobs/<etag>.incomplete`
 * which the next attempt resumes with a Range request; bytes that do not hash to the ETag are rejected.
 */
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, readFile, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import { dirname, join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { test } from 'node:test';
import { HubError } from '../src/errors.js';
import { HubConnectionError } from '../src/hub/http.js';
import { resolveModel } from '../src/hub/resolve-model.js';
import { fakeCommit, gitBlobSha1, pseudoRandomBytes, sha256Hex } from './helpers/mock-hub.js';
import { mockHubSuite } from './helpers/mock-hub-suite.js';

const COMMIT = fakeCommit('resumable');
const config = JSON.stringify({ model_type: 'bert', note: 'x'.repeat(5000) });
const weights = pseudoRandomBytes(400_000, 7);
const WEIGHTS_SHA = sha256Hex(weights);
const CONFIG_SHA1 = gitBlobSha1(Buffer.from(config));

const suite = mockHubSuite(
  {
    repos: [
      {
        id: 'acme/big',
        refs: { main: COMMIT },
        commits: { [COMMIT]: { 'config.json': config, 'model.safetensors': weights } },
      },
    ],
  },
  'seqbatch-hub-download-',
);
const freshOptions = suite.freshOptions;

const blobsDir = (cacheDir: string) => join(cacheDir, 'models--acme--big', 'blobs');

test('the mock Hub names regular files by their git blob sha1, as `git hash-object` computes it', () => {
  const fromGit = execFileSync('git', ['hash-object', '--stdin'], { input: config }).toString().trim();
  assert.equal(CONFIG_SHA1, fromGit);
});

test('a download cut mid-file keeps .incomplete, and the next call resumes it with a Range request', async () => {
  const options = freshOptions({ retries: 0 });
  suite.hub.cut('model.safetensors', 150_000);
  await assert.rejects(
    resolveModel('acme/big', options),
    (error: unknown) =>
      error instanceof HubError &&
      error.file === 'model.safetensors' &&
      /model\.safetensors of acme\/big/.test(error.message) &&
      /interrupted/.test(error.message),
  );
  const incomplete = join(blobsDir(options.cacheDir), `${WEIGHTS_SHA}.incomplete`);
  const partial = await readFile(incomplete);
  assert.ok(partial.length > 0 && partial.length <= 150_000, `kept ${partial.length} bytes`);
  assert.deepEqual(new Uint8Array(partial), weights.subarray(0, partial.length));

  const start = suite.hub.requests.length;
  const folder = await resolveModel('acme/big', options);
  const gets = suite.hub.requests.slice(start).filter((r) => r.path === `/cdn/${WEIGHTS_SHA}`);
  assert.equal(gets.length, 1);
  assert.equal(gets[0]!.headers.range, `bytes=${partial.length}-`);
  assert.deepEqual(new Uint8Array(await readFile(join(folder, 'model.safetensors'))), weights);
  assert.ok(!existsSync(incomplete));
});

test('with retries, a dropped connection is resumed within the same call', async () => {
  const options = freshOptions();
  suite.hub.cut('model.safetensors', 100_000, 2);
  const start = suite.hub.requests.length;
  const folder = await resolveModel('acme/big', options);
  const ranges = suite.hub.requests
    .slice(start)
    .filter((r) => r.path === `/cdn/${WEIGHTS_SHA}`)
    .map((r) => r.headers.range);
  // Three GETs: the first whole, then resumes from what was kept (each attempt is cut after 100 000 bytes; the
  // client may lose what it had buffered but not yet written, so the exact offsets vary).
  assert.equal(ranges.length, 3);
  assert.equal(ranges[0], undefined);
  const starts = ranges.map((range) => Number(/^bytes=(\d+)-$/.exec(range ?? '')?.[1] ?? 0));
  assert.ok(starts[2]! > 0 && starts[2]! >= starts[1]!, `resumed at ${starts.join(', ')}`);
  assert.deepEqual(new Uint8Array(await readFile(join(folder, 'model.safetensors'))), weights);
});

test('a file Python left half-downloaded is resumed', async () => {
  const options = freshOptions();
  await mkdir(blobsDir(options.cacheDir), { recursive: true });
  await writeFile(join(blobsDir(options.cacheDir), `${WEIGHTS_SHA}.incomplete`), weights.subarray(0, 12_345));
  const start = suite.hub.requests.length;
  const folder = await resolveModel('acme/big', options);
  const get = suite.hub.requests.slice(start).find((r) => r.path === `/cdn/${WEIGHTS_SHA}`);
  assert.equal(get?.headers.range, 'bytes=12345-');
  assert.deepEqual(new Uint8Array(await readFile(join(folder, 'model.safetensors'))), weights);
});

test('a corrupted partial file fails the sha256 check, is deleted, and the next call starts afresh', async () => {
  const options = freshOptions();
  const incomplete = join(blobsDir(options.cacheDir), `${WEIGHTS_SHA}.incomplete`);
  await mkdir(blobsDir(options.cacheDir), { recursive: true });
  const garbage = Buffer.from(weights.subarray(0, 50_000));
  garbage[10] = garbage[10]! ^ 0x01;
  await writeFile(incomplete, garbage);

  await assert.rejects(
    resolveModel('acme/big', options),
    (error: unknown) =>
      error instanceof HubError &&
      error.file === 'model.safetensors' &&
      /corrupt/.test(error.message) &&
      error.message.includes(`ETag says ${WEIGHTS_SHA}`),
  );
  assert.ok(!existsSync(incomplete));
  assert.ok(!existsSync(join(blobsDir(options.cacheDir), WEIGHTS_SHA)));
  const snapshot = join(options.cacheDir, 'models--acme--big', 'snapshots', COMMIT);
  assert.ok(!existsSync(join(snapshot, 'model.safetensors')));

  const start = suite.hub.requests.length;
  await resolveModel('acme/big', options);
  const get = suite.hub.requests.slice(start).find((r) => r.path === `/cdn/${WEIGHTS_SHA}`);
  assert.equal(get?.headers.range, undefined);
  assert.deepEqual(new Uint8Array(await readFile(join(snapshot, 'model.safetensors'))), weights);
});

test('corrupted bytes from the server are rejected: sha256 for LFS files, git sha1 for regular files', async () => {
  const options = freshOptions();
  suite.hub.corrupt('model.safetensors');
  suite.hub.corrupt('config.json');
  try {
    const error = await resolveModel('acme/big', { ...options, concurrency: 1 }).then(
      () => assert.fail('expected a checksum error'),
      (e: unknown) => e,
    );
    assert.ok(error instanceof HubError);
    assert.equal(error.file, 'config.json');
    assert.match(error.message, /git blob sha1/);
    assert.ok(error.message.includes(`ETag says ${CONFIG_SHA1}`));
    suite.hub.repair('config.json');
    await assert.rejects(resolveModel('acme/big', options), (e: unknown) => {
      return (
        e instanceof HubError && e.file === 'model.safetensors' && /sha256 is [0-9a-f]{64}/.test(e.message)
      );
    });
    const left = await readdir(blobsDir(options.cacheDir));
    assert.deepEqual(left, [CONFIG_SHA1], 'only the verified config blob stays');
  } finally {
    suite.hub.repair('model.safetensors');
    suite.hub.repair('config.json');
  }
  const folder = await resolveModel('acme/big', options);
  assert.equal((await stat(join(folder, 'model.safetensors'))).size, weights.length);
});

test('onProgress reports growing byte counts and one final event per downloaded file', async () => {
  const events: { file: string; bytes: number; total: number | undefined; done: boolean }[] = [];
  const options = freshOptions({
    onProgress: (p) =>
      events.push({ file: p.file, bytes: p.downloadedBytes, total: p.totalBytes, done: p.done }),
  });
  await resolveModel('acme/big', options);
  for (const [file, size] of [
    ['config.json', Buffer.byteLength(config)],
    ['model.safetensors', weights.length],
  ] as const) {
    const mine = events.filter((e) => e.file === file);
    assert.deepEqual(
      mine.filter((e) => e.done),
      [{ file, bytes: size, total: size, done: true }],
    );
    const counts = mine.map((e) => e.bytes);
    assert.deepEqual(
      counts,
      [...counts].sort((a, b) => a - b),
      'byte counts never go back',
    );
  }
});

test('concurrent resolves of the same model in one process download each blob once', async () => {
  const options = freshOptions();
  const start = suite.hub.requests.length;
  const [a, b] = await Promise.all([resolveModel('acme/big', options), resolveModel('acme/big', options)]);
  assert.equal(a, b);
  const gets = suite.hub.requests.slice(start).filter((r) => r.path === `/cdn/${WEIGHTS_SHA}`);
  assert.equal(gets.length, 1);
  assert.deepEqual(new Uint8Array(await readFile(join(a, 'model.safetensors'))), weights);
});

const lockFile = (cacheDir: string) =>
  join(cacheDir, '.locks', 'models--acme--big', `${WEIGHTS_SHA}.seqbatch.lock`);

test('a download lock held by a live process is waited for, and the wait can be aborted', async () => {
  const options = freshOptions();
  const lock = lockFile(options.cacheDir);
  await mkdir(dirname(lock), { recursive: true });
  await writeFile(lock, `${process.pid}@${hostname()}`);

  const controller = new AbortController();
  const aborted = resolveModel('acme/big', { ...options, signal: controller.signal });
  await sleep(150);
  controller.abort(new Error('stop waiting'));
  await assert.rejects(aborted, /stop waiting/);

  const start = suite.hub.requests.length;
  const waiting = resolveModel('acme/big', options);
  await sleep(300);
  assert.equal(
    suite.hub.requests.slice(start).filter((r) => r.path.startsWith('/cdn/')).length,
    0,
    'no GET while locked',
  );
  await rm(lock);
  const folder = await waiting;
  assert.deepEqual(new Uint8Array(await readFile(join(folder, 'model.safetensors'))), weights);
  assert.ok(!existsSync(lock), 'the lock is released');
});

test('a lock left by a process that no longer exists is taken over', async () => {
  const options = freshOptions();
  const lock = lockFile(options.cacheDir);
  await mkdir(dirname(lock), { recursive: true });
  const dead = spawnSync(process.execPath, ['-e', '']);
  assert.equal(dead.status, 0);
  await writeFile(lock, `${dead.pid}@${hostname()}`);
  const folder = await resolveModel('acme/big', options);
  assert.equal((await stat(join(folder, 'model.safetensors'))).size, weights.length);
});

test('a cache that cannot be written is a HubError naming the path, not a retried network error', async () => {
  const options = freshOptions();
  const incomplete = join(blobsDir(options.cacheDir), `${WEIGHTS_SHA}.incomplete`);
  // A directory where the partial file should be: opening it for appending fails like a read-only disk would.
  await mkdir(incomplete, { recursive: true });
  const start = suite.hub.requests.length;
  await assert.rejects(
    resolveModel('acme/big', options),
    (error: unknown) =>
      error instanceof HubError &&
      !(error instanceof HubConnectionError) &&
      error.message.includes(`Could not write ${incomplete}`),
  );
  assert.equal(
    suite.hub.requests.slice(start).filter((r) => r.path === `/cdn/${WEIGHTS_SHA}`).length,
    1,
    'not retried',
  );
});

test('a server that ignores Range gets the partial file replaced by the whole answer', async () => {
  const options = freshOptions();
  await mkdir(blobsDir(options.cacheDir), { recursive: true });
  // Garbage that a naive append would keep in front of the full body.
  await writeFile(join(blobsDir(options.cacheDir), `${WEIGHTS_SHA}.incomplete`), Buffer.alloc(1000, 7));
  suite.hub.ignoreRange('model.safetensors');
  try {
    const start = suite.hub.requests.length;
    const folder = await resolveModel('acme/big', options);
    const get = suite.hub.requests.slice(start).find((r) => r.path === `/cdn/${WEIGHTS_SHA}`);
    assert.equal(get?.headers.range, 'bytes=1000-');
    assert.deepEqual(new Uint8Array(await readFile(join(folder, 'model.safetensors'))), weights);
  } finally {
    suite.hub.repair('model.safetensors');
  }
});
