/**
 * The batching HTTP server: fastify routes over an Engine, with a dynamic batcher between concurrent requests and
 * the engine, a bounded queue (429 + Retry-After when full), JSON-schema validated bodies, JSON errors, Prometheus
 * metrics and a graceful close (stop accepting, finish every accepted request, then release the engine).
 */
import Fastify, { type FastifyInstance, type FastifyServerOptions } from 'fastify';
import { InputError } from '../errors.js';
import { haltOrtWork } from '../runtime/ort-thread.js';
import { DynamicBatcher } from './batcher.js';
import type { ResolvedServerOptions, ServerContext } from './context.js';
import type { Engine } from './engine.js';
import { errorBody, errorDialect, errorHandler, sendApiError, ApiError } from './http-errors.js';
import { registerClassifyRoute } from './routes/classify.js';
import { registerDecodeRoute } from './routes/decode.js';
import { registerEmbedRoute } from './routes/embed.js';
import { registerInfoRoute } from './routes/info.js';
import { registerOpenAiEmbeddingsRoute } from './routes/openai-embeddings.js';
import { registerPredictRoute } from './routes/predict.js';
import { registerRerankRoute } from './routes/rerank.js';
import { registerRootRoute } from './routes/root.js';
import { registerSimilarityRoute } from './routes/similarity.js';
import { registerStatusRoutes } from './routes/status.js';
import { registerTokenizeRoute } from './routes/tokenize.js';
import { createServerMetrics, type ServerMetrics } from './server-metrics.js';

export interface ServerOptions {
  engine: Engine;
  /** Padded tokens per batch (batch size × longest input). Default 16384. */
  maxBatchTokens?: number;
  /** Inputs per batch. Default 64. */
  maxBatchSize?: number;
  /** Longest an input waits for others to share its batch, in ms. Default 5. */
  maxWaitMs?: number;
  /** Inputs allowed to wait; beyond that requests get 429. Default 1024. */
  maxQueue?: number;
  /**
   * Inputs in one request (a /rerank's texts, a /similarity's sentences + 1); beyond that 413. The batcher splits a
   * request over as many batches as it needs, so this only bounds what one request may queue. Default maxQueue.
   */
  maxInputsPerRequest?: number;
  /** Largest request body in bytes; beyond that 413. Default 2 MiB. */
  bodyLimit?: number;
  /**
   * Batches run at once. Default: the engine's replicas (1 unless loaded with several), since one batch on one
   * session already uses every thread it was given.
   */
  concurrency?: number;
  /**
   * Hand the next batch to the engine this many ms before the running one is expected to end, so it is tokenised
   * and queued on the ONNX Runtime thread while the cores still compute (0: only when a slot is free). Default 20.
   */
  prepareAheadMs?: number;
  /** Truncate over-long inputs when the request does not say (`truncate`); otherwise they get 413. Default false. */
  autoTruncate?: boolean;
  /** fastify logger option. Default false. */
  logger?: FastifyServerOptions['logger'];
}

export interface SeqbatchServer {
  readonly app: FastifyInstance;
  readonly batcher: DynamicBatcher;
  readonly metrics: ServerMetrics;
  /** Starts listening; resolves with the address, e.g. `http://127.0.0.1:8080`. Default host 127.0.0.1, port 8080. */
  listen(options?: { host?: string; port?: number }): Promise<string>;
  /** Stops accepting connections, answers every accepted request, then closes the engine. Idempotent. */
  close(): Promise<void>;
  /**
   * Shuts down at once (a second SIGTERM): new requests get 503, inputs not yet handed to the engine fail with
   * 503, batches already in the engine finish. Resolves once every accepted request has been answered (the
   * engine's running batch included), or after `graceMs` at most.
   */
  stopNow(graceMs?: number): Promise<void>;
}

/** The longest stopNow() waits for the engine's running batches and the last responses. */
export const STOP_NOW_GRACE_MS = 5000;

function positiveInteger(value: number | undefined, fallback: number, name: string, minimum = 1): number {
  const v = value ?? fallback;
  if (!Number.isInteger(v) || v < minimum) {
    throw new InputError(`${name}: expected an integer >= ${minimum}, got ${String(value)}`, {
      argument: name,
    });
  }
  return v;
}

/**
 * Long enough to cover preparing a batch on the main thread (tokenising, packing: 4–6 ms per batch in the server
 * benchmark) and handing it to the ORT thread (about 2 ms), with room for the error of the end-time estimate.
 */
export const DEFAULT_PREPARE_AHEAD_MS = 20;

export function resolveServerOptions(options: ServerOptions): ResolvedServerOptions {
  const maxQueue = positiveInteger(options.maxQueue, 1024, 'maxQueue');
  const resolved: ResolvedServerOptions = {
    maxBatchTokens: positiveInteger(options.maxBatchTokens, 16384, 'maxBatchTokens'),
    maxBatchSize: positiveInteger(options.maxBatchSize, 64, 'maxBatchSize'),
    maxWaitMs: positiveInteger(options.maxWaitMs, 5, 'maxWaitMs', 0),
    maxQueue,
    maxInputsPerRequest: positiveInteger(options.maxInputsPerRequest, maxQueue, 'maxInputsPerRequest'),
    bodyLimit: positiveInteger(options.bodyLimit, 2 * 1024 * 1024, 'bodyLimit'),
    concurrency: positiveInteger(options.concurrency, options.engine?.info.replicas ?? 1, 'concurrency'),
    prepareAheadMs: positiveInteger(options.prepareAheadMs, DEFAULT_PREPARE_AHEAD_MS, 'prepareAheadMs', 0),
    autoTruncate: options.autoTruncate ?? false,
  };
  if (resolved.maxInputsPerRequest > maxQueue) {
    throw new InputError(
      `maxInputsPerRequest (${resolved.maxInputsPerRequest}) cannot exceed maxQueue (${maxQueue}): such a request could never be queued`,
      { argument: 'maxInputsPerRequest' },
    );
  }
  return resolved;
}

