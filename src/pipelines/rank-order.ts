/**
 * The rows of a ranking, as sentence-transformers' `CrossEncoder.rank` gives them: each document's input position
 * and score, highest score first, equal scores in input order (a stable sort, as Python's `sorted`), cut to
 * `topK`, with the document's text when asked. Shared by the text-ranking pipeline, `seqbatch rerank` and
 * `seqbatch jobs collect` (which ranks the scores of a rerank job's chunks); it imports nothing, so collect ranks
 * without loading the pipelines.
 */

export interface RankOrder {
  /** Keep the best `topK` documents. Default: all. */
  topK?: number | null;
  /** Add each document's text to its row. */
  returnDocuments?: boolean;
}

export interface RankedDocument {
  /** The document's position in the input. */
  index: number;
  score: number;
  text?: string;
}

export function rankDocuments(
  scores: readonly number[],
  documents: readonly string[],
  order: RankOrder = {},
): RankedDocument[] {
  // Array.prototype.sort is stable.
  const ranked = scores
    .map((score, index): RankedDocument => ({ index, score }))
    .sort((a, b) => b.score - a.score);
  const kept = order.topK === undefined || order.topK === null ? ranked : ranked.slice(0, order.topK);
  return order.returnDocuments ? kept.map((r) => ({ ...r, text: documents[r.index]! })) : kept;
}
