/**
 * The serve flags, and real processes: a child serving a slow fake engine gets SIGTERM while a request is in
 * flight (the request must still be answered and the process exit 0); `seqbatch serve` on the demo model gets
 * two SIGTERMs under load (no native abort, exit 1, every accepted request answered 200 or 503).
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import test from 'node:test';
import { Command } from 'commander';
import { InputError } from '../src/errors.js';
import {
  addServeOptions,
  resolveServerOptions,
  serveOptionsFrom,
  type Engine,
  type ServeCliOptions,
} from '../src/server/index.js';
import { cliNodeArgs } from './helpers/cli-process.js';
import { REPO_ROOT } from './helpers/shared.js';

function parse(args: string[]): ServeCliOptions {
  let parsed: ServeCliOptions = {};
  const program = new Command().exitOverride();
  addServeOptions(program.command('serve')).action((options: ServeCliOptions) => {
    parsed = options;
  });
  program.parse(['serve', ...args], { from: 'user' });
  return parsed;
}

test('serve flags: defaults, values, and errors naming the flag', () => {
  const defaults = serveOptionsFrom(parse([]));
  assert.equal(defaults.host, '127.0.0.1');
  assert.equal(defaults.port, 8080);
  assert.equal(defaults.server.maxBatchTokens, 16384);
  assert.equal(defaults.server.autoTruncate, false);
  assert.equal(defaults.server.prepareAheadMs, 20);
  // Without --concurrency the server runs one batch per replica of the engine it serves.
  assert.equal(defaults.server.concurrency, undefined);
  const engineWith = (replicas?: number) =>
    ({ info: { modelId: 'm', maxInputLength: 8, tasks: ['tokenize'], replicas } }) as unknown as Engine;
  assert.equal(resolveServerOptions({ ...defaults.server, engine: engineWith() }).concurrency, 1);
  assert.equal(resolveServerOptions({ ...defaults.server, engine: engineWith(3) }).concurrency, 3);
  const explicit = serveOptionsFrom(parse(['--concurrency', '1'])).server;
  assert.equal(resolveServerOptions({ ...explicit, engine: engineWith(3) }).concurrency, 1);
  assert.equal(serveOptionsFrom(parse(['--prepare-ahead-ms', '0'])).server.prepareAheadMs, 0);
  const custom = serveOptionsFrom(
    parse(['--port', '0', '--max-batch-size', '8', '--max-wait-ms', '0', '--auto-truncate']),
  );
  assert.deepEqual(
    [custom.port, custom.server.maxBatchSize, custom.server.maxWaitMs, custom.server.autoTruncate],
    [0, 8, 0, true],
  );
  const flagError = (args: string[], flag: string) =>
    assert.throws(
      () => serveOptionsFrom(parse(args)),
      (e: unknown) => e instanceof InputError && e.argument === flag && e.message.includes(flag),
    );
  flagError(['--port', 'http'], '--port');
  flagError(['--port', '70000'], '--port');
  flagError(['--max-batch-size', '0'], '--max-batch-size');
  flagError(['--prepare-ahead-ms', '-5'], '--prepare-ahead-ms');
  flagError(['--max-queue', '10', '--max-inputs-per-request', '20'], '--max-inputs-per-request');
});

test(
  'a real SIGTERM: the in-flight request is answered, then the process exits 0',
  { timeout: 30_000 },
  async () => {
    const dir = mkdtempSync(join(tmpdir(), 'seqbatch-serve-'));
    const script = join(dir, 'serve.mts');
    const serverModule = pathToFileURL(join(REPO_ROOT, 'src/server/index.ts')).href;
    writeFileSync(
      script,
      `
import { startServer } from ${JSON.stringify(serverModule)};
const engine = {
  info: { modelId: 'fake/slow', maxInputLength: 64, tasks: ['embed'] },
  countTokens: (text) => text.length,
  classify: async () => [],
  tokenize: async () => [],
  embed: async (texts) => {
    process.stdout.write('batch\\n');
    await new Promise((resolve) => setTimeout(resolve, 400));
    return texts.map((text) => [text.length]);
  },
};
const server = await startServer(engine, { host: '127.0.0.1', port: 0, server: { maxWaitMs: 0 } });
process.stdout.write('listening ' + server.app.server.address().port + '\\n');
`,
    );
    const child = spawn(process.execPath, ['--import', 'tsx', script], {
      cwd: REPO_ROOT,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    try {
      await waitFor(
        () => /listening \d+/.test(stdout),
        () => `child did not start: ${stderr}`,
      );
      const port = Number(/listening (\d+)/.exec(stdout)![1]);
      const request = fetch(`http://127.0.0.1:${port}/embed`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ inputs: 'hello' }),
      });
      await waitFor(
        () => stdout.includes('batch'),
        () => 'request never reached the engine',
      );
      child.kill('SIGTERM');
      const response = await request;
      assert.equal(response.status, 200);
      assert.deepEqual(await response.json(), [[5]]);
      assert.equal(await exited, 0, stderr);
      // The address line and the shutdown line, nothing else (no per-batch chatter).
      assert.deepEqual(
        stderr
          .trim()
          .split('\n')
          .map((line) => line.replace(/ on http\S+| received.*/, '')),
        ['seqbatch: serving fake/slow', 'seqbatch: SIGTERM'],
        stderr,
      );
    } finally {
      child.kill('SIGKILL');
    }
  },
);

