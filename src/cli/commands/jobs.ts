/**
 * `seqbatch jobs submit|worker|status|collect|list|clean`: a corpus job spread over worker processes on any machines that
 * reach one Redis (`REDIS_URL`, default redis://127.0.0.1:6379), on BullMQ. The work is in src/jobs; this file
 * reads the flags. See docs/jobs.md.
 */
import { resolve } from 'node:path';
import { Option, type Command } from 'commander';
import type { Redis } from 'ioredis';
import { InputError } from '../../errors.js';
// Only what declares the flags is loaded here; each subcommand loads its own part of src/jobs when it runs, so
// `collect` or `status` never load the pipelines and ONNX Runtime, which only `submit` and `worker` need.
import { DEFAULT_STALLED_MS, JOB_TASK_NAMES } from '../../jobs/constants.js';
import { connectRedis, redisUrl } from '../../jobs/redis.js';
import type { JobStatus, JobTask } from '../../jobs/index.js';
import { createRowProgress, interruptOnSignals, OUTPUT_FORMATS, rowsOptionsFrom } from '../io/index.js';
import type { OutputFormat, RunFingerprint } from '../io/index.js';
import { integerFlag } from './shared-flags.js';
import {
  addModelOptions,
  resolveModelFlags,
  type ModelCliOptions,
  type ResolvedModelFlags,
} from './shared-model.js';

/** Default chunk: 8 × the row commands' default pipeline call (32 × 4 rows), so chunks cut where they cut. */
export const DEFAULT_CHUNK_SIZE = 1024;
export const DEFAULT_ATTEMPTS = 3;
export const DEFAULT_BACKOFF_MS = 1000;

/** The results folder: --results-dir, SEQBATCH_JOBS_DIR, or ./seqbatch-jobs. */
function resultsDirFlag(value: string | undefined): string {
  return resolve(value ?? process.env.SEQBATCH_JOBS_DIR ?? 'seqbatch-jobs');
}

interface SubmitCliOptions {
  task: string;
  input: string;
  column?: string;
  model?: string;
  chunkSize: string;
  name?: string;
  resultsDir?: string;
  attempts: string;
  backoffMs: string;
}

interface WorkerCliOptions extends ModelCliOptions {
  concurrency: string;
  resultsDir?: string;
  stalledMs: string;
}

interface StatusCliOptions {
  json?: boolean;
  watch?: boolean;
  intervalMs: string;
}

interface CollectCliOptions {
  wait?: boolean;
  intervalMs: string;
  output?: string;
  format?: OutputFormat;
  resultsDir?: string;
  fsync?: boolean;
}

interface CleanCliOptions {
  force?: boolean;
  resultsDir?: string;
}

