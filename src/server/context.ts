/** State shared by the route modules of one server, and the input checks they have in common. */
import type { BatchItem, DynamicBatcher } from './batcher.js';
import type { Engine, EngineTask } from './engine.js';
import { ApiError } from './http-errors.js';
import type { ServerMetrics } from './server-metrics.js';

export interface ResolvedServerOptions {
  maxBatchTokens: number;
  maxBatchSize: number;
  maxWaitMs: number;
  maxQueue: number;
  maxInputsPerRequest: number;
  bodyLimit: number;
  concurrency: number;
  prepareAheadMs: number;
  autoTruncate: boolean;
}

export interface ServerContext {
  engine: Engine;
  batcher: DynamicBatcher;
  metrics: ServerMetrics;
  options: ResolvedServerOptions;
  state: { closing: boolean };
}

export function requireTask(context: ServerContext, task: EngineTask): void {
  if (!context.engine.info.tasks.includes(task)) {
    throw new ApiError(
      424,
      'unsupported_task_error',
      `model ${context.engine.info.modelId} does not support ${task} (it supports: ${context.engine.info.tasks.join(', ') || 'nothing'})`,
    );
  }
}

export function checkInputCount(context: ServerContext, count: number, field: string): void {
  if (count > context.options.maxInputsPerRequest) {
    throw new ApiError(
      413,
      'invalid_request_error',
      `${field} has ${count} inputs; this server accepts at most ${context.options.maxInputsPerRequest} per request`,
    );
  }
}

/**
 * Counts each input's tokens (its cost in a padded batch) and refuses, like TEI, inputs longer than the model's
 * limit unless truncation was asked for. With an engine that has `prepareText`, each item carries what it made of
 * the text (`encoded`) to the batch.
 */
export function batchItems<I extends { text: string; textPair?: string }>(
  context: ServerContext,
  inputs: I[],
  truncate: boolean,
  field: string,
): BatchItem<I & { encoded?: unknown }>[] {
  const { engine } = context;
  const max = engine.info.maxInputLength;
  return inputs.map((input, i) => {
    const prepared = engine.prepareText?.(input.text, input.textPair);
    const tokens = prepared ? prepared.tokens : engine.countTokens(input.text, input.textPair);
    if (tokens > max && !truncate) {
      const where = inputs.length === 1 ? field : `${field}[${i}]`;
      throw new ApiError(
        413,
        'invalid_request_error',
        `${where} has ${tokens} tokens; the model accepts at most ${max} (send "truncate": true to cut it)`,
      );
    }
    return {
      input: prepared ? { ...input, encoded: prepared.encoded } : input,
      tokens: Math.min(tokens, max),
    };
  });
}

/** Batch key: inputs only share a batch with inputs of the same task and the same options. */
export function batchKey(task: EngineTask, options: object): string {
  return `${task}:${JSON.stringify(options)}`;
}
