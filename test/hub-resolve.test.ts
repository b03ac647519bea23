/**
 * resolveModel against the mock Hub: first download into Python's cache layout, cache hits, revisions, tokens,
 * sharded weights, sentence-transformers pooling, pytorch-only refusal and error paths. No test uses the internet.
 */
import assert from 'node:assert/strict';
import { lstat, readFile, readlink, rm, writeFile, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import { HubError, InputError } from '../src/errors.js';
import { selectModelFiles } from '../src/hub/file-selection.js';
import { HubConnectionError } from '../src/hub/http.js';
import type { DownloadProgress } from '../src/hub/progress.js';
import { resolveModel } from '../src/hub/resolve-model.js';
import { fakeCommit, gitBlobSha1, pseudoRandomBytes, sha256Hex, startMockHub } from './helpers/mock-hub.js';
import { mockHubSuite } from './helpers/mock-hub-suite.js';

const MAIN = fakeCommit('tiny main');
const V1 = fakeCommit('tiny v1');
const V2 = fakeCommit('tiny v2, same files as main');
const config = JSON.stringify({ model_type: 'bert', hidden_size: 32 });
const configV1 = JSON.stringify({ model_type: 'bert', hidden_size: 16 });
const tokenizer = JSON.stringify({ version: '1.0', model: { type: 'WordPiece' } });
const weights = pseudoRandomBytes(300_000, 1);
const weightsV1 = pseudoRandomBytes(1000, 2);

const SHARDED = fakeCommit('sharded');
const shard1 = pseudoRandomBytes(5000, 3);
const shard2 = pseudoRandomBytes(7000, 4);
const index = JSON.stringify({
  metadata: { total_size: 12000 },
  weight_map: {
    'a.weight': 'model-00001-of-00002.safetensors',
    'b.weight': 'model-00002-of-00002.safetensors',
    'c.weight': 'model-00001-of-00002.safetensors',
  },
});

const ST = fakeCommit('sentence-transformers');
const modules = JSON.stringify([
  { idx: 0, name: '0', path: '', type: 'sentence_transformers.models.Transformer' },
  { idx: 1, name: '1', path: '1_Pooling', type: 'sentence_transformers.models.Pooling' },
  { idx: 2, name: '2', path: '2_Normalize', type: 'sentence_transformers.models.Normalize' },
]);
const pooling = JSON.stringify({ word_embedding_dimension: 32, pooling_mode_mean_tokens: true });

const PT = fakeCommit('pytorch only');
const PRIVATE = fakeCommit('private');
const TOKEN = 'hf_test_token_123';

const suite = mockHubSuite(
  {
    token: TOKEN,
    renamed: { 'acme/old-name': 'acme/tiny' },
    repos: [
      {
        id: 'acme/tiny',
        refs: { main: MAIN, v1: V1, 'same-content': V2, 'refs/pr/3': V1 },
        commits: {
          [MAIN]: {
            'config.json': config,
            'tokenizer.json': tokenizer,
            'vocab.txt': '[PAD]\n[UNK]\nhello\n',
            'model.safetensors': weights,
            'pytorch_model.bin': pseudoRandomBytes(100, 9),
            'README.md': '# tiny',
            '.gitattributes': '*.safetensors filter=lfs',
          },
          [V1]: { 'config.json': configV1, 'model.safetensors': weightsV1 },
          [V2]: { 'config.json': config, 'model.safetensors': weights },
        },
      },
      {
        id: 'acme/sharded',
        refs: { main: SHARDED },
        commits: {
          [SHARDED]: {
            'config.json': config,
            'model.safetensors.index.json': index,
            'model-00001-of-00002.safetensors': shard1,
            'model-00002-of-00002.safetensors': shard2,
            'pytorch_model.bin.index.json': '{}',
          },
        },
      },
      {
        id: 'acme/minilm',
        refs: { main: ST },
        commits: {
          [ST]: {
            'config.json': config,
            'modules.json': modules,
            '1_Pooling/config.json': pooling,
            'model.safetensors': weightsV1,
          },
        },
      },
      {
        id: 'acme/pt-only',
        refs: { main: PT },
        commits: { [PT]: { 'config.json': config, 'pytorch_model.bin': pseudoRandomBytes(100, 5) } },
      },
      {
        id: 'acme/private',
        private: true,
        refs: { main: PRIVATE },
        commits: { [PRIVATE]: { 'config.json': config, 'model.safetensors': weightsV1 } },
      },
    ],
  },
  'seqbatch-hub-resolve-',
);
const freshOptions = suite.freshOptions;

function requestsSince(start: number) {
  return suite.hub.requests.slice(start);
}

test('first download writes the Python cache layout and only the files seqbatch needs', async () => {
  const progress: DownloadProgress[] = [];
  const options = freshOptions({ onProgress: (p) => progress.push(p) });
  const folder = await resolveModel('acme/tiny', options);
  const repoRoot = join(options.cacheDir, 'models--acme--tiny');
  assert.equal(folder, join(repoRoot, 'snapshots', MAIN));

  assert.deepEqual((await readdir(folder)).sort(), [
    'config.json',
    'model.safetensors',
    'tokenizer.json',
    'vocab.txt',
  ]);
  assert.equal(await readFile(join(folder, 'config.json'), 'utf8'), config);
  assert.deepEqual(new Uint8Array(await readFile(join(folder, 'model.safetensors'))), weights);

  // Snapshot entries are relative symlinks into blobs named by sha256 (LFS) or git blob sha1 (regular files).
  assert.ok((await lstat(join(folder, 'model.safetensors'))).isSymbolicLink());
  assert.equal(await readlink(join(folder, 'model.safetensors')), `../../blobs/${sha256Hex(weights)}`);
  assert.equal(
    await readlink(join(folder, 'config.json')),
    `../../blobs/${gitBlobSha1(Buffer.from(config))}`,
  );
  assert.equal(await readFile(join(repoRoot, 'refs', 'main'), 'utf8'), MAIN);
  const blobs = await readdir(join(repoRoot, 'blobs'));
  assert.ok(!blobs.some((name) => name.endsWith('.incomplete')));

  const done = progress.filter((p) => p.file === 'model.safetensors' && p.done);
  assert.equal(done.length, 1);
  assert.equal(done[0]!.downloadedBytes, weights.length);
  assert.equal(done[0]!.totalBytes, weights.length);
  assert.equal(done[0]!.repoId, 'acme/tiny');
});

test('a second resolve is a cache hit: one API call, no HEAD, no file GET', async () => {
  const options = freshOptions();
  await resolveModel('acme/tiny', options);
  const start = suite.hub.requests.length;
  const folder = await resolveModel('acme/tiny', options);
  assert.equal(folder, join(options.cacheDir, 'models--acme--tiny', 'snapshots', MAIN));
  const seen = requestsSince(start);
  assert.deepEqual(
    seen.map((r) => `${r.method} ${r.path}`),
    ['GET /api/models/acme/tiny/revision/main'],
  );
});

test('blobs already cached are linked into a new snapshot without downloading them again', async () => {
  const options = freshOptions();
  await resolveModel('acme/tiny', options);
  const start = suite.hub.requests.length;
  const folder = await resolveModel('acme/tiny', { ...options, revision: 'same-content' });
  assert.equal(folder, join(options.cacheDir, 'models--acme--tiny', 'snapshots', V2));
  assert.deepEqual(new Uint8Array(await readFile(join(folder, 'model.safetensors'))), weights);
  const seen = requestsSince(start);
  assert.equal(seen.filter((r) => r.method === 'HEAD').length, 2);
  assert.equal(seen.filter((r) => r.method === 'GET').length, 1, 'only the API call');
});

test('a branch or tag resolves to its commit and is recorded in refs/', async () => {
  const options = freshOptions();
  const folder = await resolveModel('acme/tiny', { ...options, revision: 'v1' });
  const repoRoot = join(options.cacheDir, 'models--acme--tiny');
  assert.equal(folder, join(repoRoot, 'snapshots', V1));
  assert.equal(await readFile(join(repoRoot, 'refs', 'v1'), 'utf8'), V1);
  assert.equal(await readFile(join(folder, 'config.json'), 'utf8'), configV1);

  // The "@revision" form means the same; a commit hash is used as is and writes no ref.
  assert.equal(await resolveModel('acme/tiny@v1', options), folder);
  const byCommit = await resolveModel('acme/tiny', { ...options, revision: MAIN });
  assert.equal(byCommit, join(repoRoot, 'snapshots', MAIN));
  assert.deepEqual((await readdir(join(repoRoot, 'refs'))).sort(), ['v1']);

  // A pull-request ref is sent URL-encoded and recorded at refs/refs/pr/3, as Python does.
  const start = suite.hub.requests.length;
  assert.equal(await resolveModel('acme/tiny', { ...options, revision: 'refs/pr/3' }), folder);
  assert.equal(suite.hub.requests[start]!.path, '/api/models/acme/tiny/revision/refs%2Fpr%2F3');
  assert.equal(await readFile(join(repoRoot, 'refs', 'refs', 'pr', '3'), 'utf8'), V1);
  assert.equal(await resolveModel('acme/tiny@refs/pr/3', options), folder);
});

test('an unknown revision is a HubError naming it', async () => {
  await assert.rejects(
    resolveModel('acme/tiny', freshOptions({ revision: 'no-such-branch' })),
    (error: unknown) =>
      error instanceof HubError &&
      error.argument === 'revision' &&
      /Revision "no-such-branch" was not found in acme\/tiny/.test(error.message),
  );
  await assert.rejects(
    resolveModel('acme/tiny@v1', freshOptions({ revision: 'main' })),
    (error: unknown) => error instanceof InputError && error.argument === 'revision',
  );
});

test('HF_TOKEN is sent as a bearer token to the Hub but not to the CDN', async () => {
  const start = suite.hub.requests.length;
  const options = freshOptions();
  const folder = await resolveModel('acme/private', { ...options, env: { ...options.env, HF_TOKEN: TOKEN } });
  assert.deepEqual(new Uint8Array(await readFile(join(folder, 'model.safetensors'))), weightsV1);
  const seen = requestsSince(start);
  const hubSide = seen.filter((r) => !r.path.startsWith('/cdn/'));
  const cdnSide = seen.filter((r) => r.path.startsWith('/cdn/'));
  assert.ok(hubSide.length >= 3 && cdnSide.length === 1);
  for (const r of hubSide) assert.equal(r.headers.authorization, `Bearer ${TOKEN}`, `${r.method} ${r.path}`);
  assert.equal(cdnSide[0]!.headers.authorization, undefined);
});

test('the token option overrides HF_TOKEN, and false sends none', async () => {
  const options = freshOptions();
  const env = { ...options.env, HF_TOKEN: 'hf_wrong' };
  await resolveModel('acme/private', { ...options, env, token: TOKEN });
  await assert.rejects(resolveModel('acme/private', freshOptions({ env, token: false })), /set HF_TOKEN/);
});

test('a private or gated repo without access says to set HF_TOKEN', async () => {
  await assert.rejects(
    resolveModel('acme/private', freshOptions()),
    (error: unknown) =>
      error instanceof HubError &&
      /acme\/private/.test(error.message) &&
      /revision "main"/.test(error.message) &&
      /set HF_TOKEN/.test(error.message),
  );
  await assert.rejects(
    resolveModel('acme/private', freshOptions({ token: 'hf_wrong' })),
    (error: unknown) =>
      error instanceof HubError &&
      /restricted/.test(error.message) &&
      /token sent .* rejected/.test(error.message),
  );
  await assert.rejects(
    resolveModel('acme/does-not-exist', freshOptions()),
    (error: unknown) => error instanceof HubError && /acme\/does-not-exist was not found/.test(error.message),
  );
});

test('sharded safetensors: the index and every shard it lists are fetched', async () => {
  const folder = await resolveModel('acme/sharded', freshOptions());
  assert.deepEqual((await readdir(folder)).sort(), [
    'config.json',
    'model-00001-of-00002.safetensors',
    'model-00002-of-00002.safetensors',
    'model.safetensors.index.json',
  ]);
  assert.deepEqual(new Uint8Array(await readFile(join(folder, 'model-00002-of-00002.safetensors'))), shard2);
  assert.deepEqual(new Uint8Array(await readFile(join(folder, 'model-00001-of-00002.safetensors'))), shard1);
});

test('sentence-transformers: modules.json and the pooling config are fetched, nested links go up three levels', async () => {
  const folder = await resolveModel('acme/minilm', freshOptions());
  assert.equal(await readFile(join(folder, '1_Pooling', 'config.json'), 'utf8'), pooling);
  assert.equal(await readFile(join(folder, 'modules.json'), 'utf8'), modules);
  assert.equal(
    await readlink(join(folder, '1_Pooling', 'config.json')),
    `../../../blobs/${gitBlobSha1(Buffer.from(pooling))}`,
  );
});

test('a repo with only pytorch_model.bin is refused before anything is downloaded', async () => {
  const start = suite.hub.requests.length;
  await assert.rejects(
    resolveModel('acme/pt-only', freshOptions()),
    (error: unknown) =>
      error instanceof HubError &&
      error.file === 'pytorch_model.bin' &&
      /no model\.safetensors/.test(error.message) &&
      /never unpickles/.test(error.message),
  );
  assert.equal(requestsSince(start).filter((r) => r.path.includes('/resolve/')).length, 0);
});

test('weights: false fetches config and tokenizer files only, and accepts a pytorch-only repo', async () => {
  const folder = await resolveModel('acme/tiny', freshOptions({ weights: false }));
  assert.deepEqual((await readdir(folder)).sort(), ['config.json', 'tokenizer.json', 'vocab.txt']);
  const ptFolder = await resolveModel('acme/pt-only', freshOptions({ weights: false }));
  assert.deepEqual(await readdir(ptFolder), ['config.json']);
});

test('an existing folder is returned as given; bad ids and missing folders are InputErrors', async () => {
  const folder = join(suite.tempRoot, 'local-model');
  await rm(folder, { recursive: true, force: true });
  await import('node:fs/promises').then((fs) => fs.mkdir(folder));
  assert.equal(await resolveModel(folder, freshOptions()), folder);

  const file = join(suite.tempRoot, 'a-file.json');
  await writeFile(file, '{}');
  await assert.rejects(
    resolveModel(file, freshOptions()),
    (e: unknown) => e instanceof InputError && /is a file/.test(String(e)),
  );
  await assert.rejects(
    resolveModel('./no/such/folder', freshOptions()),
    (e: unknown) => e instanceof InputError && e.argument === 'model' && /does not exist/.test(String(e)),
  );
  await assert.rejects(
    resolveModel('bad id!', freshOptions()),
    (e: unknown) =>
      e instanceof InputError && /not a valid Hub model id|neither an existing folder/.test(String(e)),
  );
  await assert.rejects(resolveModel('acme--x/y', freshOptions()), InputError);
});

test('an unreachable Hub is a HubConnectionError naming the repo, unless the cache has the revision', async () => {
  const options = freshOptions();
  await resolveModel('acme/tiny', options);
  const closed = await startMockHub({ repos: [] });
  const deadEndpoint = closed.endpoint;
  await closed.close();

  // Same cache: falls back to the cached snapshot like Python does.
  const folder = await resolveModel('acme/tiny', { ...options, endpoint: deadEndpoint });
  assert.equal(folder, join(options.cacheDir, 'models--acme--tiny', 'snapshots', MAIN));

  await assert.rejects(
    resolveModel('acme/tiny', freshOptions({ endpoint: deadEndpoint })),
    (error: unknown) =>
      error instanceof HubConnectionError &&
      error.message.includes(deadEndpoint) &&
      /acme\/tiny at revision "main"/.test(error.message),
  );
});

test("a renamed repo is followed through the Hub's relative redirects and cached under the name asked for", async () => {
  const options = freshOptions();
  const folder = await resolveModel('acme/old-name', options);
  assert.equal(folder, join(options.cacheDir, 'models--acme--old-name', 'snapshots', MAIN));
  assert.deepEqual(new Uint8Array(await readFile(join(folder, 'model.safetensors'))), weights);
});

test('a SentencePiece model is fetched only when the repo has no tokenizer.json', () => {
  const options = { weights: false, where: 'acme/x' };
  assert.deepEqual(
    selectModelFiles(new Set(['config.json', 'spm.model', 'tokenizer_config.json', 'README.md']), options),
    ['config.json', 'tokenizer_config.json', 'spm.model'],
  );
  assert.deepEqual(
    selectModelFiles(new Set(['config.json', 'tokenizer.json', 'sentencepiece.bpe.model']), options),
    ['config.json', 'tokenizer.json'],
  );
});