export function register(program: Command): void {
  const jobs = program
    .command('jobs')
    .description('corpus jobs over many worker processes through Redis (REDIS_URL) and BullMQ');

  jobs
    .command('submit')
    .description(
      'cut an input file into chunks and queue them; prints the job name. Other flags of the task command (--top-k, --pair-column, --truncation, ...) are accepted as that command accepts them',
    )
    .addOption(
      new Option('--task <task>', 'the local command to run').choices(JOB_TASK_NAMES).makeOptionMandatory(),
    )
    .requiredOption(
      '-i, --input <file>',
      'a .txt, .jsonl, .csv or .tsv file, read as the task command reads it',
    )
    .option('--column <name>', 'CSV/TSV column or JSONL field holding the text (as the task command)')
    .option('-m, --model <dir-or-id>', 'checkpoint folder or Hub id (default: as the task command)')
    .option('--chunk-size <n>', 'rows per queued chunk', String(DEFAULT_CHUNK_SIZE))
    .option('--name <job>', 'job name (default: generated)')
    .option(
      '--results-dir <dir>',
      'folder shared with the workers for chunk inputs and results (default: $SEQBATCH_JOBS_DIR or ./seqbatch-jobs)',
    )
    .option('--attempts <n>', 'runs of a chunk before it is parked as failed', String(DEFAULT_ATTEMPTS))
    .option(
      '--backoff-ms <n>',
      'wait before the first retry (doubling each time)',
      String(DEFAULT_BACKOFF_MS),
    )
    .allowUnknownOption()
    .allowExcessArguments()
    .action(async (options: SubmitCliOptions, command: Command) => {
      await runSubmit(options, command.args);
    });

  const worker = jobs
    .command('worker')
    .description("take chunks of the model's jobs from the queue and run them until SIGINT/SIGTERM");
  addModelOptions(worker, {
    defaultsToDemo: true,
    needs: 'the model whose jobs this worker runs',
    checksHead: false,
  });
  worker
    .option('--concurrency <n>', 'chunks run at once', '1')
    .option('--results-dir <dir>', "the shared results folder as mounted here (default: the job's own)")
    .option(
      '--stalled-ms <n>',
      "lock time of a running chunk: a dead worker's chunk is retried after about twice this",
      String(DEFAULT_STALLED_MS),
    )
    .action(async (options: WorkerCliOptions) => {
      await runWorker(options);
    });

  jobs
    .command('status')
    .description('chunks done / running / waiting / failed, rows done, rows per second, ETA')
    .argument('<job>', 'job name (as printed by submit)')
    .option('--json', 'print one JSON object (keys chunks, done, running, waiting, failed, rows_done, ...)')
    .option('--watch', 'draw a progress bar until the job ends (exit status 1 if chunks were parked)')
    .option('--interval-ms <n>', 'how often --watch asks Redis', '1000')
    .action(async (name: string, options: StatusCliOptions) => {
      await runStatus(name, options);
    });

  jobs
    .command('collect')
    .description("write a finished job's rows, once each and in input order, as the task command writes them")
    .argument('<job>', 'job name')
    .option('-o, --output <file>', 'output file (default: stdout)')
    .addOption(
      new Option(
        '--format <format>',
        'output format (default: csv for a .csv output file, else jsonl)',
      ).choices(OUTPUT_FORMATS),
    )
    .option('--results-dir <dir>', "the shared results folder as mounted here (default: the job's own)")
    .option('--fsync', 'sync the output file to disk after every chunk')
    .option(
      '--wait',
      'follow a running job: write each chunk as soon as it and the ones before it are done, until the last',
    )
    .option('--interval-ms <n>', 'how often --wait asks Redis', '100')
    .action(async (name: string, options: CollectCliOptions) => {
      await runCollect(name, options);
    });

  jobs
    .command('list')
    .description('every job in this Redis: task, model, submit time, chunks and rows done')
    .option('--json', 'print one JSON object per job, one per line')
    .action(async (options: { json?: boolean }) => {
      await withRedis(async (redis) => {
        const { formatJobList, listJobs } = await import('../../jobs/clean.js');
        const list = await listJobs(redis);
        process.stdout.write(
          options.json ? list.map((job) => `${JSON.stringify(job)}\n`).join('') : formatJobList(list),
        );
      });
    });

  jobs
    .command('clean')
    .alias('remove')
    .description(
      'delete a job: its Redis keys, its chunks left in the queue and its folder in the results directory',
    )
    .argument('<job>', 'job name')
    .option('--force', 'also a job with chunks still running or waiting (their workers drop them)')
    .option('--results-dir <dir>', "the shared results folder as mounted here (default: the job's own)")
    .action(async (name: string, options: CleanCliOptions) => {
      await withRedis(async (redis, url) => {
        const { cleanJob } = await import('../../jobs/clean.js');
        const cleaned = await cleanJob(redis, name, url, {
          force: options.force === true,
          resultsDir: options.resultsDir === undefined ? undefined : resolve(options.resultsDir),
        });
        process.stderr.write(
          `seqbatch: removed job ${name}: ${cleaned.chunksRemoved} queued or parked chunk(s), the folder ${cleaned.folder}` +
            (cleaned.chunksRunning > 0
              ? `; ${cleaned.chunksRunning} running chunk(s) will be dropped by their workers`
              : '') +
            '\n',
        );
      });
    });
}

