/**
 * `GET /info` (text-embeddings-inference's Info): the model id, what the model is (`model_type`: `{"embedding":
 * {"pooling"}}`, `{"reranker": {id2label, label2id}}` or `{"classifier": {id2label, label2id}}`), its maximum input
 * length, and the server's batch limits under TEI's names. seqbatch adds `tasks`, `embedding_dimension` and, for an
 * embedding model, `prompts` and `similarity_fn_name`.
 */
import type { FastifyInstance } from 'fastify';
import type { ServerContext } from '../context.js';
import type { EngineInfo, ModelKind } from '../engine.js';

/** The package version, reported as TEI reports its router's. */
export const SEQBATCH_VERSION = '0.1.0';

function kindOf(info: EngineInfo): ModelKind {
  if (info.kind) return info.kind;
  if (info.tasks.includes('rerank')) return info.labels?.length === 1 ? 'reranker' : 'classifier';
  return info.tasks.includes('classify') ? 'classifier' : 'embedding';
}

function modelType(info: EngineInfo): Record<string, unknown> {
  const kind = kindOf(info);
  if (kind === 'embedding') return { embedding: { pooling: info.pooling ?? 'mean' } };
  const labels = info.labels ?? [];
  return {
    [kind]: {
      id2label: Object.fromEntries(labels.map((label, id) => [String(id), label])),
      label2id: Object.fromEntries(labels.map((label, id) => [label, id])),
    },
  };
}

export function registerInfoRoute(app: FastifyInstance, context: ServerContext): void {
  app.get('/info', { config: { errors: 'tei' } }, async () => {
    const { info } = context.engine;
    const { options } = context;
    return {
      model_id: info.modelId,
      model_sha: null,
      model_dtype: info.modelDtype ?? 'float32',
      served_model_name: info.modelId,
      model_type: modelType(info),
      max_concurrent_requests: options.maxQueue,
      max_input_length: info.maxInputLength,
      max_batch_tokens: options.maxBatchTokens,
      max_batch_requests: options.maxBatchSize,
      max_client_batch_size: options.maxInputsPerRequest,
      auto_truncate: options.autoTruncate,
      tokenization_workers: 1,
      version: SEQBATCH_VERSION,
      sha: null,
      docker_label: null,
      tasks: info.tasks,
      embedding_dimension: info.embeddingDimension ?? null,
      ...(info.prompts ? { prompts: info.prompts } : {}),
      ...(info.similarityFnName ? { similarity_fn_name: info.similarityFnName } : {}),
    };
  });
}