export function createServer(options: ServerOptions): SeqbatchServer {
  const resolved = resolveServerOptions(options);
  const app = Fastify({
    logger: options.logger ?? false,
    bodyLimit: resolved.bodyLimit,
    // Our own 503 (in the onRequest hook below) keeps the JSON error shape during shutdown.
    return503OnClosing: false,
    ajv: {
      customOptions: { coerceTypes: false, removeAdditional: false, useDefaults: true, allErrors: false },
    },
  });
  const batcher = new DynamicBatcher(
    {
      maxBatchTokens: resolved.maxBatchTokens,
      maxBatchSize: resolved.maxBatchSize,
      maxWaitMs: resolved.maxWaitMs,
      maxQueue: resolved.maxQueue,
      concurrency: resolved.concurrency,
      prepareAheadMs: resolved.prepareAheadMs,
    },
    (stats) => metrics.recordBatch(stats),
  );
  const metrics = createServerMetrics({
    queueDepth: () => batcher.depth,
    runningBatches: () => batcher.runningBatches,
  });
  const context: ServerContext = {
    engine: options.engine,
    batcher,
    metrics,
    options: resolved,
    state: { closing: false },
  };

  app.addHook('onRequest', async (request, reply) => {
    if (context.state.closing) {
      return sendApiError(
        reply.header('connection', 'close'),
        new ApiError(503, 'unavailable_error', 'server is shutting down'),
        errorDialect(request),
      );
    }
  });
  // Requests accepted before close() keep their keep-alive connection open after answering; ask the client to
  // hang up so that close() does not wait for the keep-alive timeout.
  app.addHook('onSend', async (_request, reply, payload) => {
    if (context.state.closing) reply.header('connection', 'close');
    return payload;
  });
  app.addHook('onResponse', async (request, reply) => {
    const route = request.routeOptions.url ?? 'unmatched';
    metrics.requests.inc({ route, status: String(reply.statusCode) });
    metrics.requestDuration.observe(reply.elapsedTime / 1000, { route });
    if (reply.statusCode === 429) metrics.queueRejections.inc();
  });
  app.setErrorHandler(errorHandler);
  app.setNotFoundHandler((request, reply) =>
    reply.code(404).send(errorBody('not_found_error', `no route ${request.method} ${request.url}`)),
  );

  registerClassifyRoute(app, context);
  registerEmbedRoute(app, context);
  registerOpenAiEmbeddingsRoute(app, context);
  registerSimilarityRoute(app, context);
  registerRerankRoute(app, context);
  registerPredictRoute(app, context);
  registerTokenizeRoute(app, context);
  registerDecodeRoute(app, context);
  registerInfoRoute(app, context);
  registerRootRoute(app, context);
  registerStatusRoutes(app, context);

  let closing: Promise<void> | undefined;
  return {
    app,
    batcher,
    metrics,
    async listen({ host = '127.0.0.1', port = 8080 } = {}) {
      return app.listen({ host, port });
    },
    close() {
      closing ??= (async () => {
        context.state.closing = true;
        const drained = batcher.drain(); // queued inputs run now instead of waiting for companions
        await app.close(); // resolves once every in-flight request has been answered
        await drained;
        await options.engine.close?.();
      })();
      return closing;
    },
    async stopNow(graceMs = STOP_NOW_GRACE_MS) {
      const closed = this.close().catch(() => undefined);
      batcher.failQueued(
        new ApiError(
          503,
          'unavailable_error',
          'server stopped at once (second signal) before running this input',
        ),
      );
      let timer: NodeJS.Timeout | undefined;
      const grace = new Promise<void>((resolve) => (timer = setTimeout(resolve, graceMs).unref()));
      await Promise.race([closed, grace]);
      clearTimeout(timer);
    },
  };
}

/**
 * Closes the server gracefully on SIGTERM/SIGINT, then exits the process with 0. A second signal stops at once:
 * inputs not yet running get 503, ONNX Runtime starts no new batch (queued ones get 503 too), the batch it is
 * running finishes and is answered, and the process exits with 1. Exiting while a worker thread is inside ONNX
 * Runtime would abort natively (exit 134), hence haltOrtWork before exit. Returns a function removing the handlers.
 */
export function closeOnSignals(
  server: Pick<SeqbatchServer, 'close' | 'stopNow'>,
  {
    signals = ['SIGTERM', 'SIGINT'],
    exit = (code: number) => process.exit(code),
    halt = haltOrtWork,
  }: {
    signals?: NodeJS.Signals[];
    exit?: (code: number) => void;
    /** Stops native work before exit (tests with a fake engine pass their own). */
    halt?: () => Promise<void>;
  } = {},
): () => void {
  let received = 0;
  const handler = (signal: NodeJS.Signals) => {
    received++;
    if (received === 1) {
      process.stderr.write(`seqbatch: ${signal} received, finishing queued requests\n`);
      server.close().then(
        () => (received === 1 ? exit(0) : undefined),
        (error: unknown) => {
          process.stderr.write(`seqbatch: error while closing: ${String(error)}\n`);
          if (received === 1) exit(1);
        },
      );
    } else if (received === 2) {
      process.stderr.write(`seqbatch: second ${signal}, stopping now: requests not yet running get 503\n`);
      const halted = halt();
      void Promise.all([server.stopNow(), halted]).then(
        () => exit(1),
        () => exit(1),
      );
    }
  };
  for (const signal of signals) process.on(signal, handler);
  return () => {
    for (const signal of signals) process.off(signal, handler);
  };
}
