/**
 * The jobs' task names and defaults, in a module that loads nothing else: `seqbatch jobs` declares its flags from
 * them without loading BullMQ or the pipelines, which only the subcommand that runs loads (src/cli/commands/jobs.ts).
 */

/** The local commands a job can run (tasks.ts holds each one's work; the type keeps the two lists equal). */
export const JOB_TASK_NAMES = [
  'classify',
  'embed',
  'ner',
  'qa',
  'fill-mask',
  'zero-shot',
  'similarity',
  'rerank',
] as const;

export type JobTaskName = (typeof JOB_TASK_NAMES)[number];

/** Default lock time of a running chunk: a dead worker's chunk goes back to the queue within about twice this. */
export const DEFAULT_STALLED_MS = 30_000;
