/**
 * `--model` as a Hub id, against the local Hub stand-in (no test touches the internet): `download` fills the cache
 * and prints the snapshot folder; `classify --model org/name` then runs `--offline` from that cache; `--revision`
 * picks another commit; offline without a cached copy is an error naming the model.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { after, before, test } from 'node:test';
import { runClassify } from '../src/cli/commands/classify.js';
import { runDownload } from '../src/cli/commands/download.js';
import { fakeCommit, startMockHub, type MockHub } from './helpers/mock-hub.js';
import { REPO_ROOT } from './helpers/shared.js';

const DEMO = join(REPO_ROOT, 'models', 'seqbatch-demo-sst2');
const MAIN = fakeCommit('demo main');
const V1 = fakeCommit('demo v1');
const FILES = [
  'config.json',
  'model.safetensors',
  'tokenizer.json',
  'tokenizer_config.json',
  'special_tokens_map.json',
  'vocab.txt',
];

let hub: MockHub;
const cache = mkdtempSync(join(tmpdir(), 'seqbatch-cli-hub-'));
const savedEnv = {
  endpoint: process.env.HF_ENDPOINT,
  cache: process.env.HF_HUB_CACHE,
  offline: process.env.HF_HUB_OFFLINE,
};

before(async () => {
  const main = Object.fromEntries(FILES.map((file) => [file, readFileSync(join(DEMO, file))]));
  // v1: the same weights under other label names, so the answer shows which revision ran.
  const config = JSON.parse(readFileSync(join(DEMO, 'config.json'), 'utf8'));
  const v1 = {
    ...main,
    'config.json': JSON.stringify({
      ...config,
      id2label: { 0: 'neg', 1: 'pos' },
      label2id: { neg: 0, pos: 1 },
    }),
  };
  hub = await startMockHub({
    repos: [{ id: 'acme/demo-sst2', refs: { main: MAIN, v1: V1 }, commits: { [MAIN]: main, [V1]: v1 } }],
  });
  process.env.HF_ENDPOINT = hub.endpoint;
  process.env.HF_HUB_CACHE = cache;
  delete process.env.HF_HUB_OFFLINE;
});

after(async () => {
  await hub.close();
  rmSync(cache, { recursive: true, force: true });
  for (const [key, value] of [
    ['HF_ENDPOINT', savedEnv.endpoint],
    ['HF_HUB_CACHE', savedEnv.cache],
    ['HF_HUB_OFFLINE', savedEnv.offline],
  ] as const) {
    if (value === undefined) delete process.env[key];
    else process.env[key] = value;
  }
});

async function classify(model: string, extra: Record<string, unknown> = {}) {
  const stdout = new PassThrough();
  let out = '';
  stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
  await runClassify(
    ['A charming, funny and deeply moving film.'],
    { model, graphCache: false, progress: false, ...extra },
    { stdout },
  );
  return JSON.parse(out.trim());
}

test('download prints the snapshot folder; classify then runs offline from the cache', async () => {
  const stdout = new PassThrough();
  let printed = '';
  stdout.on('data', (chunk: Buffer) => (printed += chunk.toString()));
  const dir = await runDownload('acme/demo-sst2', {}, { stdout });
  assert.equal(printed, `${dir}\n`);
  assert.ok(dir.endsWith(join('snapshots', MAIN)), dir);
  for (const file of FILES) assert.ok(existsSync(join(dir, file)), file);

  const before = hub.requests.length;
  const result = await classify('acme/demo-sst2', { offline: true });
  assert.equal(hub.requests.length, before, 'offline made no request');
  assert.equal(result.label, 'POSITIVE');
  assert.ok(Math.abs(result.score - 0.999) < 1e-3);
});

test('--revision selects another commit of the Hub model', async () => {
  const result = await classify('acme/demo-sst2', { revision: 'v1' });
  assert.equal(result.label, 'pos');
});

test('--offline without a cached copy is an error naming the model', async () => {
  await assert.rejects(classify('acme/not-downloaded', { offline: true }), (error: unknown) => {
    assert.ok(error instanceof Error);
    assert.match(error.message, /acme\/not-downloaded/);
    return true;
  });
});
