/**
 * `POST /predict` (text-embeddings-inference): `{inputs, raw_scores = false, truncate?, truncation_direction?}`
 * where `inputs` is a text, a pair `[text, text_pair]`, or a batch `[[text], [text, text_pair], ...]`. A single
 * input answers `[{score, label}, ...]`, a batch one such list per input, highest score first. On a cross-encoder
 * the scores are `CrossEncoder.predict`'s (the checkpoint's activation; the logits with `raw_scores`), and a single
 * text is scored alone through the classifier, as TEI scores it; on a sequence classifier they are the
 * text-classification pipeline's probabilities. `truncation_direction: "Left"` cuts the beginnings instead.
 */
import type { FastifyInstance } from 'fastify';
import { schemaErrorFormatter } from '../schema-errors.js';
import {
  batchItems,
  batchKey,
  checkInputCount,
  checkNotEmpty,
  requireTask,
  type ServerContext,
} from '../context.js';
import type { Prediction, ScoreOptions, TextItem } from '../engine.js';
import { truncationSideOption } from '../embed-requests.js';
import { scoreItems } from '../score-requests.js';
import { TRUNCATION_DIRECTION_SCHEMA } from './embed.js';

const sequence = { type: 'array', items: { type: 'string' }, minItems: 1, maxItems: 2 };

const schema = {
  body: {
    type: 'object',
    required: ['inputs'],
    properties: {
      inputs: { anyOf: [{ type: 'string' }, sequence, { type: 'array', items: sequence }] },
      raw_scores: { type: 'boolean' },
      truncate: { type: ['boolean', 'null'] },
      truncation_direction: TRUNCATION_DIRECTION_SCHEMA,
    },
  },
};

export interface PredictBody {
  inputs: string | string[] | string[][];
  raw_scores?: boolean;
  truncate?: boolean | null;
  truncation_direction?: string;
}

const toItem = (sequence: readonly string[]): TextItem =>
  sequence.length === 1 ? { text: sequence[0]! } : { text: sequence[0]!, textPair: sequence[1]! };

/** TEI's reading of `inputs`: a string or an array of strings is one input; an array of arrays is a batch. */
export function readPredictInputs(inputs: PredictBody['inputs']): { items: TextItem[]; single: boolean } {
  if (typeof inputs === 'string') return { items: [{ text: inputs }], single: true };
  if (inputs.length === 0) return { items: [], single: false };
  if (typeof inputs[0] === 'string') return { items: [toItem(inputs as string[])], single: true };
  return { items: (inputs as string[][]).map(toItem), single: false };
}

/** Predictions of each input, highest score first. */
export async function predictItems(
  context: ServerContext,
  items: TextItem[],
  options: ScoreOptions,
): Promise<Prediction[][]> {
  const { engine } = context;
  let predictions: Prediction[][];
  if (engine.info.tasks.includes('rerank')) {
    const labels = engine.info.labels ?? [];
    const scores = await scoreItems(context, items, options, 'inputs');
    predictions = scores.map((row) => row.map((score, i) => ({ score, label: labels[i] ?? `LABEL_${i}` })));
  } else {
    requireTask(context, 'classify', '/predict');
    checkNotEmpty(items.length, 'inputs');
    checkInputCount(context, items.length, 'inputs');
    const batch = batchItems(context, items, options.truncate, 'inputs');
    const results = await context.batcher.submit(batchKey('classify', options), batch, (inputs) =>
      engine.classify(inputs, options),
    );
    predictions = results.map((list) => list.map(({ label, score }) => ({ score, label })));
  }
  return predictions.map((list) => [...list].sort((a, b) => b.score - a.score));
}

export function registerPredictRoute(app: FastifyInstance, context: ServerContext): void {
  app.post<{ Body: PredictBody }>(
    '/predict',
    {
      schema,
      config: { errors: 'tei' },
      schemaErrorFormatter: schemaErrorFormatter({
        inputs: 'a string, a pair [string, string], or a batch [[string], [string, string], ...]',
      }),
    },
    async (request) => {
      const body = request.body;
      const { items, single } = readPredictInputs(body.inputs);
      const options = {
        truncate: body.truncate ?? context.options.autoTruncate,
        rawScores: body.raw_scores ?? false,
        ...truncationSideOption(body.truncation_direction),
      };
      const predictions = await predictItems(context, items, options);
      return single ? predictions[0] : predictions;
    },
  );
}
