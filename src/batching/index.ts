/** Length-aware batch scheduling, generic over items and results. See docs/batching.md. */
export {
  DEFAULT_BATCH_OVERHEAD_TOKENS,
  DEFAULT_BATCH_SIZE,
  DEFAULT_CONCURRENCY,
  DEFAULT_MAX_BATCH_TOKENS,
  DEFAULT_WINDOW_SIZE,
  type OversizePolicy,
  type PlanOptions,
} from './options.js';
export { planBatches, summarizePlan, type PlannedBatch, type PlanSummary } from './plan.js';
export { runBatched, streamBatched, type BatchEvent, type BatchInfo, type RunBatchedOptions } from './run.js';
export { BatchError } from './errors.js';
export type { BatchRunStats } from './stats.js';
