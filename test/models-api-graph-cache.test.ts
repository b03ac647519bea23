import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
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
