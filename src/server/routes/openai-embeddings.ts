/**
 * `POST /v1/embeddings` (OpenAI): `{input, model?, encoding_format?: "float" | "base64", dimensions?}` →
 * `{object: "list", data: [{object: "embedding", index, embedding}], model, usage}`. `dimensions` keeps the first N
 * dimensions and then normalises (as OpenAI's shortened embeddings); base64 is the little-endian float32 bytes the
 * OpenAI SDKs ask for by default. seqbatch extensions: `normalize` (default true) and `truncate`. Errors have the
 * OpenAI shape.
 */
import type { FastifyInstance } from 'fastify';
import { schemaErrorFormatter } from '../schema-errors.js';
import type { ServerContext } from '../context.js';
import { float32ArrayJson, float32Base64 } from '../../util/float32-json.js';
import {
  EMBED_INPUTS_ACCEPTED,
  EMBED_INPUTS_SCHEMA,
  checkDimensions,
  embedInputs,
  readEmbedInputs,
  type EmbedInput,
} from '../embed-requests.js';

const schema = {
  body: {
    type: 'object',
    required: ['input'],
    properties: {
      input: EMBED_INPUTS_SCHEMA,
      model: { type: ['string', 'null'] },
      encoding_format: { type: 'string', enum: ['float', 'base64'] },
      dimensions: { type: ['integer', 'null'] },
      user: { type: ['string', 'null'] },
      truncate: { type: 'boolean' },
      normalize: { type: 'boolean' },
    },
  },
};

interface OpenAiEmbedBody {
  input: EmbedInput | EmbedInput[];
  model?: string | null;
  encoding_format?: 'float' | 'base64';
  dimensions?: number | null;
  truncate?: boolean;
  normalize?: boolean;
}

export function registerOpenAiEmbeddingsRoute(app: FastifyInstance, context: ServerContext): void {
  app.post<{ Body: OpenAiEmbedBody }>(
    '/v1/embeddings',
    { schema, schemaErrorFormatter: schemaErrorFormatter({ input: EMBED_INPUTS_ACCEPTED }) },
    async (request, reply) => {
      const body = request.body;
      const dimensions = checkDimensions(context, body.dimensions);
      const options = {
        normalize: body.normalize ?? true,
        truncate: body.truncate ?? context.options.autoTruncate,
        ...(dimensions === undefined ? {} : { dimensions }),
      };
      const { vectors, promptTokens } = await embedInputs(
        context,
        readEmbedInputs(body.input),
        options,
        'input',
        '/v1/embeddings',
      );
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
