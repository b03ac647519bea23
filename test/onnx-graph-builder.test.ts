import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import test from 'node:test';
import * as ort from 'onnxruntime-node';
import { attr, GraphBuilder } from '../src/onnx/graph-builder.js';
import { ModelProto } from '../src/onnx/proto.js';
import { buildModelGraph } from '../src/models/index.js';
import { loadWeights } from '../src/weights/load.js';
import { REPO_ROOT } from './helpers/shared.js';

async function run(
  g: GraphBuilder,
  feeds: Record<string, ort.Tensor>,
): Promise<ort.InferenceSession.ReturnType> {
  const session = await ort.InferenceSession.create(g.toBytes(), { graphOptimizationLevel: 'all' });
  return session.run(feeds);
}

test('a tiny graph computes what it says: x·W + b, then LayerNorm', async () => {
  const g = new GraphBuilder();
  const x = g.input('x', 'float32', ['batch', 2]);
  const w = g.initializer('w', new Float32Array([1, 2, 3, 4, 5, 6]), [2, 3]);
  const b = g.initializer('b', new Float32Array([0.5, -1, 0]), [3]);
  const y = g.op('Add', [g.op('MatMul', [x, w]), b]);
  const gamma = g.constant(new Float32Array([1, 1, 2]));
  const beta = g.constant(new Float32Array([0, 0, 1]));
  const z = g.op('LayerNormalization', [y, gamma, beta], { axis: -1, epsilon: attr.float(0) });
  g.output(y, 'y', 'float32', ['batch', 3]);
  g.output(z, 'z', 'float32', ['batch', 3]);
  assert.deepEqual(g.inputNames, ['x']);
  assert.deepEqual(g.outputNames, ['y', 'z']);

  const out = await run(g, { x: new ort.Tensor('float32', new Float32Array([1, 1, 2, 0]), [2, 2]) });
  // Row 0: [1,1]·W = [5,7,9] + b = [5.5,6,9]; row 1: [2,0]·W = [2,4,6] + b = [2.5,3,6].
  assert.deepEqual([...(out.y!.data as Float32Array)], [5.5, 6, 9, 2.5, 3, 6]);
  assert.deepEqual(out.z!.dims, [2, 3]);
  // LayerNorm of row 1 [2.5, 3, 6]: mean 23/6, variance Σ(x-mean)²/3.
  const row = [2.5, 3, 6];
  const mean = row.reduce((a, v) => a + v, 0) / 3;
  const std = Math.sqrt(row.reduce((a, v) => a + (v - mean) ** 2, 0) / 3);
  const expected = row.map((v, i) => ((v - mean) / std) * [1, 1, 2][i]! + [0, 0, 1][i]!);
  const got = [...(out.z!.data as Float32Array)].slice(3);
  got.forEach((v, i) =>
    assert.ok(Math.abs(v - expected[i]!) < 1e-5, `z[1][${i}] = ${v}, expected ${expected[i]}`),
  );
});

test('int64 constants, multi-output ops, INTS attributes and com.microsoft ops run', async () => {
  const g = new GraphBuilder();
  const x = g.input('x', 'float32', [2, 4]);
  const [left, right] = g.opMulti('Split', [x, g.int64s([1, 3])], 2, { axis: 1 });
  const transposed = g.op('Transpose', [right!], { perm: [1, 0] });
  const gelu = g.op('Gelu', [left!], {}, { domain: 'com.microsoft' });
  g.output(transposed, 'right_t', 'float32', [3, 2]);
  g.output(gelu, 'gelu', 'float32', [2, 1]);
  const out = await run(g, {
    x: new ort.Tensor('float32', new Float32Array([1, 2, 3, 4, -1, 6, 7, 8]), [2, 4]),
  });
  assert.deepEqual([...(out.right_t!.data as Float32Array)], [2, 6, 3, 7, 4, 8]);
  // GELU(1) = 0.5·(1 + erf(1/√2)) = 0.841344746…, GELU(-1) = -0.158655254…
  const gelu1 = out.gelu!.data as Float32Array;
  assert.ok(Math.abs(gelu1[0]! - 0.8413447460685429) < 1e-6);
  assert.ok(Math.abs(gelu1[1]! + 0.15865525393145707) < 1e-6);
});

test('the serialised ModelProto carries opsets, IR version, names and raw little-endian data', () => {
  const g = new GraphBuilder({ name: 'tiny' });
  const x = g.input('x', 'int64', ['n']);
  const table = g.initializer('table', new Float32Array([0.25, -2]), [2, 1]);
  g.output(g.op('Gather', [table, x], { axis: 0 }, { domain: '' }), 'y', 'float32');
  g.op('QuickGelu', [table], { alpha: attr.float(1.702) }, { domain: 'com.microsoft' });
  const model = ModelProto.toObject(ModelProto.decode(g.toBytes()), { longs: Number, bytes: Array }) as {
    irVersion: number;
    opsetImport: { domain?: string; version: number }[];
    graph: {
      name: string;
      input: {
        name: string;
        type: { tensorType: { elemType: number; shape: { dim: { dimParam?: string }[] } } };
      }[];
      initializer: { name: string; dims: number[]; dataType: number; rawData: number[] }[];
      node: { opType: string; domain?: string; attribute?: { name: string; f?: number; type: number }[] }[];
    };
  };
  assert.equal(model.irVersion, 8);
  assert.deepEqual(
    model.opsetImport.map((o) => [o.domain ?? '', o.version]),
    [
      ['', 17],
      ['com.microsoft', 1],
    ],
  );
  assert.equal(model.graph.name, 'tiny');
  assert.equal(model.graph.input[0]!.type.tensorType.elemType, 7);
  assert.equal(model.graph.input[0]!.type.tensorType.shape.dim[0]!.dimParam, 'n');
  const init = model.graph.initializer[0]!;
  assert.equal(init.name, 'table');
  assert.deepEqual(init.dims, [2, 1]);
  assert.equal(init.dataType, 1);
  // 0.25 = 0x3e800000 and -2 = 0xc0000000, little-endian.
  assert.deepEqual(init.rawData, [0x00, 0x00, 0x80, 0x3e, 0x00, 0x00, 0x00, 0xc0]);
  const quick = model.graph.node.find((n) => n.opType === 'QuickGelu')!;
  assert.equal(quick.domain, 'com.microsoft');
  assert.equal(quick.attribute![0]!.type, 1);
  assert.ok(Math.abs(quick.attribute![0]!.f! - 1.702) < 1e-6);
});

