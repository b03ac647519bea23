import assert from 'node:assert/strict';
import test from 'node:test';
import { Counter, Gauge, Histogram, MetricsRegistry, float32ToString } from '../src/server/index.js';

test('Prometheus text exposition: HELP/TYPE lines, labels escaped, cumulative histogram buckets, sum and count', () => {
  const registry = new MetricsRegistry();
  const requests = registry.register(new Counter('x_requests_total', 'Requests.', ['route', 'status']));
  const depth = 7;
  registry.register(new Gauge('x_queue_depth', 'Queue depth.', () => depth));
  const sizes = registry.register(new Histogram('x_batch_size', 'Batch sizes.', [1, 4, 2]));
  requests.inc({ route: '/embed', status: '200' });
  requests.inc({ route: '/embed', status: '200' }, 2);
  requests.inc({ route: 'say "hi"\\\n', status: '404' });
  for (const v of [1, 2, 3, 8]) sizes.observe(v);
  assert.equal(
    registry.render(),
    [
      '# HELP x_requests_total Requests.',
      '# TYPE x_requests_total counter',
      'x_requests_total{route="/embed",status="200"} 3',
      'x_requests_total{route="say \\"hi\\"\\\\\\n",status="404"} 1',
      '# HELP x_queue_depth Queue depth.',
      '# TYPE x_queue_depth gauge',
      'x_queue_depth 7',
      '# HELP x_batch_size Batch sizes.',
      '# TYPE x_batch_size histogram',
      'x_batch_size_bucket{le="1"} 1',
      'x_batch_size_bucket{le="2"} 2',
      'x_batch_size_bucket{le="4"} 3',
      'x_batch_size_bucket{le="+Inf"} 4',
      'x_batch_size_sum 14',
      'x_batch_size_count 4',
      '',
    ].join('\n'),
  );
  assert.deepEqual(sizes.snapshot(), { count: 4, sum: 14 });
});

test('float32ToString is the shortest decimal that reads back as the same float32', () => {
  // Reference: try every precision from 1 up; the first that round-trips through float32 is the shortest.
  const shortest = (f: number): number => {
    for (let p = 1; p <= 9; p++) {
      const candidate = Number(f.toPrecision(p));
      if (Math.fround(candidate) === f) return candidate;
    }
    throw new Error('unreachable: 9 digits always round-trip a float32');
  };
  // Every kind of float32: random bit patterns (all exponents, subnormals, both signs, exact ties), plus
  // hand-picked values. A fixed seed keeps the test reproducible.
  let seed = 12345;
  const bits = new Uint32Array(1);
  const asFloat = new Float32Array(bits.buffer);
  const randomFloat32 = (): number => {
    seed = (seed * 1103515245 + 12345) % 2 ** 31;
    bits[0] = (seed * 2 + (seed >>> 15)) >>> 0;
    return asFloat[0]!;
  };
  const values = [0, 0.5, -1, 1e-8, 0.1, 0.038483415, 1e-40, 3.4028234e38, -3556812.75, 176719.625];
  while (values.length < 20000) {
    const f = randomFloat32();
    if (Number.isFinite(f)) values.push(f);
  }
  for (const value of values) {
    const f = Math.fround(value);
    const text = float32ToString(f);
    assert.equal(Math.fround(Number(text)), f, `${text} must read back as ${f}`);
    assert.equal(Number(text), shortest(f), `${text} is not the shortest form of ${f}`);
  }
  assert.equal(float32ToString(Math.fround(0.1)), '0.1');
  assert.equal(float32ToString(NaN), 'null');
});
