/**
 * `POST /classify`: `{inputs, top_k?, raw_scores?, truncate?}` where `inputs` is a text, a `{text, text_pair}`
 * object, or an array of either. A single input answers `[{label, score}, ...]` (highest score first, like TEI's
 * /predict); an array answers one such list per input.
 */
import type { FastifyInstance } from 'fastify';
import { schemaErrorFormatter } from '../schema-errors.js';
import { batchItems, batchKey, checkInputCount, requireTask, type ServerContext } from '../context.js';
import type { Prediction, TextItem } from '../engine.js';

const textItem = {
  type: 'object',
  required: ['text'],
  properties: { text: { type: 'string' }, text_pair: { type: 'string' } },
  additionalProperties: false,
};

const schema = {
  body: {
    type: 'object',
    required: ['inputs'],
    properties: {
      inputs: {
        anyOf: [
          { type: 'string' },
          textItem,
          { type: 'array', minItems: 1, items: { anyOf: [{ type: 'string' }, textItem] } },
        ],
      },
      top_k: { type: ['integer', 'null'], minimum: 1 },
      raw_scores: { type: 'boolean' },
      truncate: { type: 'boolean' },
    },
  },
};

type RequestItem = string | { text: string; text_pair?: string };

interface ClassifyBody {
  inputs: RequestItem | RequestItem[];
  top_k?: number | null;
  raw_scores?: boolean;
  truncate?: boolean;
}

function toTextItem(item: RequestItem): TextItem {
  if (typeof item === 'string') return { text: item };
  return item.text_pair === undefined ? { text: item.text } : { text: item.text, textPair: item.text_pair };
}

export function registerClassifyRoute(app: FastifyInstance, context: ServerContext): void {
  app.post<{ Body: ClassifyBody }>(
    '/classify',
    {
      schema,
      schemaErrorFormatter: schemaErrorFormatter({
        inputs: 'a string, a {"text", "text_pair"} object, or a non-empty array of them',
      }),
    },
    async (request) => {
      requireTask(context, 'classify');
      const body = request.body;
      const single = !Array.isArray(body.inputs);
      const items = (single ? [body.inputs as RequestItem] : (body.inputs as RequestItem[])).map(toTextItem);
      checkInputCount(context, items.length, 'inputs');
      const options = {
        truncate: body.truncate ?? context.options.autoTruncate,
        rawScores: body.raw_scores ?? false,
      };
      const batchInputs = batchItems(context, items, options.truncate, 'inputs');
      const predictions = await context.batcher.submit(batchKey('classify', options), batchInputs, (inputs) =>
        context.engine.classify(inputs, options),
      );
      const ranked = predictions.map((list: Prediction[]) => {
        const sorted = [...list].sort((a, b) => b.score - a.score);
        return body.top_k == null ? sorted : sorted.slice(0, body.top_k);
      });
      return single ? ranked[0] : ranked;
    },
  );
}
