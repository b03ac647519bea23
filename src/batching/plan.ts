/**
 * Batch planning: turns sequence lengths into batches (lists of indices) that respect a sequence cap and a
 * padded-token budget. Sorting by length before cutting keeps each batch's rows close to its longest row, which
 * is what decides CPU throughput: every padded position costs as much compute as a real token.
 */
import { InputError } from '../errors.js';
import { describe, resolvePlanOptions, type PlanOptions, type ResolvedPlanOptions } from './options.js';

/** One planned batch. */
export interface PlannedBatch {
  /** Positions of the batch's sequences in the planned list, ascending. */
  indices: number[];
  /** Length every row is padded to: the longest row, rounded up to `padToMultipleOf`. */
  paddedLength: number;
  /** Sum of the rows' own lengths (tokens that are not padding). */
  realTokens: number;
}

/** Padding totals of a plan. */
export interface PlanSummary {
  sequences: number;
  batches: number;
  realTokens: number;
  /** Tokens the model computes: Σ rows × paddedLength. */
  paddedTokens: number;
  /** (paddedTokens − realTokens) / paddedTokens, 0 for an empty plan. */
  paddingRatio: number;
}

/**
 * Plans batches for sequences of the given lengths, every batch within `batchSize` rows and `maxBatchTokens`
 * padded tokens.
 *
 * With `sortByLength` (the default) the sequences are ordered longest first (ties in input order) and cut into
 * consecutive runs chosen to minimise padded tokens + `batchOverheadTokens` × batches (see `docs/batching.md`;
 * `Infinity` gives the fewest batches). Batches come back longest first. With `sortByLength: false` the caps cut
 * the input order greedily: the naive baseline.
 *
 * Throws InputError naming `lengths` for a length that is not a non-negative integer, and naming
 * `maxBatchTokens` for a sequence that alone does not fit the budget unless `oversize: 'alone'`.
 */
export function planBatches(lengths: readonly number[], options: PlanOptions = {}): PlannedBatch[] {
  if (!Array.isArray(lengths)) {
    throw new InputError(`lengths: expected an array of sequence lengths, got ${describe(lengths)}`, {
      argument: 'lengths',
    });
  }
  const resolved = resolvePlanOptions(options);
  for (let i = 0; i < lengths.length; i++) checkLength(lengths[i], i, 'lengths');
  return planWindow(lengths, resolved, 0);
}

/** Throws InputError unless `length` is a non-negative integer; `index` is reported to the caller. */
export function checkLength(length: unknown, index: number, argument: string): asserts length is number {
  if (typeof length !== 'number' || !Number.isSafeInteger(length) || length < 0) {
    throw new InputError(
      `${argument}: the length of item ${index} must be a non-negative integer, got ${describe(length)}`,
      { argument },
    );
  }
}

/**
 * The planner proper, for lengths already checked. `firstIndex` is the global position of `lengths[0]`, used
 * only to name the offending item in errors when a stream is planned window by window.
 */
export function planWindow(
  lengths: readonly number[],
  options: ResolvedPlanOptions,
  firstIndex: number,
): PlannedBatch[] {
  const order = Array.from(lengths.keys());
  if (!options.sortByLength) return cutGreedily(order, lengths, options, firstIndex);
  // Array.prototype.sort is stable, so equal lengths stay in input order.
  order.sort((a, b) => lengths[b]! - lengths[a]!);
  const batches: PlannedBatch[] = [];
  // Longest first, so the sequences too long for the budget form a prefix of `order`.
  let fitting = 0;
  while (
    fitting < order.length &&
    paddedLengthOf(order[fitting]!, lengths, options) > options.maxBatchTokens
  ) {
    batches.push(oversizeBatch(order[fitting]!, lengths, options, firstIndex));
    fitting++;
  }
  const rest = order.slice(fitting);
  // With an infinite batch cost only the number of batches counts, and filling each batch in turn along the
  // longest-first order gives the fewest: every cap is looser for shorter rows.
  const fewestBatches = options.batchOverheadTokens === Number.POSITIVE_INFINITY;
  const cut =
    !fewestBatches && searchCost(rest, lengths, options) <= MAX_SEARCH_STEPS ? cutOptimally : cutGreedily;
  batches.push(...cut(rest, lengths, options, firstIndex));
  // Ascending indices within a batch make plans deterministic and reads of the caller's items sequential.
  for (const batch of batches) batch.indices.sort((a, b) => a - b);
  return batches;
}

/**
 * Above this many (start, end) candidates the optimal cut is replaced by the greedy one, so the search never
 * dominates planning time: reached only by very long lists or caps allowing thousands of rows per batch.
 */
const MAX_SEARCH_STEPS = 20_000_000;

function paddedLengthOf(index: number, lengths: readonly number[], options: ResolvedPlanOptions): number {
  return roundUp(lengths[index]!, options.padToMultipleOf);
}

