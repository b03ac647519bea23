/**
 * `POST /rerank` (text-embeddings-inference): `{query, texts, raw_scores = false, return_text = false, truncate?,
 * truncation_direction?}` → `[{index, text?, score}]`, every text, highest score first (equal scores keep input
 * order). The scores are `CrossEncoder.rank`'s: the checkpoint's activation (TEI always applies a sigmoid), the
 * logits with `raw_scores`. Needs a cross-encoder with one label; a request of more texts than one batch holds is
 * split by the batcher.
 */
import type { FastifyInstance } from 'fastify';
import { schemaErrorFormatter } from '../schema-errors.js';
import { describeModel, requireTask, type ServerContext } from '../context.js';
import { ApiError } from '../http-errors.js';
import { truncationSideOption } from '../embed-requests.js';
import { scoreItems } from '../score-requests.js';
import { TRUNCATION_DIRECTION_SCHEMA } from './embed.js';

const schema = {
  body: {
    type: 'object',
    required: ['query', 'texts'],
    properties: {
      query: { type: 'string' },
      texts: { type: 'array', items: { type: 'string' } },
      raw_scores: { type: 'boolean' },
      return_text: { type: 'boolean' },
      truncate: { type: ['boolean', 'null'] },
      truncation_direction: TRUNCATION_DIRECTION_SCHEMA,
    },
  },
};

interface RerankBody {
  query: string;
  texts: string[];
  raw_scores?: boolean;
  return_text?: boolean;
  truncate?: boolean | null;
  truncation_direction?: string;
}

export function registerRerankRoute(app: FastifyInstance, context: ServerContext): void {
  app.post<{ Body: RerankBody }>(
    '/rerank',
    {
      schema,
      config: { errors: 'tei' },
      schemaErrorFormatter: schemaErrorFormatter({ texts: 'an array of strings' }),
    },
    async (request) => {
      const body = request.body;
      requireTask(context, 'rerank', '/rerank');
      const { info } = context.engine;
      if (info.labels !== undefined && info.labels.length !== 1) {
        throw new ApiError(
          424,
          'unsupported_task_error',
          `model ${info.modelId} is ${describeModel(info)}: /rerank needs one score per text (one label); use /predict`,
        );
      }
      const options = {
        truncate: body.truncate ?? context.options.autoTruncate,
        rawScores: body.raw_scores ?? false,
        ...truncationSideOption(body.truncation_direction),
      };
      const scores = await scoreItems(
        context,
        body.texts.map((text) => ({ text: body.query, textPair: text })),
        options,
        'texts',
      );
      const ranks = scores.map((score, index) =>
        body.return_text
          ? { index, text: body.texts[index]!, score: score[0]! }
          : { index, score: score[0]! },
      );
      // Array.prototype.sort is stable: equal scores keep their input order.
      return ranks.sort((a, b) => b.score - a.score);
    },
  );
}
