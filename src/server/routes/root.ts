/**
 * `POST /`: the endpoint root, as text-embeddings-inference and Inference Endpoints expose it, which is where
 * `@huggingface/inference` sends its requests when given `endpointUrl`. The body says which route answers:
 * `{query, texts}` → /rerank, `{inputs: {source_sentence, sentences}}` → /similarity (the client's
 * sentenceSimilarity), any other `{inputs}` → /embed on an embedding model and /predict on a classifier or
 * cross-encoder. Unlike TEI's root, a single input's predictions come as a list of one list
 * (`[[{score, label}, ...]]`), the Inference API's text-classification shape that the client reads.
 */
import type { FastifyInstance } from 'fastify';
import type { ServerContext } from '../context.js';

function targetRoute(context: ServerContext, body: Record<string, unknown>): string {
  if ('query' in body || 'texts' in body) return '/rerank';
  const inputs = body.inputs;
  if (inputs !== null && typeof inputs === 'object' && !Array.isArray(inputs)) return '/similarity';
  const { tasks } = context.engine.info;
  return tasks.includes('rerank') || tasks.includes('classify') ? '/predict' : '/embed';
}

/** Whether /predict answered one input (a string, or one [text, text_pair] pair) rather than a batch. */
function singlePrediction(inputs: unknown): boolean {
  return typeof inputs === 'string' || (Array.isArray(inputs) && typeof inputs[0] === 'string');
}

export function registerRootRoute(app: FastifyInstance, context: ServerContext): void {
  app.post<{ Body: Record<string, unknown> }>(
    '/',
    { schema: { body: { type: 'object' } }, config: { errors: 'tei' } },
    async (request, reply) => {
      const url = targetRoute(context, request.body);
      // The target route validates, batches and answers (errors included) as if it had been called itself.
      const answer = await app.inject({ method: 'POST', url, payload: request.body });
      const wrap = url === '/predict' && answer.statusCode === 200 && singlePrediction(request.body.inputs);
      const retryAfter = answer.headers['retry-after'];
      if (retryAfter !== undefined) reply.header('retry-after', retryAfter);
      return reply
        .code(answer.statusCode)
        .type('application/json')
        .send(wrap ? `[${answer.body}]` : answer.body);
    },
  );
}
