import assert from 'node:assert/strict';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  utimesSync,
  writeFileSync,
} from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { defaultCacheDir, GRAPH_CACHE_FORMAT, GraphCache, graphCacheKey } from '../src/models/graph-cache.js';

const tmp = mkdtempSync(join(tmpdir(), 'seqbatch-graph-cache-'));
after(() => rmSync(tmp, { recursive: true, force: true }));

const file = (name: string, text: string) => {
  const path = join(tmp, name);
  writeFileSync(path, text);
  return path;
};

test('the key covers file contents, options (in any key order) and the builder version', async () => {
  const config = file('config.json', '{"model_type":"bert"}');
  const weights = file('model.safetensors', 'weights-v1');
  const base = {
    configFile: config,
    weightFiles: [weights],
    options: { task: 'base', a: 1 },
    builderVersion: 'b1',
  };
  const key = await graphCacheKey(base);
  assert.match(key, /^[0-9a-f]{64}$/);
  assert.equal(
    await graphCacheKey({ ...base, options: { a: 1, task: 'base' } }),
    key,
    'key order does not matter',
  );
  assert.equal(await graphCacheKey({ ...base, options: { task: 'base', a: 1, b: undefined } }), key);
  assert.notEqual(await graphCacheKey({ ...base, options: { task: 'base', a: 2 } }), key);
  assert.notEqual(await graphCacheKey({ ...base, builderVersion: 'b2' }), key);
  writeFileSync(weights, 'weights-v2');
  assert.notEqual(await graphCacheKey(base), key, 'weights content');
  writeFileSync(weights, 'weights-v1');
  assert.equal(await graphCacheKey(base), key, 'same content, same key (paths and times do not matter)');
  writeFileSync(config, '{"model_type": "bert"}');
  assert.notEqual(await graphCacheKey(base), key, 'config content');
  // Two files whose concatenation is equal still give different keys.
  const ab = await graphCacheKey({ ...base, weightFiles: [file('x1', 'ab'), file('y1', 'c')] });
  const abc = await graphCacheKey({ ...base, weightFiles: [file('x2', 'a'), file('y2', 'bc')] });
  assert.notEqual(ab, abc);
});

test('entries are written whole and read back; partial or foreign entries count as misses', async () => {
  const cache = new GraphCache(join(tmp, 'cache'));
  assert.equal(await cache.get('k1'), undefined);
  const path = await cache.put('k1', Uint8Array.from([1, 2, 3]), {
    inputNames: ['input_ids'],
    outputNames: ['logits'],
    modelDir: '/m',
    options: { task: 'base' },
  });
  const hit = await cache.get('k1');
  assert.equal(hit!.modelPath, path);
  assert.deepEqual(hit!.meta.inputNames, ['input_ids']);
  assert.equal(hit!.meta.format, GRAPH_CACHE_FORMAT);
  assert.deepEqual(
    readdirSync(cache.entryDir('k1')).sort(),
    ['meta.json', 'model.onnx'],
    'no temporary files left',
  );

  writeFileSync(join(cache.entryDir('k1'), 'meta.json'), '{"format": 999, "inputNames": []}');
  assert.equal(await cache.get('k1'), undefined, 'another cache format');
  writeFileSync(join(cache.entryDir('k1'), 'meta.json'), '{not json');
  assert.equal(await cache.get('k1'), undefined, 'unreadable meta');
  rmSync(join(cache.entryDir('k1'), 'meta.json'));
  assert.equal(await cache.get('k1'), undefined, 'model without meta (interrupted write)');
});

test('SEQBATCH_CACHE, else ~/.cache/seqbatch', () => {
  const saved = process.env.SEQBATCH_CACHE;
  try {
    process.env.SEQBATCH_CACHE = '/somewhere/else';
    assert.equal(defaultCacheDir(), '/somewhere/else');
    delete process.env.SEQBATCH_CACHE;
    assert.equal(defaultCacheDir(), join(homedir(), '.cache', 'seqbatch'));
  } finally {
    if (saved === undefined) delete process.env.SEQBATCH_CACHE;
    else process.env.SEQBATCH_CACHE = saved;
  }
});

test('file digests are remembered for settled files and re-taken after any write', async () => {
  const dir = join(tmp, 'digests');
  mkdirSync(dir);
  const weights = join(dir, 'model.safetensors');
  writeFileSync(weights, 'AAAA');
  const config = join(dir, 'config.json');
  writeFileSync(config, '{}');
  const cache = new GraphCache(join(tmp, 'digest-cache'));
  const memoFile = join(cache.dir, 'file-digests.json');
  const parts = { configFile: config, weightFiles: [weights], options: {}, builderVersion: 'v' };

  // Just-written files are not remembered (a second write in the same clock tick could go unseen).
  const fresh = await graphCacheKey(parts, cache.fileDigests());
  assert.equal(existsSync(memoFile), false);

  // Settled files are: the memo answers without reading (proved by planting a different digest in it).
  const past = new Date(Date.now() - 60_000);
  utimesSync(weights, past, past);
  utimesSync(config, past, past);
  // utimes itself changes ctime, so the files only count as settled once the ctime is old too.
  const settledLater = Date.now() + 2100;
  await new Promise((resolve) => setTimeout(resolve, settledLater - Date.now()));
  assert.equal(await graphCacheKey(parts, cache.fileDigests()), fresh, 'same content, same key');
  const memo = JSON.parse(readFileSync(memoFile, 'utf8')) as Record<string, { sha256: string }>;
  assert.ok(memo[weights], 'settled file remembered');
  memo[weights]!.sha256 = 'f'.repeat(64);
  writeFileSync(memoFile, JSON.stringify(memo));
  assert.notEqual(await graphCacheKey(parts, cache.fileDigests()), fresh, 'the remembered digest was used');

  // Same size, mtime restored: the write still changed ctime, so the file is hashed again.
  writeFileSync(weights, 'BBBB');
  utimesSync(weights, past, past);
  const changed = await graphCacheKey(parts, cache.fileDigests());
  assert.notEqual(changed, fresh);
  writeFileSync(weights, 'AAAA');
  assert.equal(await graphCacheKey(parts, cache.fileDigests()), fresh);
});
