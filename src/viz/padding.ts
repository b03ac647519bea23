/**
 * How much compute each padding strategy spends on padding, for a list of sequence lengths (special tokens
 * included). The report draws these; the numbers are the same arithmetic a batch runner pays.
 */
export type PaddingStrategyName = 'none' | 'longest' | 'max_length' | 'sorted';

export interface PaddedBatch {
  /** Row indices (into the caller's lengths) in the order the batch holds them. */
  rows: number[];
  /** The length every row of this batch is padded to (for 'none', the longest row, but rows are not padded). */
  paddedLength: number;
}

export interface PaddingStrategyResult {
  strategy: PaddingStrategyName;
  batches: PaddedBatch[];
  realTokens: number;
  /** Tokens the model computes: real + padding. */
  computedTokens: number;
  /** Share of computed tokens that are padding, 0..1. */
  paddingRatio: number;
}

export interface PaddingOptions {
  batchSize: number;
  /** The model maximum, used by 'max_length' (rows longer than it are counted as truncated to it). */
  maxLength: number;
}

export function comparePaddingStrategies(
  lengths: number[],
  options: PaddingOptions,
): PaddingStrategyResult[] {
  const { batchSize, maxLength } = options;
  if (!Number.isInteger(batchSize) || batchSize < 1)
    throw new RangeError('batchSize must be a positive integer');
  const inInputOrder = lengths.map((_, i) => i);
  const byLength = [...inInputOrder].sort((a, b) => lengths[a]! - lengths[b]! || a - b);
  const chunk = (order: number[]) => {
    const out: number[][] = [];
    for (let i = 0; i < order.length; i += batchSize) out.push(order.slice(i, i + batchSize));
    return out;
  };
  const longestOf = (rows: number[]) =>
    rows.reduce((m, r) => Math.max(m, Math.min(lengths[r]!, maxLength)), 0);

  const make = (
    strategy: PaddingStrategyName,
    batches: PaddedBatch[],
    padded: boolean,
  ): PaddingStrategyResult => {
    let real = 0;
    let computed = 0;
    for (const batch of batches) {
      for (const r of batch.rows) {
        const len = Math.min(lengths[r]!, maxLength);
        real += len;
        computed += padded ? batch.paddedLength : len;
      }
    }
    return {
      strategy,
      batches,
      realTokens: real,
      computedTokens: computed,
      paddingRatio: computed ? 1 - real / computed : 0,
    };
  };

  return [
    make(
      'none',
      chunk(inInputOrder).map((rows) => ({ rows, paddedLength: longestOf(rows) })),
      false,
    ),
    make(
      'longest',
      chunk(inInputOrder).map((rows) => ({ rows, paddedLength: longestOf(rows) })),
      true,
    ),
    make(
      'max_length',
      chunk(inInputOrder).map((rows) => ({ rows, paddedLength: maxLength })),
      true,
    ),
    make(
      'sorted',
      chunk(byLength).map((rows) => ({ rows, paddedLength: longestOf(rows) })),
      true,
    ),
  ];
}
