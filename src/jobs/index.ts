/** Corpus jobs on BullMQ and Redis: submit, worker, status, collect (docs/jobs.md). */
export { DEFAULT_REDIS_URL, redisUrl, connectRedis } from './redis.js';
export { submitJob, generatedJobName, type SubmitSpec, type Submitted } from './submit.js';
export { startWorker, type RunningWorker, type WorkerSpec } from './worker.js';
export { DEFAULT_STALLED_MS, JOB_TASK_NAMES, type JobTaskName } from './constants.js';
export { jobStatus, statusOf, formatStatus, type JobStatus, type ParkedChunk } from './status.js';
export { collectJob, type CollectSpec } from './collect.js';
export { modelKey, modelQueueName, modelVariant } from './model-key.js';
export { jobTask, jobOptions, parseTaskFlags, type JobTask } from './tasks.js';
export { loadJob, type JobRecord } from './job-record.js';
export { cleanJob, listJobs, formatJobList, type Cleaned, type CleanSpec, type JobSummary } from './clean.js';