/** Runs a one-shot command's work on a Redis connection (REDIS_URL), closed at the end. */
async function withRedis<T>(work: (redis: Redis, url: string) => Promise<T>): Promise<T> {
  const url = redisUrl();
  const redis = await connectRedis(url);
  try {
    return await work(redis, url);
  } finally {
    redis.disconnect();
  }
}

async function runSubmit(options: SubmitCliOptions, extra: readonly string[]): Promise<void> {
  const [{ jobOptions, jobTask, parseTaskFlags }, { submitJob }, { modelKey, modelQueueName, modelVariant }] =
    await Promise.all([
      import('../../jobs/tasks.js'),
      import('../../jobs/submit.js'),
      import('../../jobs/model-key.js'),
    ]);
  const task = jobTask(options.task);
  const chunkSize = integerFlag(options.chunkSize, '--chunk-size')!;
  const attempts = integerFlag(options.attempts, '--attempts')!;
  const backoffMs = integerFlag(options.backoffMs, '--backoff-ms', 0)!;
  const args = ['--input', options.input, ...extra];
  if (options.column !== undefined) args.push('--column', options.column);
  if (options.model !== undefined) args.push('--model', options.model);
  const taskOptions = await parseTaskFlags(options.task, args);
  for (const flag of ['output', 'resume'] as const) {
    if (taskOptions[flag] !== undefined) {
      throw new InputError(
        `--${flag}: a job's rows are written by "seqbatch jobs collect JOB --output FILE"`,
        {
          argument: `--${flag}`,
        },
      );
    }
  }
  const refusal = task.refuse?.(taskOptions);
  if (refusal !== undefined) throw new InputError(refusal, { argument: '--task' });
  const rows = rowsOptionsFrom([], task.rowsOptions?.(taskOptions) ?? taskOptions);
  const model = await resolveModelFlags(taskOptions);
  const rowTask = task.rowTask(taskOptions); // checks the flags that need no model
  // The flags are checked against the model (as the local command does on no rows) while the model key is
  // computed, Redis reached and the first chunks queued: the check's pipeline load is not on the way to the first
  // chunk. submitJob removes the job if the check fails, before its name is printed.
  const checked = checkAgainstModel(rowTask, model, taskOptions, options.input);
  checked.catch(() => {}); // awaited by submitJob, or below
  const url = redisUrl();
  let key: string;
  let redis: Redis;
  try {
    [key, redis] = await Promise.all([
      modelKey(model.dir, taskOptions.tokenizer as string | undefined, modelVariant(model.load)),
      connectRedis(url),
    ]);
  } catch (error) {
    await checked; // a flag the model refuses is reported first
    throw error;
  }
  try {
    const submitted = await submitJob(redis, {
      name: options.name,
      task: options.task,
      model: model.modelId,
      modelKey: key,
      queue: modelQueueName(key),
      options: task.recorded?.(jobOptions(taskOptions)) ?? jobOptions(taskOptions),
      ranking: task.ranking?.(taskOptions),
      checked,
      input: rows.input,
      chunkSize,
      resultsDir: resultsDirFlag(options.resultsDir),
      attempts,
      backoffMs,
      // The name goes out as soon as the job passed the check, so `collect --wait` can follow it at once.
      onCreated: (record) => process.stdout.write(`${record.name}\n`),
    });
    process.stderr.write(
      `seqbatch: queued ${submitted.rows} rows in ${submitted.chunks} chunks for workers of ${model.modelId} (model key ${key})\n`,
    );
  } finally {
    redis.disconnect();
  }
}

