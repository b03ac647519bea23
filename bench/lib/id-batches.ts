/**
 * Token-id rows into padded int64 batches, in two orders: consecutive chunks of the input (what a caller who does
 * not sort gets) and seqbatch's length-sorted plan (src/batching). Each batch records the input positions of its
 * rows so logits can be put back in input order and compared across peers.
 */
import { planBatches } from '../../src/batching/plan.js';
import type { PlanOptions } from '../../src/batching/options.js';

export interface IdBatch {
  /** Input positions of the rows, in batch order. */
  indices: number[];
  paddedLength: number;
  realTokens: number;
  inputIds: BigInt64Array;
  attentionMask: BigInt64Array;
}

function pad(rows: readonly (readonly number[])[], indices: number[], padId: number): IdBatch {
  let longest = 0;
  let realTokens = 0;
  for (const i of indices) {
    longest = Math.max(longest, rows[i].length);
    realTokens += rows[i].length;
  }
  const inputIds = new BigInt64Array(indices.length * longest).fill(BigInt(padId));
  const attentionMask = new BigInt64Array(indices.length * longest);
  indices.forEach((source, r) => {
    const row = rows[source];
    for (let j = 0; j < row.length; j++) {
      inputIds[r * longest + j] = BigInt(row[j]);
      attentionMask[r * longest + j] = 1n;
    }
  });
  return { indices, paddedLength: longest, realTokens, inputIds, attentionMask };
}

/** Consecutive chunks of `size` rows in input order, each padded to its longest row. */
export function chunkedBatches(rows: readonly (readonly number[])[], size: number, padId = 0): IdBatch[] {
  const batches: IdBatch[] = [];
  for (let start = 0; start < rows.length; start += size) {
    const indices = Array.from({ length: Math.min(size, rows.length - start) }, (_, k) => start + k);
    batches.push(pad(rows, indices, padId));
  }
  return batches;
}

/** seqbatch's length-aware plan (src/batching/plan.ts) with the given knobs. */
export function sortedBatches(
  rows: readonly (readonly number[])[],
  options: PlanOptions = {},
  padId = 0,
): IdBatch[] {
  return planBatches(
    rows.map((r) => r.length),
    options,
  ).map((planned) => pad(rows, planned.indices, padId));
}

export function paddingTotals(batches: readonly IdBatch[]): { real: number; padded: number; ratio: number } {
  let real = 0;
  let padded = 0;
  for (const b of batches) {
    real += b.realTokens;
    padded += b.indices.length * b.paddedLength;
  }
  return { real, padded, ratio: padded === 0 ? 0 : (padded - real) / padded };
}
