/**
 * One batch of tokenized rows through the model: rows are right-padded to the batch's padded length (so every
 * real position sees exactly what it would see alone: BERT-style positions count from the left, and pooling
 * heads read position 0), turned into int64 tensors and run. Padding side never changes a row's result here.
 */
import type { ModelOutput, PreTrainedModel } from '../models/auto.js';

/** One model input row: token ids and token type ids of the same length, every position real. */
export interface ModelRow {
  readonly ids: readonly number[];
  readonly typeIds: readonly number[];
}

/** The model row of an encoding (its ids and type ids, every position real). */
export function toRow(encoding: { ids: number[]; typeIds: number[] }): ModelRow {
  return { ids: encoding.ids, typeIds: encoding.typeIds };
}

export async function runModelBatch(
  model: PreTrainedModel,
  rows: readonly ModelRow[],
  paddedLength: number,
  padId: number,
): Promise<ModelOutput> {
  const size = rows.length * paddedLength;
  const ids = new BigInt64Array(size).fill(BigInt(padId));
  const mask = new BigInt64Array(size);
  const wantsTypes = model.inputNames.includes('token_type_ids');
  const types = wantsTypes ? new BigInt64Array(size) : null;
  for (let r = 0; r < rows.length; r++) {
    const row = rows[r];
    const base = r * paddedLength;
    for (let t = 0; t < row.ids.length; t++) {
      ids[base + t] = BigInt(row.ids[t]);
      mask[base + t] = 1n;
      if (types) types[base + t] = BigInt(row.typeIds[t]);
    }
  }
  // A multiple-choice model takes [batch, choices, sequence]: its head scores each row on its own, so the batch's
  // rows run as the choices of one example (logits [1, rows]) whichever questions they belong to.
  const dims =
    model.task === 'multiple-choice' ? [1, rows.length, paddedLength] : [rows.length, paddedLength];
  return model.forward({
    input_ids: { data: ids, dims },
    attention_mask: { data: mask, dims },
    ...(types ? { token_type_ids: { data: types, dims } } : {}),
  });
}

/** Copies row `row`'s first `length` positions of a [batch, seq, width] output (width 1 for [batch, seq]). */
export function sliceRowPositions(
  data: Float32Array,
  row: number,
  paddedLength: number,
  length: number,
  width: number,
): Float32Array {
  const start = row * paddedLength * width;
  return data.slice(start, start + length * width);
}
