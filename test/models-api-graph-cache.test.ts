import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  realpathSync,
  rmSync,
  symlinkSync,
  utimesSync,
  writeFileSync,
} from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import {
  AutoModelForSequenceClassification,
  graphBuilderVersion,
  type PreTrainedModel,
  sourceTreeFingerprint,
} from '../src/models/auto.js';
import {
  defaultCacheDir,
  GRAPH_CACHE_FORMAT,
  GraphCache,
  graphCacheKey,
  memoDigest,
} from '../src/models/graph-cache.js';
import { WeightsError } from '../src/errors.js';
import { loadWeights } from '../src/weights/index.js';
import { assertDeepClose } from './helpers/assert-close.js';
import { REPO_ROOT } from './helpers/shared.js';

const DEMO_MODEL = join(REPO_ROOT, 'models', 'seqbatch-demo-sst2');

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

/** A folder holding a 4-byte "weights" file and an empty config, for key and digest tests. */
function tinyCheckpoint(name: string): { weights: string; config: string } {
  const dir = join(tmp, name);
  mkdirSync(dir);
  const weights = join(dir, 'model.safetensors');
  writeFileSync(weights, 'AAAA');
  const config = join(dir, 'config.json');
  writeFileSync(config, '{}');
  return { weights, config };
}

test('file digests are remembered for settled files and re-taken after any write', async () => {
  const { weights, config } = tinyCheckpoint('digests');
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
  const memo = JSON.parse(readFileSync(memoFile, 'utf8')) as { entries: Record<string, { sha256: string }> };
  assert.ok(memo.entries[weights], 'settled file remembered');
  memo.entries[weights]!.sha256 = 'f'.repeat(64);
  writeFileSync(memoFile, JSON.stringify({ entries: memo.entries, sha256: memoDigest(memo.entries) }));
  assert.notEqual(await graphCacheKey(parts, cache.fileDigests()), fresh, 'the remembered digest was used');

  // Same size, mtime restored: the write still changed ctime, so the file is hashed again.
  writeFileSync(weights, 'BBBB');
  utimesSync(weights, past, past);
  const changed = await graphCacheKey(parts, cache.fileDigests());
  assert.notEqual(changed, fresh);
  writeFileSync(weights, 'AAAA');
  assert.equal(await graphCacheKey(parts, cache.fileDigests()), fresh);
});

test('a cached graph damaged in place (same size, other bytes) is rebuilt with a warning and scores stay right', async () => {
  const cacheDir = join(tmp, 'damage-cache');
  const ids = [[101, 2023, 3185, 2001, 2307, 102]];
  const logitsOf = async (model: PreTrainedModel) =>
    Array.from(
      (await model.forward({ input_ids: ids, attention_mask: [ids[0]!.map(() => 1)] })).logits!.data,
    );
  const load = (options: { cacheDir: string | false }) =>
    AutoModelForSequenceClassification.fromPretrained(DEMO_MODEL, { ...options, threads: 1 });
  const reference = await logitsOf(await load({ cacheDir: false }));
  const first = await load({ cacheDir });
  assert.equal(first.loadedFromCache, false);
  const graphPath = first.graphPath!;

  // Overwrite the classifier bias inside the stored graph: the file still parses and loads, but answers wrongly.
  const bias = (await loadWeights(DEMO_MODEL)).getFloat32('classifier.bias').data;
  const graph = readFileSync(graphPath);
  const at = graph.indexOf(Buffer.from(bias.buffer, bias.byteOffset, bias.byteLength));
  assert.ok(at > 0, 'the classifier bias is stored verbatim in the graph');
  Buffer.from(Float32Array.from([bias[0]! + 0.5, bias[1]! - 0.5]).buffer).copy(graph, at);
  writeFileSync(graphPath, graph);

  const warnings: string[] = [];
  const onWarning = (warning: Error) => warnings.push(warning.message);
  process.on('warning', onWarning);
  try {
    const second = await load({ cacheDir });
    await new Promise((resolve) => setImmediate(resolve));
    assert.equal(second.loadedFromCache, false, 'the damaged entry is not used');
    assertDeepClose(await logitsOf(second), reference, 1e-6, 'rebuilt graph logits');
    assert.ok(
      warnings.some((w) => w.includes(graphPath) && w.includes('damaged')),
      `a warning names the damaged graph: ${JSON.stringify(warnings)}`,
    );
    const third = await load({ cacheDir });
    assert.equal(third.loadedFromCache, true, 'the rebuilt entry serves the next load');
    assertDeepClose(await logitsOf(third), reference, 1e-6, 'repaired cache logits');
  } finally {
    process.off('warning', onWarning);
  }
});

