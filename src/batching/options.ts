/**
 * The knobs of the length-aware scheduler, their defaults and their validation. Kept apart from the planner and
 * the runner so both read one resolved, checked set of options and every bad value is an InputError naming it.
 */
import { InputError } from '../errors.js';

/**
 * Provisional defaults. They are sane for BERT-base-sized encoders on a small CPU (a 32 × 128-token batch fits
 * easily in cache-friendly working sets, and SST-2-like inputs get ≤ 2% padding); the final values will be set
 * by the throughput benchmark, so import these constants instead of copying the numbers.
 */
export const DEFAULT_BATCH_SIZE = 32;
export const DEFAULT_MAX_BATCH_TOKENS = 4096;
export const DEFAULT_WINDOW_SIZE = 4096;
export const DEFAULT_CONCURRENCY = 1;
export const DEFAULT_BATCH_OVERHEAD_TOKENS = 32;

/** What to do with one sequence whose padded length alone exceeds `maxBatchTokens`. */
export type OversizePolicy = 'error' | 'alone';

/** Options that decide how sequences are grouped into batches. */
export interface PlanOptions {
  /** Most sequences in one batch. Default {@link DEFAULT_BATCH_SIZE}; `Infinity` leaves only the token budget. */
  batchSize?: number;
  /**
   * Most padded tokens in one batch: batch size × longest length in the batch (after rounding up to
   * `padToMultipleOf`). Default {@link DEFAULT_MAX_BATCH_TOKENS}; `Infinity` disables the budget.
   */
  maxBatchTokens?: number;
  /** Batches are padded to a multiple of this many tokens (1 = no rounding). Default 1. */
  padToMultipleOf?: number;
  /** A sequence that alone exceeds `maxBatchTokens`: throw an InputError (default) or run it in its own batch. */
  oversize?: OversizePolicy;
  /** Group sequences of similar length (default true). `false` keeps input order: the naive baseline. */
  sortByLength?: boolean;
  /**
   * The fixed cost of running one more batch, in tokens' worth of compute (call overhead, small-matrix
   * inefficiency). The sorted planner minimises padded tokens + this × batches: 0 favours many tiny batches
   * with no padding, a large value favours the fewest batches, and `Infinity` asks for the fewest batches outright
   * (padding then costs nothing, as when every batch runs on the packed graph: pipelines loaded with
   * `packed: true` default to it). Default {@link DEFAULT_BATCH_OVERHEAD_TOKENS}.
   */
  batchOverheadTokens?: number;
}

export interface ResolvedPlanOptions {
  batchSize: number;
  maxBatchTokens: number;
  padToMultipleOf: number;
  oversize: OversizePolicy;
  sortByLength: boolean;
  batchOverheadTokens: number;
}

export function resolvePlanOptions(options: PlanOptions = {}): ResolvedPlanOptions {
  return {
    batchSize: countOrInfinity(options.batchSize, 'batchSize', DEFAULT_BATCH_SIZE),
    maxBatchTokens: countOrInfinity(options.maxBatchTokens, 'maxBatchTokens', DEFAULT_MAX_BATCH_TOKENS),
    padToMultipleOf: count(options.padToMultipleOf, 'padToMultipleOf', 1),
    oversize: oversizePolicy(options.oversize),
    sortByLength: flag(options.sortByLength, 'sortByLength', true),
    batchOverheadTokens: nonNegativeOrInfinity(
      options.batchOverheadTokens,
      'batchOverheadTokens',
      DEFAULT_BATCH_OVERHEAD_TOKENS,
    ),
  };
}

/** A positive integer option, or its default when undefined. */
export function count(value: unknown, argument: string, fallback: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 1) {
    throw new InputError(`${argument}: expected a positive integer, got ${describe(value)}`, { argument });
  }
  return value;
}

function nonNegativeOrInfinity(value: unknown, argument: string, fallback: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || Number.isNaN(value) || value < 0) {
    throw new InputError(`${argument}: expected a finite number ≥ 0 or Infinity, got ${describe(value)}`, {
      argument,
    });
  }
  return value;
}

function countOrInfinity(value: unknown, argument: string, fallback: number): number {
  if (value === Number.POSITIVE_INFINITY) return value;
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 1) {
    throw new InputError(`${argument}: expected a positive integer or Infinity, got ${describe(value)}`, {
      argument,
    });
  }
  return value;
}

function oversizePolicy(value: unknown): OversizePolicy {
  if (value === undefined) return 'error';
  if (value === 'error' || value === 'alone') return value;
  throw new InputError(`oversize: expected 'error' or 'alone', got ${describe(value)}`, {
    argument: 'oversize',
  });
}

function flag(value: unknown, argument: string, fallback: boolean): boolean {
  if (value === undefined) return fallback;
  if (typeof value !== 'boolean') {
    throw new InputError(`${argument}: expected a boolean, got ${describe(value)}`, { argument });
  }
  return value;
}

export function describe(value: unknown): string {
  if (value === null || value === undefined) return String(value);
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'object') return 'an object';
  if (typeof value === 'function') return 'a function';
  if (typeof value === 'string') return `string ${JSON.stringify(value)}`;
  return `${typeof value} ${String(value)}`;
}
