import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import {
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
  mkdirSync,
  copyFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { WeightsError } from '../src/errors.js';
import {
  halfToFloat,
  loadWeights,
  parseSafetensors,
  readSafetensors,
  readSafetensorsHeader,
  SafetensorsWeightStore,
} from '../src/weights/index.js';
import { serializeSafetensors } from '../src/weights/write.js';
import { readSharedJson, REPO_ROOT, sharedPath, skipUnlessShared } from './helpers/shared.js';

const MODELS = 'fixtures/models';
const tmpRoot = mkdtempSync(join(tmpdir(), 'seqbatch-weights-'));
after(() => rmSync(tmpRoot, { recursive: true, force: true }));

/** A file with an arbitrary header text (not necessarily valid) and data area. */
function rawFile(header: string, data: Uint8Array = new Uint8Array(0), declaredLength?: number): Uint8Array {
  const headerBytes = new TextEncoder().encode(header);
  const out = new Uint8Array(8 + headerBytes.byteLength + data.byteLength);
  new DataView(out.buffer).setBigUint64(0, BigInt(declaredLength ?? headerBytes.byteLength), true);
  out.set(headerBytes, 8);
  out.set(data, 8 + headerBytes.byteLength);
  return out;
}

function expectWeightsError(fn: () => unknown, pattern: RegExp, tensor?: string): void {
  assert.throws(fn, (error: unknown) => {
    assert.ok(error instanceof WeightsError, `expected WeightsError, got ${String(error)}`);
    assert.match(error.message, pattern);
    assert.equal(error.file, 'hostile.safetensors');
    if (tensor !== undefined) assert.equal(error.field, tensor);
    return true;
  });
}

describe('fixture checkpoints', { skip: skipUnlessShared(MODELS) }, () => {
  test('every fixture checkpoint loads with the tensor count save_pretrained recorded', async () => {
    const folders = readdirSync(sharedPath(MODELS));
    assert.ok(folders.length >= 27);
    for (const folder of folders) {
      const store = await loadWeights(sharedPath(MODELS, folder));
      const expected = readSharedJson<{
        weights: { num_tensors_in_file: number; safetensors_metadata: object };
      }>(MODELS, folder, 'expected.json');
      assert.equal(store.names().length, expected.weights.num_tensors_in_file, folder);
      assert.deepEqual(store.metadata[0], expected.weights.safetensors_metadata, folder);
      for (const name of store.names()) {
        const info = store.info(name)!;
        const { data, shape } = store.getFloat32(name, info.shape);
        assert.deepEqual(shape, info.shape);
        assert.equal(
          data.length,
          shape.reduce((a, b) => a * b, 1),
        );
      }
    }
  });

  test('F32 tensors are views into the single file buffer, and values match the bytes on disk', async () => {
    const file = sharedPath(MODELS, 'bert-model', 'model.safetensors');
    const store = await loadWeights(file);
    const disk = readFileSync(file);
    const headerLength = Number(disk.readBigUInt64LE(0));
    const header = JSON.parse(disk.subarray(8, 8 + headerLength).toString('utf8'));
    const name = 'embeddings.word_embeddings.weight';
    const { data } = store.getFloat32(name);
    const raw = store.getRaw(name);
    assert.equal(data.buffer, raw.bytes.buffer, 'F32 tensor must be a view, not a copy');
    const [begin] = header[name].data_offsets;
    for (const i of [0, 1, 17, data.length - 1]) {
      assert.equal(data[i], disk.readFloatLE(8 + headerLength + begin + i * 4));
    }
    // Every tensor of the store shares that one buffer.
    const buffers = new Set(store.names().map((n) => store.getFloat32(n).data.buffer));
    assert.equal(buffers.size, 1);
  });

  test('a wrong expected shape and a missing tensor name the tensor and the file', async () => {
    const store = await loadWeights(sharedPath(MODELS, 'bert-model'));
    assert.throws(
      () => store.getFloat32('embeddings.word_embeddings.weight', [100, 32]),
      (e: unknown) =>
        e instanceof WeightsError &&
        e.field === 'embeddings.word_embeddings.weight' &&
        /\[99, 32\], expected \[100, 32\]/.test(e.message) &&
        e.file!.endsWith('model.safetensors'),
    );
    assert.throws(
      () => store.getFloat32('cls.predictions.decoder.weight'),
      (e: unknown) =>
        e instanceof WeightsError &&
        e.field === 'cls.predictions.decoder.weight' &&
        /not found/.test(e.message),
    );
  });
});

describe('hostile headers', () => {
  const f32 = (n: number) => new Uint8Array(n * 4);
  const one = (entry: object, data: Uint8Array = f32(2)) => rawFile(JSON.stringify({ t: entry }), data);
  const parse = (bytes: Uint8Array) => () => parseSafetensors(bytes, 'hostile.safetensors');

  test('a file shorter than 8 bytes', () => expectWeightsError(parse(new Uint8Array(5)), /too short/));
  test('a huge header length is refused before parsing', () =>
    expectWeightsError(parse(rawFile('{}', new Uint8Array(0), 2 ** 40)), /exceeds the 100000000-byte limit/));
  test('a header length past the end of the file', () =>
    expectWeightsError(parse(rawFile('{}', new Uint8Array(0), 1000)), /runs past the end/));
  test('a header that is not JSON', () => expectWeightsError(parse(rawFile('{"t": nope')), /not valid JSON/));
  test('a header that is not UTF-8', () => {
    const bytes = rawFile('{"t":1}');
    bytes[10] = 0xff;
    expectWeightsError(parse(bytes), /not valid UTF-8/);
  });
  test('a header that is a JSON array', () =>
    expectWeightsError(parse(rawFile('[]')), /must be a JSON object/));
  test('a tensor entry that is not an object', () =>
    expectWeightsError(parse(rawFile('{"t": 3}')), /expected an object/, 't'));
  test('an unknown dtype', () =>
    expectWeightsError(
      parse(one({ dtype: 'F8_E4M3', shape: [2], data_offsets: [0, 8] })),
      /unknown dtype/,
      't',
    ));
  test('a negative dimension', () =>
    expectWeightsError(
      parse(one({ dtype: 'F32', shape: [-2], data_offsets: [0, 8] })),
      /non-negative integers/,
      't',
    ));
  test('a fractional dimension', () =>
    expectWeightsError(
      parse(one({ dtype: 'F32', shape: [1.5], data_offsets: [0, 8] })),
      /non-negative integers/,
      't',
    ));
  test('negative offsets', () =>
    expectWeightsError(
      parse(one({ dtype: 'F32', shape: [2], data_offsets: [-8, 0] })),
      /data_offsets must be/,
      't',
    ));
  test('offsets that are not a pair', () =>
    expectWeightsError(
      parse(one({ dtype: 'F32', shape: [2], data_offsets: [0] })),
      /data_offsets must be/,
      't',
    ));
  test('end before begin', () =>
    expectWeightsError(
      parse(one({ dtype: 'F32', shape: [0], data_offsets: [8, 0] })),
      /end before they begin/,
      't',
    ));
  test('shape × dtype size differing from the span', () =>
    expectWeightsError(
      parse(one({ dtype: 'F32', shape: [3], data_offsets: [0, 8] })),
      /needs 12 bytes/,
      't',
    ));
  test('a span past the data area (truncated file)', () =>
    expectWeightsError(parse(one({ dtype: 'F32', shape: [4], data_offsets: [0, 16] })), /run past/, 't'));
  test('an element count past 2^53', () =>
    expectWeightsError(
      parse(one({ dtype: 'F32', shape: [2 ** 30, 2 ** 30, 2 ** 30], data_offsets: [0, 8] })),
      /too many elements/,
      't',
    ));
  test('overlapping tensors', () => {
    const header = {
      a: { dtype: 'F32', shape: [2], data_offsets: [0, 8] },
      b: { dtype: 'F32', shape: [2], data_offsets: [4, 12] },
    };
    expectWeightsError(parse(rawFile(JSON.stringify(header), f32(3))), /overlap/, 'b');
  });
  test('a gap between tensors', () => {
    const header = {
      a: { dtype: 'F32', shape: [1], data_offsets: [0, 4] },
      b: { dtype: 'F32', shape: [1], data_offsets: [8, 12] },
    };
    expectWeightsError(parse(rawFile(JSON.stringify(header), f32(3))), /gap/, 'b');
  });
  test('trailing bytes after the last tensor', () =>
    expectWeightsError(
      parse(one({ dtype: 'F32', shape: [1], data_offsets: [0, 4] })),
      /trailing or missing/,
    ));
  test('__metadata__ with a non-string value', () =>
    expectWeightsError(
      parse(rawFile('{"__metadata__": {"format": 1}}')),
      /must be a string/,
      '__metadata__',
    ));
  test('a truncated real file', { skip: skipUnlessShared(MODELS) }, () => {
    const bytes = readFileSync(sharedPath(MODELS, 'bert-model', 'model.safetensors'));
    expectWeightsError(parse(bytes.subarray(0, bytes.byteLength - 100)), /run past|trailing or missing/);
    expectWeightsError(parse(bytes.subarray(0, 100)), /runs past the end/);
  });
  test(
    'random byte flips in a real header never escape as anything but WeightsError',
    { skip: skipUnlessShared(MODELS) },
    () => {
      const original = readFileSync(sharedPath(MODELS, 'distilbert-model', 'model.safetensors'));
      const headerLength = Number(original.readBigUInt64LE(0));
      let seed = 12345;
      const random = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
      let rejected = 0;
      for (let trial = 0; trial < 300; trial++) {
        const bytes = Uint8Array.from(original);
        const at = 8 + Math.floor(random() * headerLength);
        bytes[at] = Math.floor(random() * 256);
        try {
          parseSafetensors(bytes, 'hostile.safetensors');
        } catch (error) {
          assert.ok(error instanceof WeightsError, `flip at ${at}: ${String(error)}`);
          rejected++;
        }
      }
      assert.ok(rejected > 100, `only ${rejected} of 300 corrupted headers were rejected`);
    },
  );
  test('an empty file set (only metadata) is valid', () => {
    const parsed = parseSafetensors(rawFile('{"__metadata__": {"format": "pt"}}'), 'x.safetensors');
    assert.deepEqual(parsed.metadata, { format: 'pt' });
    assert.equal(parsed.tensors.length, 0);
  });
});

describe('dtype widening to float32', () => {
  test('half-precision bit patterns, hand-computed', () => {
    const cases: Array<[number, number]> = [
      [0x0000, 0],
      [0x3c00, 1],
      [0xc000, -2],
      [0x3555, 0.333251953125], // 1 + 341/1024 scaled by 2^-2
      [0x7bff, 65504], // largest half
      [0x0400, 2 ** -14], // smallest normal
      [0x0001, 2 ** -24], // smallest subnormal
      [0x03ff, 1023 * 2 ** -24], // largest subnormal
      [0x7c00, Infinity],
      [0xfc00, -Infinity],
    ];
    for (const [bits, value] of cases) assert.equal(halfToFloat(bits), value, `0x${bits.toString(16)}`);
    assert.ok(Number.isNaN(halfToFloat(0x7e00)));
    assert.ok(Object.is(halfToFloat(0x8000), -0));
  });

  test('F16, BF16, F64 and integer tensors read through getFloat32', () => {
    const u16 = (values: number[]) => {
      const out = new Uint8Array(values.length * 2);
      values.forEach((v, i) => new DataView(out.buffer).setUint16(i * 2, v, true));
      return out;
    };
    const f64 = new Uint8Array(24);
    [0.1, -1e300, 3.5].forEach((v, i) => new DataView(f64.buffer).setFloat64(i * 8, v, true));
    const i64 = new Uint8Array(16);
    new DataView(i64.buffer).setBigInt64(0, -5n, true);
    new DataView(i64.buffer).setBigInt64(8, 511n, true);
    const bytes = serializeSafetensors([
      { name: 'half', dtype: 'F16', shape: [4], data: u16([0x3c00, 0xc000, 0x3555, 0x0001]) },
      // bf16: 1.0, -2.0, pi truncated to 8 mantissa bits (0x4049 → 3.140625), 2^-133 (subnormal in float32)
      { name: 'bf', dtype: 'BF16', shape: [2, 2], data: u16([0x3f80, 0xc000, 0x4049, 0x0001]) },
      { name: 'double', dtype: 'F64', shape: [3], data: f64 },
      { name: 'long', dtype: 'I64', shape: [2], data: i64 },
      { name: 'mask', dtype: 'BOOL', shape: [3], data: Uint8Array.from([1, 0, 1]) },
    ]);
    const store = new SafetensorsWeightStore([parseSafetensors(bytes, 'mixed.safetensors')]);
    assert.deepEqual([...store.getFloat32('half').data], [1, -2, 0.333251953125, 2 ** -24]);
    const bf = store.getFloat32('bf');
    assert.deepEqual(bf.shape, [2, 2]);
    assert.deepEqual([...bf.data], [1, -2, 3.140625, 2 ** -133]);
    assert.deepEqual([...store.getFloat32('double').data], [Math.fround(0.1), -Infinity, 3.5]);
    assert.deepEqual([...store.getFloat32('long').data], [-5, 511]);
    assert.deepEqual([...store.getFloat32('mask').data], [1, 0, 1]);
    assert.equal(store.info('half')!.dtype, 'F16');
  });

  test('F32 data at an unaligned offset is copied with the right values', () => {
    // A 2-byte I8 tensor first shifts the F32 one to an offset that is not a multiple of 4.
    const values = Float32Array.from([1.5, -0.25, 1e-30]);
    const bytes = serializeSafetensors([
      { name: 'pad', dtype: 'I8', shape: [2], data: Uint8Array.from([1, 255]) },
      { name: 'w', dtype: 'F32', shape: [3], data: values },
    ]);
    const store = new SafetensorsWeightStore([parseSafetensors(bytes, 'unaligned.safetensors')]);
    const { data } = store.getFloat32('w');
    assert.deepEqual([...data], [...values]);
    assert.notEqual(data.buffer, bytes.buffer);
    assert.deepEqual([...store.getFloat32('pad').data], [1, -1]);
  });
});

describe('reading tensors on demand (the int8 build)', () => {
  test('every dtype and the unaligned F32 read from the file equal the whole-file reader, each in its own buffer', async () => {
    const u16 = (values: number[]) => {
      const out = new Uint8Array(values.length * 2);
      values.forEach((v, i) => new DataView(out.buffer).setUint16(i * 2, v, true));
      return out;
    };
    const bytes = serializeSafetensors([
      { name: 'pad', dtype: 'I8', shape: [2], data: Uint8Array.from([1, 255]) },
      { name: 'w', dtype: 'F32', shape: [2, 2], data: Float32Array.from([1.5, -0.25, 1e-30, 7]) },
      { name: 'half', dtype: 'F16', shape: [4], data: u16([0x3c00, 0xc000, 0x3555, 0x0001]) },
      { name: 'bf', dtype: 'BF16', shape: [2], data: u16([0x3f80, 0x4049]) },
    ]);
    const file = join(tmpRoot, 'on-demand.safetensors');
    writeFileSync(file, bytes);
    const whole = await loadWeights(file);
    const onDemand = await loadWeights(file, { onDemand: true });
    assert.deepEqual(onDemand.names(), whole.names());
    const buffers = new Set<ArrayBufferLike>();
    for (const name of whole.names()) {
      const got = onDemand.getFloat32(name);
      assert.deepEqual(got, whole.getFloat32(name), name);
      assert.deepEqual(onDemand.getRaw(name), whole.getRaw(name), name);
      buffers.add(got.data.buffer);
    }
    assert.equal(buffers.size, 4, 'no tensor shares memory with another (each is read alone)');
    assert.throws(() => onDemand.getFloat32('w', [4]), /has shape \[2, 2\], expected \[4\]/);
    // The file changing under the store is an error naming it, never garbage.
    writeFileSync(file, bytes.subarray(0, 40));
    assert.throws(
      () => onDemand.getFloat32('half'),
      (e: unknown) => e instanceof WeightsError && e.file === file && e.field === 'half',
    );
  });
});

describe('checkpoint folders', { skip: skipUnlessShared(MODELS) }, () => {
  test('a sharded checkpoint (split from a fixture) loads the same tensors', async () => {
    const source = await loadWeights(sharedPath(MODELS, 'bert-seqcls'));
    const names = source.names();
    const dir = join(tmpRoot, 'sharded');
    mkdirSync(dir);
    const shards = [names.slice(0, 20), names.slice(20)];
    const weightMap: Record<string, string> = {};
    shards.forEach((shardNames, i) => {
      const file = `model-0000${i + 1}-of-00002.safetensors`;
      const tensors = shardNames.map((name) => ({
        name,
        ...source.getRaw(name),
        data: source.getRaw(name).bytes,
      }));
      writeFileSync(join(dir, file), serializeSafetensors(tensors, { format: 'pt' }));
      for (const name of shardNames) weightMap[name] = file;
    });
    writeFileSync(
      join(dir, 'model.safetensors.index.json'),
      JSON.stringify({ metadata: {}, weight_map: weightMap }),
    );
    const sharded = await loadWeights(dir);
    assert.equal(sharded.files.length, 2);
    assert.deepEqual(sharded.names().sort(), [...names].sort());
    for (const name of names) assert.deepEqual(sharded.getFloat32(name).data, source.getFloat32(name).data);

    // The index and the shards must agree.
    const broken = join(tmpRoot, 'sharded-broken');
    mkdirSync(broken);
    for (const file of readdirSync(dir)) copyFileSync(join(dir, file), join(broken, file));
    const writeIndex = (map: Record<string, string>) =>
      writeFileSync(join(broken, 'model.safetensors.index.json'), JSON.stringify({ weight_map: map }));
    const rejects = (pattern: RegExp) =>
      assert.rejects(
        loadWeights(broken),
        (e: unknown) => e instanceof WeightsError && pattern.test(e.message),
      );

    writeIndex({ ...weightMap, [names[0]!]: 'model-00002-of-00002.safetensors' });
    await rejects(/puts tensor .* in model-00002-of-00002.safetensors but it is stored in model-00001/);
    writeIndex({ ...weightMap, 'extra.weight': 'model-00001-of-00002.safetensors' });
    await rejects(/"extra.weight" is listed in weight_map but not stored/);
    const { [names[3]!]: _dropped, ...withoutOne } = weightMap;
    writeIndex(withoutOne);
    await rejects(/stored in a shard but missing from weight_map/);
    writeIndex({ ...weightMap, [names[0]!]: '../../etc/passwd' });
    await rejects(/not a file in/);
    writeIndex({ ...weightMap, [names[0]!]: 'model-00003-of-00003.safetensors' });
    await rejects(/missing from/);
    writeFileSync(join(broken, 'model.safetensors.index.json'), '{"weight_map": [1]}');
    await rejects(/weight_map must be an object/);
  });

  test('a folder with only pytorch_model.bin is refused with how to convert, never parsed', async () => {
    const dir = join(tmpRoot, 'pickle-only');
    mkdirSync(dir);
    // Not a real pickle: proves the file is never opened, whatever it holds.
    writeFileSync(join(dir, 'pytorch_model.bin'), 'not a pickle');
    await assert.rejects(loadWeights(dir), (e: unknown) => {
      assert.ok(e instanceof WeightsError);
      assert.match(e.message, /pytorch_model\.bin/);
      assert.match(e.message, /arbitrary code/);
      assert.match(e.message, /safe_serialization=True/);
      assert.ok(e.file!.endsWith('pytorch_model.bin'));
      return true;
    });
  });

  test('missing folders and empty folders name the path', async () => {
    await assert.rejects(loadWeights(join(tmpRoot, 'nope')), /does not exist/);
    const empty = join(tmpRoot, 'empty');
    mkdirSync(empty);
    await assert.rejects(
      loadWeights(empty),
      (e: unknown) => e instanceof WeightsError && /no model.safetensors/.test(e.message),
    );
    await assert.rejects(readSafetensors(join(empty, 'x.safetensors')), /cannot open/);
  });
});

test('peak RSS while loading stays under 1.5x the checkpoint size', () => {
  // 96 MB of F32 in 3 tensors; measured in a child so other tests' allocations do not count.
  const file = join(tmpRoot, 'big.safetensors');
  const tensorBytes = 32 * 1024 * 1024;
  const tensors = ['a', 'b', 'c'].map((name) => ({
    name,
    dtype: 'F32' as const,
    shape: [tensorBytes / 4],
    data: new Uint8Array(tensorBytes),
  }));
  writeFileSync(file, serializeSafetensors(tensors));
  const size = 3 * tensorBytes;
  // The process's lifetime peak also holds start-up transients (tsx compiling the sources on a cold cache peaks
  // above the RSS it settles at), which made the growth depend on the cache state. On Linux, writing 5 to
  // /proc/self/clear_refs resets the peak (VmHWM) to the current RSS, so the peak measured after loading is the
  // loader's alone; elsewhere the lifetime peak is the fallback.
  const script = `
    import { readFileSync, writeFileSync } from 'node:fs';
    import { loadWeights } from ${JSON.stringify(join(REPO_ROOT, 'src/weights/index.ts'))};
    const status = () => { try { return readFileSync('/proc/self/status', 'utf8'); } catch { return ''; } };
    const hwm = () => { const m = /VmHWM:\\s+(\\d+) kB/.exec(status()); return m ? Number(m[1]) * 1024 : undefined; };
    try { writeFileSync('/proc/self/clear_refs', '5'); } catch {}
    const before = process.memoryUsage().rss;
    const store = await loadWeights(${JSON.stringify(file)});
    let sum = 0;
    for (const name of store.names()) sum += store.getFloat32(name).data.length;
    const peak = hwm() ?? process.resourceUsage().maxRSS * 1024;
    console.log(JSON.stringify({ before, peak, sum }));
  `;
  const out = execFileSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
    cwd: REPO_ROOT,
    encoding: 'utf8',
  });
  const { before, peak, sum } = JSON.parse(out.trim().split('\n').pop()!);
  assert.equal(sum, size / 4);
  const growth = peak - before;
  assert.ok(
    growth <= 1.5 * size,
    `RSS grew by ${(growth / 2 ** 20).toFixed(1)} MB for a ${size / 2 ** 20} MB file`,
  );
  rmSync(file);
});

test(
  'the header-only reader gives names, shapes and sizes without reading data, with the same checks',
  {
    skip: skipUnlessShared(MODELS),
  },
  async () => {
    const file = sharedPath(MODELS, 'bert-seqcls', 'model.safetensors');
    const header = await readSafetensorsHeader(file);
    const store = await loadWeights(file);
    assert.deepEqual(
      header.tensors.map((t) => t.name),
      store.names(),
    );
    assert.equal(
      header.tensors.reduce((n, t) => n + t.size, 0),
      store.parameterCount(),
    );
    const truncated = join(tmpRoot, 'truncated.safetensors');
    writeFileSync(truncated, readFileSync(file).subarray(0, 5000));
    await assert.rejects(
      readSafetensorsHeader(truncated),
      (e: unknown) => e instanceof WeightsError && e.file === truncated,
    );
  },
);
