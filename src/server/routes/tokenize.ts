/**
 * `POST /tokenize` (text-embeddings-inference shape): `{inputs: string | string[], add_special_tokens = true,
 * prompt_name?}` →
 * one list per input of `{id, text, special, start, stop}`. `start`/`stop` are UTF-16 code unit offsets into the
 * input (so `input.slice(start, stop) === text`); special tokens have null offsets and their own token text.
 * With `prompt_name`, the prompt is put in front of each text (as TEI does) and the offsets are into the prompted
 * text. Tokenizing is cheap, so it does not go through the batch queue.
 */
import type { FastifyInstance } from 'fastify';
import { schemaErrorFormatter } from '../schema-errors.js';
import { checkInputCount, checkNotEmpty, requireTask, type ServerContext } from '../context.js';
import { checkPromptName } from '../embed-requests.js';

const schema = {
  body: {
    type: 'object',
    required: ['inputs'],
    properties: {
      inputs: { anyOf: [{ type: 'string' }, { type: 'array', items: { type: 'string' } }] },
      add_special_tokens: { type: 'boolean' },
      prompt_name: { type: ['string', 'null'] },
    },
  },
};

interface TokenizeBody {
  inputs: string | string[];
  add_special_tokens?: boolean;
  prompt_name?: string | null;
}

export function registerTokenizeRoute(app: FastifyInstance, context: ServerContext): void {
  app.post<{ Body: TokenizeBody }>(
    '/tokenize',
    {
      schema,
      config: { errors: 'tei' },
      schemaErrorFormatter: schemaErrorFormatter({ inputs: 'a string or an array of strings' }),
    },
    async (request) => {
      requireTask(context, 'tokenize', '/tokenize');
      const promptName = checkPromptName(context, request.body.prompt_name);
      const prompt = promptName === undefined ? '' : context.engine.info.prompts![promptName]!;
      const inputs = typeof request.body.inputs === 'string' ? [request.body.inputs] : request.body.inputs;
      checkNotEmpty(inputs.length, 'inputs');
      checkInputCount(context, inputs.length, 'inputs');
      const texts = inputs.map((text) => prompt + text);
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
