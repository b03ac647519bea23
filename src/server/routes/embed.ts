/**
 * `POST /embed` (text-embeddings-inference): `{inputs, normalize = true, dimensions?, prompt_name?, truncate?,
 * truncation_direction?}` → `number[][]`, always one vector per input, even for a single string. `inputs` is a text,
 * token ids, or an array of either. The vectors are the feature-extraction pipeline's for the same options.
 */
import type { FastifyInstance } from 'fastify';
import { schemaErrorFormatter } from '../schema-errors.js';
import type { ServerContext } from '../context.js';
import { float32ArrayJson } from '../../util/float32-json.js';
import {
  EMBED_INPUTS_ACCEPTED,
  EMBED_INPUTS_SCHEMA,
  checkDimensions,
  checkPromptName,
  embedInputs,
  readEmbedInputs,
  truncationSideOption,
  type EmbedInput,
} from '../embed-requests.js';

export const TRUNCATION_DIRECTION_SCHEMA = { type: 'string', enum: ['Right', 'right', 'Left', 'left'] };

const schema = {
  body: {
    type: 'object',
    required: ['inputs'],
    properties: {
      inputs: EMBED_INPUTS_SCHEMA,
      normalize: { type: 'boolean' },
      dimensions: { type: ['integer', 'null'] },
      truncate: { type: ['boolean', 'null'] },
      truncation_direction: TRUNCATION_DIRECTION_SCHEMA,
      prompt_name: { type: ['string', 'null'] },
    },
  },
};

interface TeiEmbedBody {
  inputs: EmbedInput | EmbedInput[];
  normalize?: boolean;
  dimensions?: number | null;
  truncate?: boolean | null;
  truncation_direction?: string;
  prompt_name?: string | null;
}

/** The /embed answer (JSON text) for a validated body. */
async function teiEmbed(context: ServerContext, body: TeiEmbedBody): Promise<string> {
  const promptName = checkPromptName(context, body.prompt_name);
  const dimensions = checkDimensions(context, body.dimensions);
  const options = {
    normalize: body.normalize ?? true,
    truncate: body.truncate ?? context.options.autoTruncate,
    ...truncationSideOption(body.truncation_direction),
    ...(promptName === undefined ? {} : { promptName }),
    ...(dimensions === undefined ? {} : { dimensions }),
  };
  const { vectors } = await embedInputs(context, readEmbedInputs(body.inputs), options, 'inputs', '/embed');
  return `[${vectors.map(float32ArrayJson).join(',')}]`;
}

export function registerEmbedRoute(app: FastifyInstance, context: ServerContext): void {
  app.post<{ Body: TeiEmbedBody }>(
    '/embed',
    {
      schema,
      config: { errors: 'tei' },
      schemaErrorFormatter: schemaErrorFormatter({ inputs: EMBED_INPUTS_ACCEPTED }),
    },
    async (request, reply) => reply.type('application/json').send(await teiEmbed(context, request.body)),
  );
}