async function waitFor(condition: () => boolean, message: () => string, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(message());
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

test(
  'two SIGTERMs under load on a real model: no native abort, exit 1, every accepted request answered 200 or 503',
  { timeout: 120_000 },
  async () => {
    // The demo model on ONNX Runtime's worker thread, kept busy by many long inputs in small batches, so the
    // second signal arrives while a batch runs natively (exiting then used to abort: exit 134).
    const child = spawn(
      process.execPath,
      cliNodeArgs([
        'serve',
        '--port',
        '0',
        '--no-graph-cache',
        '--max-batch-tokens',
        '4096',
        '--threads',
        '1',
      ]),
      { cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
      child.on('exit', (code, signal) => resolve({ code, signal })),
    );
    try {
      await waitFor(
        () => /on http:\/\/\S+/.test(stderr),
        () => `server did not start: ${stderr}`,
        60_000,
      );
      const url = /on (http:\/\/\S+)/.exec(stderr)![1]!;
      const text = 'a long and winding sentence about films , actors and their long careers '.repeat(10);
      let answered = 0;
      const outcomes = Array.from({ length: 24 }, async () => {
        try {
          const response = await fetch(`${url}/classify`, {
            method: 'POST',
            headers: { 'content-type': 'application/json' },
            body: JSON.stringify({ inputs: Array<string>(16).fill(text), truncate: true }),
          });
          const body = (await response.json()) as unknown;
          answered++;
          return { status: response.status, body };
        } catch (error) {
          return { status: 0, body: String(error) };
        }
      });
      await waitFor(
        () => answered > 0,
        () => `no request was answered: ${stderr}`,
        60_000,
      );
      child.kill('SIGTERM');
      await new Promise((resolve) => setTimeout(resolve, 20));
      const secondAt = Date.now();
      child.kill('SIGTERM');
      const { code, signal } = await exited;
      const exitMs = Date.now() - secondAt;
      assert.doesNotMatch(stderr, /terminate called|Napi::Error/);
      assert.deepEqual({ code, signal }, { code: 1, signal: null }, stderr);
      assert.match(stderr, /second SIGTERM, stopping now/);
      // Promptly: once the batch running on ONNX Runtime ends (this host is shared, hence the slack).
      assert.ok(exitMs < 15_000, `exited ${exitMs} ms after the second signal`);
      const results = await Promise.all(outcomes);
      for (const { status, body } of results) {
        if (status === 200) assert.equal((body as unknown[]).length, 16);
        else {
          assert.equal(status, 503, `every accepted request is answered or refused cleanly: ${String(body)}`);
          assert.equal((body as { error: { type: string } }).error.type, 'unavailable_error');
        }
      }
      assert.ok(
        results.some((r) => r.status === 503),
        'the second signal cut the work short',
      );
    } finally {
      child.kill('SIGKILL');
    }
  },
);
