/**
 * The shortest-float32 JSON formatter shared by the server and the CLI embed rows, against a reference that tries
 * every precision with toPrecision, over 20,000 float32s of every kind.
 */
import assert from 'node:assert/strict';
import test from 'node:test';
import { float32ToString as serverFloat32ToString } from '../src/server/index.js';
import {
  float32ArrayJson,
  float32ToString,
  shortestFloat32,
  shortestFloat32Values,
} from '../src/util/float32-json.js';

/** Reference: try every precision from 1 up; the first that round-trips through float32 is the shortest. */
function shortestReference(f: number): number {
  for (let p = 1; p <= 9; p++) {
    const candidate = Number(f.toPrecision(p));
    if (Math.fround(candidate) === f) return candidate;
  }
  throw new Error('unreachable: 9 digits always round-trip a float32');
}

/**
 * Every kind of float32: random bit patterns (all exponents, subnormals, both signs, exact ties), plus hand-picked
 * values. A fixed seed keeps the test reproducible.
 */
function float32Samples(count: number): number[] {
  let seed = 12345;
  const bits = new Uint32Array(1);
  const asFloat = new Float32Array(bits.buffer);
  const randomFloat32 = (): number => {
    seed = (seed * 1103515245 + 12345) % 2 ** 31;
    bits[0] = (seed * 2 + (seed >>> 15)) >>> 0;
    return asFloat[0]!;
  };
  const values = [0, 0.5, -1, 1e-8, 0.1, 0.038483415, 1e-40, 3.4028234e38, -3556812.75, 176719.625];
  while (values.length < count) {
    const f = randomFloat32();
    if (Number.isFinite(f)) values.push(f);
  }
  return values.map((v) => Math.fround(v));
}

const SAMPLES = float32Samples(20000);

test('float32ToString is the shortest decimal that reads back as the same float32', () => {
  for (const f of SAMPLES) {
    const text = float32ToString(f);
    assert.equal(Math.fround(Number(text)), f, `${text} must read back as ${f}`);
    assert.equal(Number(text), shortestReference(f), `${text} is not the shortest form of ${f}`);
  }
  assert.equal(float32ToString(Math.fround(0.1)), '0.1');
  assert.equal(float32ToString(-0), '0');
  assert.equal(float32ToString(NaN), 'null');
  assert.equal(float32ToString(Infinity), 'null');
  // The server still offers it under its old name.
  assert.equal(serverFloat32ToString, float32ToString);
});

test('shortestFloat32: plain JSON.stringify of the number prints the shortest float32 decimal', () => {
  for (const f of SAMPLES) assert.equal(JSON.stringify(shortestFloat32(f)), float32ToString(f));
  // A float64 value (mean pooling) is written as the float32 it rounds to.
  assert.equal(JSON.stringify(shortestFloat32(0.1 + 0.2)), '0.3');
  assert.equal(JSON.stringify([shortestFloat32(NaN), shortestFloat32(-Infinity)]), '[null,null]');
});

test('vectors and lists of vectors: the same text as float32ArrayJson', () => {
  const vector = SAMPLES.slice(0, 64);
  assert.equal(JSON.stringify(shortestFloat32Values(vector)), float32ArrayJson(vector));
  const tokens = [SAMPLES.slice(100, 108), SAMPLES.slice(200, 208)];
  assert.equal(
    JSON.stringify(shortestFloat32Values(tokens)),
    `[${tokens.map((t) => float32ArrayJson(t)).join(',')}]`,
  );
  assert.equal(float32ArrayJson(new Float32Array([0.1, -2.5])), '[0.1,-2.5]');
});
