/** The metrics the server exports on /metrics, and the hooks that feed them. */
import type { BatchStats } from './batcher.js';
import { Counter, Gauge, Histogram, MetricsRegistry } from './metrics.js';

export interface ServerMetrics {
  registry: MetricsRegistry;
  requests: Counter;
  requestDuration: Histogram;
  batchSize: Histogram;
  batchPaddingRatio: Histogram;
  batchDuration: Histogram;
  batchTokens: Counter;
  queueRejections: Counter;
  recordBatch(stats: BatchStats): void;
}

export function createServerMetrics(read: {
  queueDepth: () => number;
  runningBatches: () => number;
}): ServerMetrics {
  const registry = new MetricsRegistry();
  const requests = registry.register(
    new Counter('seqbatch_requests_total', 'HTTP requests answered, by route and status code.', [
      'route',
      'status',
    ]),
  );
  const requestDuration = registry.register(
    new Histogram(
      'seqbatch_request_duration_seconds',
      'Time from request received to response sent, by route.',
      [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
      ['route'],
    ),
  );
  registry.register(new Gauge('seqbatch_queue_depth', 'Inputs waiting to be batched.', read.queueDepth));
  registry.register(
    new Gauge(
      'seqbatch_running_batches',
      'Batches handed to the engine and not finished (one prepared ahead counts).',
      read.runningBatches,
    ),
  );
  const queueRejections = registry.register(
    new Counter('seqbatch_queue_rejections_total', 'Requests refused with 429 because the queue was full.'),
  );
  const batchSize = registry.register(
    new Histogram(
      'seqbatch_batch_size',
      'Inputs per batch run on the engine, by task.',
      [1, 2, 4, 8, 16, 32, 64, 128, 256],
      ['task'],
    ),
  );
  const batchPaddingRatio = registry.register(
    new Histogram(
      'seqbatch_batch_padding_ratio',
      'Share of padded positions in each batch (1 - real tokens / (batch size x longest input)), by task.',
      [0, 0.05, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1],
      ['task'],
    ),
  );
  const batchDuration = registry.register(
    new Histogram(
      'seqbatch_batch_duration_seconds',
      'Engine time per batch, by task (a batch prepared ahead counts from the end of the one before it).',
      [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
      ['task'],
    ),
  );
  const batchTokens = registry.register(
    new Counter(
      'seqbatch_batch_tokens_total',
      'Token positions run: kind="real" (input tokens) and kind="padded" (batch size x longest input).',
      ['task', 'kind'],
    ),
  );
  return {
    registry,
    requests,
    requestDuration,
    batchSize,
    batchPaddingRatio,
    batchDuration,
    batchTokens,
    queueRejections,
    recordBatch(stats) {
      const task = stats.key.split(':', 1)[0]!;
      batchSize.observe(stats.size, { task });
      batchDuration.observe(stats.seconds, { task });
      batchPaddingRatio.observe(stats.paddedTokens > 0 ? 1 - stats.realTokens / stats.paddedTokens : 0, {
        task,
      });
      batchTokens.inc({ task, kind: 'real' }, stats.realTokens);
      batchTokens.inc({ task, kind: 'padded' }, stats.paddedTokens);
    },
  };
}
