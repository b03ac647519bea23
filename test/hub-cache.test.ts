/**
 * The cache shared with Python's huggingface_hub: a cache folder laid out by hand exactly as Python writes it
 * (blobs + relative symlinks + refs/main) is read as-is, offline hits and misses, and the settings rules
 * (HF_HUB_CACHE, HF_HOME, HF_ENDPOINT, HF_TOKEN, HF_HUB_OFFLINE; options over env).
 */
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { homedir, tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { HubError, InputError } from '../src/errors.js';
import { parseModelRef, repoFolderName } from '../src/hub/repo-id.js';
import { resolveModel } from '../src/hub/resolve-model.js';
import { hubCacheDir, resolveHubSettings } from '../src/hub/settings.js';
import { fakeCommit, gitBlobSha1, pseudoRandomBytes, sha256Hex, startMockHub } from './helpers/mock-hub.js';

const COMMIT = fakeCommit('python wrote this');
const config = JSON.stringify({ model_type: 'bert' });
const tokenizer = JSON.stringify({ version: '1.0' });
const weights = pseudoRandomBytes(4096, 11);
const shard = pseudoRandomBytes(2048, 12);
const index = JSON.stringify({
  weight_map: {
    'a.weight': 'model-00001-of-00002.safetensors',
    'b.weight': 'model-00002-of-00002.safetensors',
  },
});

let tempRoot: string;
let deadEndpoint: string;

/** Writes one file into a hand-made cache the way huggingface_hub does: blob by etag, relative symlink, ref. */
async function pythonCacheFile(
  repoRoot: string,
  commit: string,
  file: string,
  bytes: Uint8Array,
  lfs: boolean,
) {
  const etag = lfs ? sha256Hex(bytes) : gitBlobSha1(bytes);
  await mkdir(join(repoRoot, 'blobs'), { recursive: true });
  await writeFile(join(repoRoot, 'blobs', etag), bytes);
  const parts = file.split('/');
  const dir = join(repoRoot, 'snapshots', commit, ...parts.slice(0, -1));
  await mkdir(dir, { recursive: true });
  // snapshots/<commit>/ is two levels below the repo folder, plus one per sub-folder of the file.
  await symlink(`${'../'.repeat(2 + parts.length - 1)}blobs/${etag}`, join(dir, parts.at(-1)!));
}

async function pythonCache(name: string, files: Record<string, Uint8Array | string>, ref = 'main') {
  const cacheDir = join(tempRoot, name);
  const repoRoot = join(cacheDir, 'models--acme--from-python');
  for (const [file, content] of Object.entries(files)) {
    const bytes = typeof content === 'string' ? Buffer.from(content) : content;
    await pythonCacheFile(repoRoot, COMMIT, file, bytes, file.endsWith('.safetensors'));
  }
  await mkdir(join(repoRoot, 'refs'), { recursive: true });
  await writeFile(join(repoRoot, 'refs', ref), COMMIT); // no trailing newline, as Python writes it
  return { cacheDir, snapshot: join(repoRoot, 'snapshots', COMMIT) };
}

before(async () => {
  tempRoot = await mkdtemp(join(tmpdir(), 'seqbatch-hub-cache-'));
  // An endpoint nothing listens on: any network use fails loudly instead of reaching the internet.
  const closed = await startMockHub({ repos: [] });
  deadEndpoint = closed.endpoint;
  await closed.close();
});

after(async () => {
  await rm(tempRoot, { recursive: true, force: true });
});

test('a cache written the way Python writes it is read as-is, offline, with no network', async () => {
  const { cacheDir, snapshot } = await pythonCache('python-layout', {
    'config.json': config,
    'tokenizer.json': tokenizer,
    'model.safetensors': weights,
    '1_Pooling/config.json': '{"pooling_mode_mean_tokens": true}',
    'modules.json': '[{"path": "1_Pooling", "type": "sentence_transformers.models.Pooling"}]',
  });
  const env = { HF_HUB_CACHE: cacheDir, HF_HUB_OFFLINE: '1', HF_ENDPOINT: deadEndpoint, HF_HOME: tempRoot };
  assert.equal(await resolveModel('acme/from-python', { env }), snapshot);
  assert.equal(await resolveModel('acme/from-python', { env, revision: COMMIT }), snapshot);
  assert.deepEqual(new Uint8Array(await readFile(join(snapshot, 'model.safetensors'))), weights);
});

test('online, a Python-cached snapshot is a cache hit: the Hub is asked for the commit only', async () => {
  const { cacheDir, snapshot } = await pythonCache('python-layout-online', {
    'config.json': config,
    'model.safetensors': weights,
  });
  const hub = await startMockHub({
    repos: [
      {
        id: 'acme/from-python',
        refs: { main: COMMIT },
        commits: { [COMMIT]: { 'config.json': config, 'model.safetensors': weights } },
      },
    ],
  });
  try {
    const folder = await resolveModel('acme/from-python', {
      env: { HF_HUB_CACHE: cacheDir, HF_ENDPOINT: hub.endpoint, HF_HOME: tempRoot },
    });
    assert.equal(folder, snapshot);
    assert.deepEqual(
      hub.requests.map((r) => `${r.method} ${r.path}`),
      ['GET /api/models/acme/from-python/revision/main'],
    );
  } finally {
    await hub.close();
  }
});

test('offline misses name the missing revision or file and say the Hub was not contacted', async () => {
  const { cacheDir, snapshot } = await pythonCache('offline-miss', { 'config.json': config }, 'v2');
  const options = { cacheDir, offline: true, endpoint: deadEndpoint, env: { HF_HOME: tempRoot } };
  await assert.rejects(
    resolveModel('acme/from-python', options),
    (error: unknown) =>
      error instanceof HubError &&
      error.argument === 'revision' &&
      /acme\/from-python at revision "main" is not in the cache/.test(error.message) &&
      /no refs\/main/.test(error.message) &&
      /HF_HUB_OFFLINE/.test(error.message),
  );
  await assert.rejects(
    resolveModel('acme/from-python', { ...options, revision: 'v2' }),
    (error: unknown) =>
      error instanceof HubError &&
      error.file === 'model.safetensors' &&
      error.message.includes(snapshot) &&
      /HF_HUB_OFFLINE/.test(error.message),
  );
  await assert.rejects(
    resolveModel('acme/never-downloaded', options),
    (error: unknown) => error instanceof HubError && /acme\/never-downloaded/.test(error.message),
  );
  // A tokenizer-only request is satisfied by what is there.
  assert.equal(
    await resolveModel('acme/from-python', { ...options, revision: 'v2', weights: false }),
    snapshot,
  );
});

test('offline, a sharded checkpoint needs every shard its index lists', async () => {
  const { cacheDir } = await pythonCache('offline-shards', {
    'config.json': config,
    'model.safetensors.index.json': index,
    'model-00001-of-00002.safetensors': shard,
  });
  await assert.rejects(
    resolveModel('acme/from-python', { cacheDir, offline: true, env: { HF_HOME: tempRoot } }),
    (error: unknown) =>
      error instanceof HubError &&
      error.file === 'model-00002-of-00002.safetensors' &&
      /a shard listed in model\.safetensors\.index\.json/.test(error.message),
  );
});

test("HF_HUB_OFFLINE accepts Python's true spellings; the offline option overrides it", async () => {
  const { cacheDir, snapshot } = await pythonCache('offline-values', {
    'config.json': config,
    'model.safetensors': weights,
  });
  for (const value of ['1', 'true', 'YES', 'on']) {
    assert.equal(
      await resolveModel('acme/from-python', {
        env: { HF_HUB_CACHE: cacheDir, HF_HUB_OFFLINE: value, HF_ENDPOINT: deadEndpoint, HF_HOME: tempRoot },
      }),
      snapshot,
    );
  }
  assert.equal(resolveHubSettings({ env: { HF_HUB_OFFLINE: '0', HF_HOME: tempRoot } }).offline, false);
  assert.equal(
    resolveHubSettings({ env: { HF_HUB_OFFLINE: '1', HF_HOME: tempRoot }, offline: false }).offline,
    false,
  );
  // Online against a dead endpoint with an empty cache: the connection error surfaces (not silently offline).
  await assert.rejects(
    resolveModel('acme/from-python', {
      cacheDir: join(tempRoot, 'empty'),
      env: { HF_HUB_OFFLINE: 'no', HF_ENDPOINT: deadEndpoint, HF_HOME: tempRoot },
    }),
    /Could not reach the Hub/,
  );
});

test("cache root, endpoint and token follow Python's environment rules, options first", () => {
  assert.equal(hubCacheDir({ HF_HUB_CACHE: '/x/hub-cache', HF_HOME: '/y' }), '/x/hub-cache');
  assert.equal(hubCacheDir({ HF_HOME: '/y' }), join('/y', 'hub'));
  assert.equal(hubCacheDir({ XDG_CACHE_HOME: '/xdg' }), join('/xdg', 'huggingface', 'hub'));
  assert.equal(hubCacheDir({}), join(homedir(), '.cache', 'huggingface', 'hub'));
  assert.equal(hubCacheDir({ HF_HOME: '~/hf' }), join(homedir(), 'hf', 'hub'));

  const env = { HF_HOME: tempRoot, HF_ENDPOINT: 'https://mirror.example/', HF_TOKEN: 'hf_env' };
  assert.deepEqual(resolveHubSettings({ env }), {
    endpoint: 'https://mirror.example',
    token: 'hf_env',
    cacheDir: join(tempRoot, 'hub'),
    offline: false,
  });
  const overridden = resolveHubSettings({
    env,
    endpoint: 'http://127.0.0.1:1',
    token: 'hf_opt',
    cacheDir: '/c',
  });
  assert.deepEqual(overridden, {
    endpoint: 'http://127.0.0.1:1',
    token: 'hf_opt',
    cacheDir: '/c',
    offline: false,
  });
  assert.equal(resolveHubSettings({ env: { HF_HOME: tempRoot } }).endpoint, 'https://huggingface.co');
  assert.equal(resolveHubSettings({ env, token: false }).token, undefined);
});

test('without HF_TOKEN the token file saved by `huggingface-cli login` is used', async () => {
  const home = join(tempRoot, 'token-home');
  await mkdir(home, { recursive: true });
  await writeFile(join(home, 'token'), 'hf_from_file\n');
  assert.equal(resolveHubSettings({ env: { HF_HOME: home } }).token, 'hf_from_file');
  assert.equal(resolveHubSettings({ env: { HF_HOME: home, HF_TOKEN: 'hf_env' } }).token, 'hf_env');
  await writeFile(join(home, 'other-token'), 'hf_other');
  assert.equal(
    resolveHubSettings({ env: { HF_HOME: home, HF_TOKEN_PATH: join(home, 'other-token') } }).token,
    'hf_other',
  );
  assert.equal(resolveHubSettings({ env: { HF_HOME: join(tempRoot, 'no-token-here') } }).token, undefined);
});

test("model ids: folder names, @revision, and Python's validation rules", () => {
  assert.equal(
    repoFolderName('sentence-transformers/all-MiniLM-L6-v2'),
    'models--sentence-transformers--all-MiniLM-L6-v2',
  );
  assert.equal(repoFolderName('bert-base-uncased'), 'models--bert-base-uncased');
  assert.deepEqual(parseModelRef('org/name'), { repoId: 'org/name', revision: 'main' });
  assert.deepEqual(parseModelRef('org/name@v1.0'), { repoId: 'org/name', revision: 'v1.0' });
  assert.deepEqual(parseModelRef('org/name', 'refs/pr/3'), { repoId: 'org/name', revision: 'refs/pr/3' });
  for (const bad of [
    'org/na--me',
    'org/../x',
    '-org/name',
    'org/name.git',
    'org/name/extra',
    'org name',
    'org/name@',
  ]) {
    assert.throws(() => parseModelRef(bad), InputError, bad);
  }
  assert.throws(
    () => parseModelRef('org/name', 'a/../b'),
    (e: unknown) => e instanceof InputError && e.argument === 'revision',
  );
});
