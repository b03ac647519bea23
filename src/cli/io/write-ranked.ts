/**
 * Writes documents ranked by their scores (rankDocuments: order, top-k, documents returned or not), each output row
 * with the input row it ranks. Shared by `seqbatch rerank` and `seqbatch jobs collect` of a rerank job, which must
 * write the same bytes.
 */
import { rankDocuments, type RankOrder } from '../../pipelines/rank-order.js';
import type { InputRow } from './input-row.js';
import type { RowWriter } from './row-writer.js';

/** Returns the number of rows written. */
export async function writeRanked(
  writer: RowWriter,
  rows: readonly InputRow[],
  scores: readonly number[],
  order: RankOrder,
): Promise<number> {
  const ranked = rankDocuments(
    scores,
    rows.map((row) => row.text),
    order,
  );
  await writer.write(
    ranked.map((r) => ({ ...r })),
    ranked.map((r) => rows[r.index]!),
  );
  return ranked.length;
}
