/**
 * `POST /decode` (text-embeddings-inference): `{ids: number[] | number[][], skip_special_tokens = true}` → one text
 * per row of ids, through the tokenizer's decoder. Ids outside the vocabulary are dropped, as the Rust core does.
 */
import type { FastifyInstance } from 'fastify';
import { schemaErrorFormatter } from '../schema-errors.js';
import { checkInputCount, checkNotEmpty, type ServerContext } from '../context.js';
import { ApiError } from '../http-errors.js';

const ids = { type: 'array', items: { type: 'integer', minimum: 0 } };

const schema = {
  body: {
    type: 'object',
    required: ['ids'],
    properties: {
      ids: { anyOf: [ids, { type: 'array', items: ids }] },
      skip_special_tokens: { type: 'boolean' },
    },
  },
};

interface DecodeBody {
  ids: number[] | number[][];
  skip_special_tokens?: boolean;
}

export function registerDecodeRoute(app: FastifyInstance, context: ServerContext): void {
  app.post<{ Body: DecodeBody }>(
    '/decode',
    {
      schema,
      config: { errors: 'tei' },
      schemaErrorFormatter: schemaErrorFormatter({
        ids: 'an array of token ids, or an array of such arrays',
      }),
    },
    async (request) => {
      const { engine } = context;
      if (!engine.decode) throw new ApiError(424, 'unsupported_task_error', 'this engine cannot decode');
      const body = request.body;
      const single = body.ids.length === 0 || typeof body.ids[0] === 'number';
      const rows = single ? [body.ids as number[]] : (body.ids as number[][]);
      if (!single) {
        checkNotEmpty(rows.length, 'ids');
        checkInputCount(context, rows.length, 'ids');
      }
      return engine.decode(rows, { skipSpecialTokens: body.skip_special_tokens ?? true });
    },
  );
}
