/**
 * The serve flags, and a real process: a child serving a slow fake engine gets SIGTERM while a request is in
 * flight; the request must still be answered and the process must exit 0.
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