/** Most rows a batch whose longest row has `width` padded tokens may hold. */
function rowCap(width: number, options: ResolvedPlanOptions): number {
  return width === 0
    ? options.batchSize
    : Math.min(options.batchSize, Math.floor(options.maxBatchTokens / width));
}

function oversizeBatch(
  index: number,
  lengths: readonly number[],
  options: ResolvedPlanOptions,
  firstIndex: number,
): PlannedBatch {
  const length = lengths[index]!;
  const padded = paddedLengthOf(index, lengths, options);
  if (options.oversize === 'error') {
    const rounding =
      padded === length ? '' : ` (${padded} once padded to a multiple of ${options.padToMultipleOf})`;
    throw new InputError(
      `maxBatchTokens: item ${firstIndex + index} has ${length} tokens${rounding}, more than ` +
        `maxBatchTokens=${options.maxBatchTokens}; raise maxBatchTokens, truncate the input, or pass ` +
        `oversize: 'alone' to run such items in a batch of their own`,
      { argument: 'maxBatchTokens' },
    );
  }
  return { indices: [index], paddedLength: padded, realTokens: length };
}

/** Number of candidate batches the optimal cut would examine for `order` (sorted longest first). */
function searchCost(
  order: readonly number[],
  lengths: readonly number[],
  options: ResolvedPlanOptions,
): number {
  let steps = 0;
  for (let start = 0; start < order.length; start++) {
    steps += Math.min(order.length - start, rowCap(paddedLengthOf(order[start]!, lengths, options), options));
    if (steps > MAX_SEARCH_STEPS) break;
  }
  return steps;
}

/**
 * Cuts `order` (longest first, every sequence within the budget) into consecutive batches minimising
 * Σ rows × paddedLength + batchOverheadTokens × batches. Because the first row of a run is its longest, a run
 * [start, end) costs (end − start) × width(start) + overhead, and the best cut of every prefix follows from the
 * best cuts of shorter prefixes: O(n × rows per batch). For sorted lengths, consecutive runs lose nothing
 * against arbitrary groupings (tested against brute force).
 */
function cutOptimally(
  order: readonly number[],
  lengths: readonly number[],
  options: ResolvedPlanOptions,
): PlannedBatch[] {
  const n = order.length;
  const best = new Float64Array(n + 1).fill(Number.POSITIVE_INFINITY);
  const runStart = new Int32Array(n + 1);
  best[0] = 0;
  for (let start = 0; start < n; start++) {
    const width = paddedLengthOf(order[start]!, lengths, options);
    const lastEnd = Math.min(n, start + rowCap(width, options));
    for (let end = start + 1; end <= lastEnd; end++) {
      const cost = best[start]! + (end - start) * width + options.batchOverheadTokens;
      // Strict < keeps the earliest start among ties, so plans are deterministic.
      if (cost < best[end]!) {
        best[end] = cost;
        runStart[end] = start;
      }
    }
  }
  const batches: PlannedBatch[] = [];
  for (let end = n; end > 0; end = runStart[end]!) {
    const start = runStart[end]!;
    const indices = order.slice(start, end);
    let realTokens = 0;
    for (const index of indices) realTokens += lengths[index]!;
    batches.push({ indices, paddedLength: paddedLengthOf(order[start]!, lengths, options), realTokens });
  }
  return batches.reverse();
}

/** Fills each batch in the given order until the next sequence would break a cap. */
function cutGreedily(
  order: readonly number[],
  lengths: readonly number[],
  options: ResolvedPlanOptions,
  firstIndex: number,
): PlannedBatch[] {
  const batches: PlannedBatch[] = [];
  let current: PlannedBatch | undefined;
  for (const index of order) {
    const padded = paddedLengthOf(index, lengths, options);
    if (padded > options.maxBatchTokens) {
      batches.push(oversizeBatch(index, lengths, options, firstIndex));
      current = undefined;
      continue;
    }
    if (current !== undefined) {
      const rows = current.indices.length + 1;
      const width = Math.max(current.paddedLength, padded);
      if (rows <= options.batchSize && rows * width <= options.maxBatchTokens) {
        current.indices.push(index);
        current.paddedLength = width;
        current.realTokens += lengths[index]!;
        continue;
      }
    }
    current = { indices: [index], paddedLength: padded, realTokens: lengths[index]! };
    batches.push(current);
  }
  return batches;
}

/** Totals of a plan: how many tokens are real and how many the model computes. */
export function summarizePlan(batches: readonly PlannedBatch[]): PlanSummary {
  let sequences = 0;
  let realTokens = 0;
  let paddedTokens = 0;
  for (const batch of batches) {
    sequences += batch.indices.length;
    realTokens += batch.realTokens;
    paddedTokens += batch.indices.length * batch.paddedLength;
  }
  return {
    sequences,
    batches: batches.length,
    realTokens,
    paddedTokens,
    paddingRatio: paddedTokens === 0 ? 0 : (paddedTokens - realTokens) / paddedTokens,
  };
}

export function roundUp(length: number, multiple: number): number {
  return multiple <= 1 ? length : Math.ceil(length / multiple) * multiple;
}