test('a damaged file-digest memo is dropped with a warning, never trusted', async () => {
  const { weights, config } = tinyCheckpoint('memo-damage');
  const past = new Date(Date.now() - 60_000);
  utimesSync(weights, past, past);
  utimesSync(config, past, past);
  await new Promise((resolve) => setTimeout(resolve, 2100)); // until the ctime set by utimes is settled too
  const cache = new GraphCache(join(tmp, 'memo-damage-cache'));
  const parts = { configFile: config, weightFiles: [weights], options: {}, builderVersion: 'v' };
  const key = await graphCacheKey(parts, cache.fileDigests());
  const memoFile = join(cache.dir, 'file-digests.json');
  const memo = JSON.parse(readFileSync(memoFile, 'utf8')) as { entries: Record<string, { sha256: string }> };
  memo.entries[weights]!.sha256 = 'f'.repeat(64); // a flipped digest, checksum not updated
  writeFileSync(memoFile, JSON.stringify(memo));
  const warnings: string[] = [];
  const onWarning = (warning: Error) => warnings.push(warning.message);
  process.on('warning', onWarning);
  try {
    assert.equal(await graphCacheKey(parts, cache.fileDigests()), key, 'files hashed again, same key');
    await new Promise((resolve) => setImmediate(resolve));
    assert.ok(
      warnings.some((w) => w.includes(memoFile) && w.includes('damaged')),
      JSON.stringify(warnings),
    );
  } finally {
    process.off('warning', onWarning);
  }
});

test('the graph builder fingerprint covers sources in subfolders', () => {
  const root = join(tmp, 'builder-src');
  mkdirSync(join(root, 'bert'), { recursive: true });
  writeFileSync(join(root, 'auto.ts'), 'export {};');
  writeFileSync(join(root, 'bert', 'layers.ts'), 'export const a = 1;');
  writeFileSync(join(root, 'bert', 'types.d.ts'), 'export {};');
  const before = sourceTreeFingerprint([root]);
  writeFileSync(join(root, 'bert', 'types.d.ts'), 'export type X = 1;');
  assert.equal(sourceTreeFingerprint([root]), before, 'declaration files do not count');
  writeFileSync(join(root, 'bert', 'layers.ts'), 'export const a = 2;');
  assert.notEqual(sourceTreeFingerprint([root]), before, 'a file one folder down counts');
  assert.match(graphBuilderVersion(), /^[0-9a-f]{16}$/);
});

test('a Hugging Face cache blob whose bytes no longer match its sha256 name is refused, naming the blob', async () => {
  const hub = join(tmp, 'hub-blob');
  const snapshot = join(hub, 'snapshots', 'abc');
  mkdirSync(join(hub, 'blobs'), { recursive: true });
  mkdirSync(snapshot, { recursive: true });
  for (const file of readdirSync(DEMO_MODEL)) {
    const bytes = readFileSync(join(DEMO_MODEL, file));
    const blob = join(hub, 'blobs', createHash('sha256').update(bytes).digest('hex'));
    writeFileSync(blob, bytes);
    symlinkSync(blob, join(snapshot, file));
  }
  const load = () =>
    AutoModelForSequenceClassification.fromPretrained(snapshot, {
      cacheDir: join(tmp, 'hub-blob-cache'),
      threads: 1,
    });
  await (await load()).dispose(); // intact: loads
  const weights = realpathSync(join(snapshot, 'model.safetensors'));
  const bytes = readFileSync(weights);
  bytes[bytes.length - 1] ^= 0x01; // same size, one bit flipped in the last float
  writeFileSync(weights, bytes);
  await assert.rejects(
    load(),
    (error: unknown) =>
      error instanceof WeightsError && error.message.includes(weights) && /damaged/.test(error.message),
  );
});
