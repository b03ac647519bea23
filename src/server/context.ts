/** State shared by the route modules of one server, and the input checks they have in common. */
import type { BatchItem, DynamicBatcher } from './batcher.js';
import type { Engine, EngineInfo, EngineTask, PreparedText } from './engine.js';
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

/** What the model is, in words, for errors naming why a route cannot serve it. */
export function describeModel(info: EngineInfo): string {
  const labels = info.labels?.length ?? 0;
  if (info.tasks.includes('rerank')) {
    return labels === 1
      ? 'a cross-encoder (reranker)'
      : `a cross-encoder with ${labels} labels (a classifier)`;
  }
  if (info.tasks.includes('classify')) return `a sequence classifier (${labels} labels)`;
  if (info.tasks.includes('embed')) return 'an embedding model (bi-encoder)';
  return 'a tokenizer only';
}

/** What each task needs, for the same errors. */
const TASK_NEEDS: Record<EngineTask, string> = {
  classify: 'a sequence classifier',
  embed: 'an embedding model (bi-encoder)',
  rerank: 'a cross-encoder',
  tokenize: 'a tokenizer',
};

/** 424 (TEI: Backend) naming what the model is, when it cannot serve `task`. */
export function requireTask(context: ServerContext, task: EngineTask, route?: string): void {
  const { info } = context.engine;
  if (!info.tasks.includes(task)) {
    const what = route ?? task;
    throw new ApiError(
      424,
      'unsupported_task_error',
      `model ${info.modelId} is ${describeModel(info)} and does not support ${what}: that needs ${TASK_NEEDS[task]} (this model serves: ${info.tasks.join(', ') || 'nothing'})`,
    );
  }
}

/** TEI's 400 `Empty` for an empty batch. */
export function checkNotEmpty(count: number, field: string): void {
  if (count === 0) throw new ApiError(400, 'empty_error', `\`${field}\` cannot be empty`);
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
 * limit unless truncation was asked for. `prepare` counts an input (default: the engine's `prepareText`, else
 * `countTokens`); what it made of the input (`encoded`) goes with the item to the batch.
 */
export function batchItems<I extends { text: string; textPair?: string }>(
  context: ServerContext,
  inputs: I[],
  truncate: boolean,
  field: string,
  prepare?: (input: I) => PreparedText,
): BatchItem<I & { encoded?: unknown }>[] {
  const { engine } = context;
  const max = engine.info.maxInputLength;
  const count =
    prepare ??
    ((input: I): PreparedText =>
      engine.prepareText?.(input.text, input.textPair) ?? {
        tokens: engine.countTokens(input.text, input.textPair),
        encoded: undefined,
      });
  return inputs.map((input, i) => {
    const prepared = count(input);
    const tokens = prepared.tokens;
    if (tokens > max && !truncate) {
      const where = inputs.length === 1 ? field : `${field}[${i}]`;
      throw new ApiError(
        413,
        'invalid_request_error',
        `${where} has ${tokens} tokens; the model accepts at most ${max} (send "truncate": true to cut it)`,
      );
    }
    return {
      input: prepared.encoded === undefined ? input : { ...input, encoded: prepared.encoded },
      tokens: Math.min(tokens, max),
    };
  });
}

/** Batch key: inputs only share a batch with inputs of the same task and the same options. */
export function batchKey(task: EngineTask, options: object): string {
  return `${task}:${JSON.stringify(options)}`;
}