test('names are unique and scoped; exact names cannot be reused', () => {
  const g = new GraphBuilder();
  const x = g.input('x', 'float32', [1]);
  const a = g.scope('layer.0', () => g.op('Relu', [x]));
  const b = g.scope('layer.0', () => g.op('Relu', [x]));
  const c = g.op('Relu', [x], {}, { name: 'act' });
  assert.equal(a.name, 'layer.0/Relu');
  assert.equal(b.name, 'layer.0/Relu_1');
  assert.equal(c.name, 'act');
  assert.throws(() => g.input('x', 'float32', [1]), /input name "x" is already used/);
  assert.throws(() => g.initializer('act', new Float32Array(1), [1]), /already used/);
  assert.throws(() => g.output(a, 'x', 'float32'), /already used/);
});

test('builder errors: wrong dims, untyped float attributes, unknown domains, old opsets', () => {
  const g = new GraphBuilder();
  assert.throws(
    () => g.initializer('w', new Float32Array(6), [2, 2]),
    /dims \[2, 2\] do not match 6 elements/,
  );
  assert.throws(() => g.constant(new Float32Array(2), [-2]), /do not match/);
  const x = g.input('x', 'float32', [1]);
  assert.throws(() => g.op('LeakyRelu', [x], { alpha: 0.1 }), /use attr\.float\(\) for the float 0\.1/);
  assert.throws(
    () => g.op('Mystery', [x], {}, { domain: 'org.example' }),
    /no opset version known for domain/,
  );
  assert.throws(() => new GraphBuilder({ opset: 13 }), /need opset 17\+/);
});

test('a session rejects nothing the builder writes for opset 20 (IR version follows the opset)', async () => {
  const g = new GraphBuilder({ opset: 20 });
  const x = g.input('x', 'float32', [3]);
  g.output(g.op('Gelu', [x], { approximate: 'tanh' }), 'y', 'float32', [3]);
  const model = ModelProto.toObject(ModelProto.decode(g.toBytes()), { longs: Number }) as {
    irVersion: number;
  };
  assert.equal(model.irVersion, 9);
  const out = await run(g, { x: new ort.Tensor('float32', new Float32Array([-1, 0, 2]), [3]) });
  // tanh-approximate GELU: 0.5·x·(1 + tanh(√(2/π)·(x + 0.044715·x³))).
  const expected = [-1, 0, 2].map(
    (v) => 0.5 * v * (1 + Math.tanh(Math.sqrt(2 / Math.PI) * (v + 0.044715 * v ** 3))),
  );
  [...(out.y!.data as Float32Array)].forEach((v, i) => assert.ok(Math.abs(v - expected[i]!) < 1e-6));
});

test('toBytes writes exactly protobufjs’ encoding, into one buffer of its own size', async () => {
  const g = new GraphBuilder();
  const x = g.input('x', 'float32', ['batch', 4]);
  const big = g.initializer('big', new Float32Array(1_500_000).fill(0.25), [1_500_000]); // a 4-byte varint length
  const empty = g.initializer('empty', new Float32Array(0), [0]);
  const w = g.initializer('w', new Int8Array([1, -2, 3, -4]), [4, 1]);
  g.output(g.op('Concat', [big, empty], { axis: 0 }), 'big_out', 'float32', [1_500_000]);
  g.output(g.op('MatMul', [x, g.op('Cast', [w], { to: 1 })]), 'y', 'float32', ['batch', 1]);
  const config = JSON.parse(readFileSync(join(REPO_ROOT, 'models/seqbatch-demo-sst2/config.json'), 'utf8'));
  const weights = await loadWeights(join(REPO_ROOT, 'models/seqbatch-demo-sst2'));
  const graphs = [
    g.toBytes(),
    buildModelGraph(config, weights, { task: 'sequence-classification' }).bytes,
    buildModelGraph(config, weights, { task: 'sequence-classification', dtype: 'int8' }).bytes,
  ];
  for (const bytes of graphs) {
    assert.equal(bytes.byteOffset, 0);
    assert.equal(bytes.buffer.byteLength, bytes.byteLength, 'the result owns its whole buffer');
    // Decoded and encoded again by protobufjs alone: the same bytes.
    const again = ModelProto.encode(ModelProto.decode(bytes)).finish();
    assert.ok(Buffer.from(again).equals(Buffer.from(bytes)), 'byte-identical to protobufjs');
  }
  const out = await run(g, { x: new ort.Tensor('float32', new Float32Array([1, 1, 1, 1]), [1, 4]) });
  assert.equal(out.big_out!.data.length, 1_500_000);
  assert.equal((out.big_out!.data as Float32Array)[1_499_999], 0.25);
  assert.deepEqual([...(out.y!.data as Float32Array)], [-2]);
});
