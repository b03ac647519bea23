/**
 * `POST /similarity` (text-embeddings-inference, the Inference API's sentence-similarity):
 * `{inputs: {source_sentence, sentences}, parameters?: {truncate, truncation_direction, prompt_name}}` → one number
 * per sentence: its similarity to the source sentence. The embeddings are `SentenceTransformer.encode`'s (the
 * model's own Normalize module, nothing more) and the similarity is the model's `similarity_fn_name` (cosine unless
 * the folder says otherwise), as `model.similarity` computes it; TEI always takes the cosine.
 */
import type { FastifyInstance } from 'fastify';
import { similarity } from '../../pipelines/sentence-transformers/similarity.js';
import { schemaErrorFormatter } from '../schema-errors.js';
import { checkNotEmpty, type ServerContext } from '../context.js';
import { checkPromptName, embedInputs, truncationSideOption } from '../embed-requests.js';
import { TRUNCATION_DIRECTION_SCHEMA } from './embed.js';

const schema = {
  body: {
    type: 'object',
    required: ['inputs'],
    properties: {
      inputs: {
        type: 'object',
        required: ['source_sentence', 'sentences'],
        properties: {
          source_sentence: { type: 'string' },
          sentences: { type: 'array', items: { type: 'string' } },
        },
      },
      parameters: {
        type: ['object', 'null'],
        properties: {
          truncate: { type: ['boolean', 'null'] },
          truncation_direction: TRUNCATION_DIRECTION_SCHEMA,
          prompt_name: { type: ['string', 'null'] },
        },
      },
    },
  },
};

interface SimilarityBody {
  inputs: { source_sentence: string; sentences: string[] };
  parameters?: {
    truncate?: boolean | null;
    truncation_direction?: string;
    prompt_name?: string | null;
  } | null;
}

export function registerSimilarityRoute(app: FastifyInstance, context: ServerContext): void {
  app.post<{ Body: SimilarityBody }>(
    '/similarity',
    {
      schema,
      config: { errors: 'tei' },
      schemaErrorFormatter: schemaErrorFormatter({
        inputs: 'an object {"source_sentence": string, "sentences": [string, ...]}',
      }),
    },
    async (request) => {
      const { inputs, parameters } = request.body;
      checkNotEmpty(inputs.sentences.length, 'inputs.sentences');
      const promptName = checkPromptName(context, parameters?.prompt_name);
      const options = {
        truncate: parameters?.truncate ?? context.options.autoTruncate,
        ...truncationSideOption(parameters?.truncation_direction),
        ...(promptName === undefined ? {} : { promptName }),
      };
      const { vectors } = await embedInputs(
        context,
        [inputs.source_sentence, ...inputs.sentences],
        options,
        'inputs',
        '/similarity',
      );
      const [source, ...others] = vectors.map((vector) => Array.from(vector));
      return similarity([source!], others, context.engine.info.similarityFnName ?? 'cosine')[0];
    },
  );
}
