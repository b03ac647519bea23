/**
 * `GET /health` (the process is up: always 200 with the model's info), `GET /ready` (200 when the engine is loaded
 * and the server is not shutting down, else 503: for load balancers), `GET /metrics` (Prometheus text).
 */
import type { FastifyInstance } from 'fastify';
import type { ServerContext } from '../context.js';
import { errorBody } from '../http-errors.js';
import { PROMETHEUS_CONTENT_TYPE } from '../metrics.js';

export function registerStatusRoutes(app: FastifyInstance, context: ServerContext): void {
  app.get('/health', async () => {
    const { modelId, maxInputLength, tasks, embeddingDimension, labels, replicas } = context.engine.info;
    return {
      status: 'ok',
      model: {
        id: modelId,
        max_input_length: maxInputLength,
        tasks,
        embedding_dimension: embeddingDimension,
        labels,
        replicas: replicas ?? 1,
      },
    };
  });

  app.get('/ready', async (_request, reply) => {
    if (context.state.closing)
      return reply.code(503).send(errorBody('unavailable_error', 'server is shutting down'));
    if (context.engine.isReady && !context.engine.isReady()) {
      return reply.code(503).send(errorBody('unavailable_error', 'model is still loading'));
    }
    return { status: 'ready' };
  });

  app.get('/metrics', async (_request, reply) =>
    reply.type(PROMETHEUS_CONTENT_TYPE).send(context.metrics.registry.render()),
  );
}
