/**
 * `POST /tokenize` (text-embeddings-inference shape): `{inputs: string | string[], add_special_tokens = true}` →
 * one list per input of `{id, text, special, start, stop}`. `start`/`stop` are UTF-16 code unit offsets into the
 * input (so `input.slice(start, stop) === text`); special tokens have null offsets and their own token text.
 * Tokenizing is cheap, so it does not go through the batch queue.
 */
import type { FastifyInstance } from 'fastify';
import { schemaErrorFormatter } from '../schema-errors.js';
import { checkInputCount, requireTask, type ServerContext } from '../context.js';

const schema = {
  body: {
    type: 'object',
    required: ['inputs'],
    properties: {
      inputs: { anyOf: [{ type: 'string' }, { type: 'array', minItems: 1, items: { type: 'string' } }] },
      add_special_tokens: { type: 'boolean' },
    },
  },
};

interface TokenizeBody {
  inputs: string | string[];
  add_special_tokens?: boolean;
}

export function registerTokenizeRoute(app: FastifyInstance, context: ServerContext): void {
  app.post<{ Body: TokenizeBody }>(
    '/tokenize',
    {
      schema,
      schemaErrorFormatter: schemaErrorFormatter({ inputs: 'a string or a non-empty array of strings' }),
    },
    async (request) => {
      requireTask(context, 'tokenize');
      const texts = typeof request.body.inputs === 'string' ? [request.body.inputs] : request.body.inputs;
      checkInputCount(context, texts.length, 'inputs');
      const encodings = await context.engine.tokenize(texts, {
        addSpecialTokens: request.body.add_special_tokens ?? true,
      });
      return encodings.map((encoding, i) =>
        Array.from(encoding.tokens, (token, t) => {
          const special = encoding.specialTokensMask[t] === 1;
          const [start, stop] = encoding.offsets[t]!;
          return {
            id: encoding.ids[t],
            text: special ? token : texts[i]!.slice(start, stop),
            special,
            start: special ? null : start,
            stop: special ? null : stop,
          };
        }),
      );
    },
  );
}
