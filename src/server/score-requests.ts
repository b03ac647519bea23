/**
 * What /rerank, /predict and / have in common for a cross-encoder: (text, text pair) items scored through the
 * batcher, as `CrossEncoder.predict` scores them (the checkpoint's activation, or the logits with `raw_scores`).
 */
import { ApiError } from './http-errors.js';
import { batchItems, batchKey, checkInputCount, checkNotEmpty, type ServerContext } from './context.js';
import type { ScoreOptions, TextItem } from './engine.js';

export async function scoreItems(
  context: ServerContext,
  items: TextItem[],
  options: ScoreOptions,
  field: string,
): Promise<number[][]> {
  const { engine } = context;
  checkNotEmpty(items.length, field);
  checkInputCount(context, items.length, field);
  if (!engine.score) throw new ApiError(424, 'unsupported_task_error', 'this engine cannot score pairs');
  const batch = batchItems(context, items, options.truncate, field);
  return context.batcher.submit(batchKey('rerank', options), batch, (inputs) =>
    engine.score!(inputs, options),
  );
}
