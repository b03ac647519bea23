/**
 * Embedding routes in two dialects over the same batched engine call:
 * - `POST /embed`, text-embeddings-inference: `{inputs: string | string[], normalize = true, truncate}` →
 *   `number[][]` (always one vector per input, even for a single string).
 * - `POST /v1/embeddings`, OpenAI: `{input: string | string[], model?, encoding_format?: "float" | "base64"}` →
 *   `{object: "list", data: [{object: "embedding", index, embedding}], model, usage}`.
 */
import type { FastifyInstance } from 'fastify';
import { schemaErrorFormatter } from '../schema-errors.js';
import { batchItems, batchKey, checkInputCount, requireTask, type ServerContext } from '../context.js';
import type { EmbedOptions } from '../engine.js';
import { float32ArrayJson, float32Base64 } from '../../util/float32-json.js';
import { ApiError } from '../http-errors.js';

const stringOrStrings = {
  anyOf: [{ type: 'string' }, { type: 'array', minItems: 1, items: { type: 'string' } }],
};

const teiSchema = {
  body: {
    type: 'object',
    required: ['inputs'],
    properties: {
      inputs: stringOrStrings,
      normalize: { type: 'boolean' },
      truncate: { type: 'boolean' },
      truncation_direction: { type: 'string', enum: ['Right', 'right', 'Left', 'left'] },
      prompt_name: { type: ['string', 'null'] },
    },
  },
};

const openAiSchema = {
  body: {
    type: 'object',
    required: ['input'],
    properties: {
      input: stringOrStrings,
      model: { type: 'string' },
      encoding_format: { type: 'string', enum: ['float', 'base64'] },
      dimensions: { type: 'integer', minimum: 1 },
      user: { type: 'string' },
      truncate: { type: 'boolean' },
      normalize: { type: 'boolean' },
    },
  },
};

interface TeiEmbedBody {
  inputs: string | string[];
  normalize?: boolean;
  truncate?: boolean;
  truncation_direction?: string;
  prompt_name?: string | null;
}

interface OpenAiEmbedBody {
  input: string | string[];
  model?: string;
  encoding_format?: 'float' | 'base64';
  dimensions?: number;
  truncate?: boolean;
  normalize?: boolean;
}

async function embedTexts(context: ServerContext, texts: string[], options: EmbedOptions, field: string) {
  requireTask(context, 'embed');
  checkInputCount(context, texts.length, field);
  const items = batchItems(
    context,
    texts.map((text) => ({ text })),
    options.truncate,
    field,
  );
  const vectors = await context.batcher.submit(batchKey('embed', options), items, (inputs) =>
    context.engine.embed(
      inputs.map((input) => input.text),
      options,
      inputs.map((input) => input.encoded),
    ),
  );
  return { vectors, promptTokens: items.reduce((sum, item) => sum + item.tokens, 0) };
}

export function registerEmbedRoutes(app: FastifyInstance, context: ServerContext): void {
  app.post<{ Body: TeiEmbedBody }>(
    '/embed',
    {
      schema: teiSchema,
      schemaErrorFormatter: schemaErrorFormatter({ inputs: 'a string or a non-empty array of strings' }),
    },
    async (request, reply) => {
      const body = request.body;
      // TEI options seqbatch cannot honour are refused rather than silently ignored.
      if (body.truncation_direction !== undefined && body.truncation_direction.toLowerCase() === 'left') {
        throw new ApiError(400, 'invalid_request_error', 'truncation_direction: only "Right" is supported');
      }
      if (body.prompt_name != null) {
        throw new ApiError(
          400,
          'invalid_request_error',
          'prompt_name: prompts are not supported; prepend the prompt text',
        );
      }
      const texts = typeof body.inputs === 'string' ? [body.inputs] : body.inputs;
      const options = {
        normalize: body.normalize ?? true,
        truncate: body.truncate ?? context.options.autoTruncate,
      };
      const { vectors } = await embedTexts(context, texts, options, 'inputs');
      return reply.type('application/json').send(`[${vectors.map(float32ArrayJson).join(',')}]`);
    },
  );

  app.post<{ Body: OpenAiEmbedBody }>(
    '/v1/embeddings',
    {
      schema: openAiSchema,
      schemaErrorFormatter: schemaErrorFormatter({
        input: 'a string or a non-empty array of strings (token id arrays are not supported)',
      }),
    },
    async (request, reply) => {
      const body = request.body;
      const texts = typeof body.input === 'string' ? [body.input] : body.input;
      const dimension = context.engine.info.embeddingDimension;
      if (body.dimensions !== undefined && body.dimensions !== dimension) {
        throw new ApiError(
          400,
          'invalid_request_error',
          `dimensions: this model returns ${dimension ?? 'fixed-size'} dimensions and cannot shorten them to ${body.dimensions}`,
        );
      }
      const options = {
        normalize: body.normalize ?? true,
        truncate: body.truncate ?? context.options.autoTruncate,
      };
      const { vectors, promptTokens } = await embedTexts(context, texts, options, 'input');
      const base64 = body.encoding_format === 'base64';
      const data = vectors
        .map(
          (vector, index) =>
            `{"object":"embedding","index":${index},"embedding":${base64 ? JSON.stringify(float32Base64(vector)) : float32ArrayJson(vector)}}`,
        )
        .join(',');
      const usage = JSON.stringify({ prompt_tokens: promptTokens, total_tokens: promptTokens });
      return reply
        .type('application/json')
        .send(
          `{"object":"list","data":[${data}],"model":${JSON.stringify(context.engine.info.modelId)},"usage":${usage}}`,
        );
    },
  );
}
