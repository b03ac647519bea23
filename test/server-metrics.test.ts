import assert from 'node:assert/strict';
import test from 'node:test';
import { Counter, Gauge, Histogram, MetricsRegistry } from '../src/server/index.js';

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