/**
 * Opens the task's pipeline and runs it on no rows, as the local command does before reading its input, so a flag
 * the model cannot honour fails here and not in every chunk; gives the local command's run fingerprint.
 */
async function checkAgainstModel(
  rowTask: ReturnType<JobTask['rowTask']>,
  model: ResolvedModelFlags,
  taskOptions: Record<string, unknown>,
  input: string,
): Promise<RunFingerprint> {
  const { batchingFrom, rowError, runFingerprint } = await import('./shared-rows.js');
  const pipe = await rowTask.open(model.dir, { ...model.load, ...batchingFrom(taskOptions) });
  try {
    await rowTask
      .recordsOf(pipe)([])
      .catch((error: unknown) => {
        throw rowError(error, [], [], input);
      });
    return runFingerprint(pipe.task, model.dir, taskOptions);
  } finally {
    await pipe.dispose();
  }
}

async function runWorker(options: WorkerCliOptions): Promise<void> {
  const [{ startWorker }, { modelKey, modelVariant }] = await Promise.all([
    import('../../jobs/worker.js'),
    import('../../jobs/model-key.js'),
  ]);
  const concurrency = integerFlag(options.concurrency, '--concurrency')!;
  const stalledMs = integerFlag(options.stalledMs, '--stalled-ms', 100)!;
  const model = await resolveModelFlags(options);
  const key = await modelKey(model.dir, options.tokenizer, modelVariant(model.load));
  const url = redisUrl();
  const redis = await connectRedis(url, { persistent: true });
  const interruption = interruptOnSignals();
  const worker = await startWorker({
    redis,
    redisUrl: url,
    model,
    modelKey: key,
    concurrency,
    resultsDir: options.resultsDir === undefined ? undefined : resolve(options.resultsDir),
    stalledMs,
    log: (line) => process.stderr.write(`${line}\n`),
  });
  try {
    await new Promise((done) => interruption.signal.addEventListener('abort', done, { once: true }));
    await worker.close();
  } finally {
    redis.disconnect();
    interruption.dispose();
    const exitCode = interruption.exitCode();
    if (exitCode !== undefined) process.exitCode = exitCode;
  }
}

async function runStatus(name: string, options: StatusCliOptions): Promise<void> {
  const { formatStatus, jobStatus } = await import('../../jobs/status.js');
  await withRedis(async (redis, url) => {
    let status = await jobStatus(redis, name, url);
    if (options.watch) {
      const intervalMs = integerFlag(options.intervalMs, '--interval-ms', 10)!;
      status = await watch(status, () => jobStatus(redis, name, url), intervalMs);
    }
    process.stdout.write(options.json ? `${JSON.stringify(status)}\n` : formatStatus(status));
    if (options.watch && status.failed > 0) process.exitCode = 1;
  });
}

/** Redraws a row progress bar (stderr, when a terminal) until the job has no chunk left to run. */
async function watch(
  first: JobStatus,
  poll: () => Promise<JobStatus>,
  intervalMs: number,
): Promise<JobStatus> {
  const progress = createRowProgress({ start: first.rows_done });
  let status = first;
  try {
    while (!status.finished) {
      if (status.rows !== null) progress.setTotal(status.rows);
      progress.update(status.rows_done);
      await new Promise((done) => setTimeout(done, intervalMs));
      status = await poll();
    }
    progress.update(status.rows_done);
  } finally {
    progress.stop();
  }
  return status;
}

async function runCollect(name: string, options: CollectCliOptions): Promise<void> {
  const { collectJob } = await import('../../jobs/collect.js');
  await withRedis((redis, url) =>
    collectJob(redis, name, url, {
      output: { file: options.output, format: options.format, fsync: options.fsync ?? false },
      resultsDir: options.resultsDir === undefined ? undefined : resolve(options.resultsDir),
      wait: options.wait ? { intervalMs: integerFlag(options.intervalMs, '--interval-ms', 10)! } : undefined,
    }),
  );
}
