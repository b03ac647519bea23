/**
 * The local commands a job can run, each through the very code of its command: the command's own commander
 * definition parses and checks the task flags given to `jobs submit`, and its row task (pipeline + records) runs
 * the chunks in the worker. A queued chunk therefore gives the rows `seqbatch <task>` gives.
 */
import { Command } from 'commander';
import { resolve } from 'node:path';
import { InputError } from '../errors.js';
import * as classifyCommand from '../cli/commands/classify.js';
import * as embedCommand from '../cli/commands/embed.js';
import * as nerCommand from '../cli/commands/ner.js';
import * as qaCommand from '../cli/commands/qa.js';
import * as fillMaskCommand from '../cli/commands/fill-mask.js';
import * as zeroShotCommand from '../cli/commands/zero-shot.js';
import * as similarityCommand from '../cli/commands/similarity.js';
import * as rerankCommand from '../cli/commands/rerank.js';
import {
  MODEL_RUN_FLAGS,
  refusePairColumn,
  ROW_IO_FLAGS,
  type PipelineRowTask,
} from '../cli/commands/shared-rows.js';
import type { RowsCliOptions } from '../cli/io/index.js';
import type { RankOrder } from '../pipelines/rank-order.js';
import { JOB_TASK_NAMES, type JobTaskName } from './constants.js';

type AnyRowTask = PipelineRowTask<{ readonly task: string; dispose(): Promise<void> }>;

export interface JobTask {
  /** Registers the local command on a program (its flags are the job's flags). */
  register(program: Command): void;
  /** The pipeline and records of the command under these (parsed) flags. */
  rowTask(options: Record<string, unknown>): AnyRowTask;
  /** Flags whose rows depend on the whole input (they cannot be cut into chunks): an error, or undefined. */
  refuse?(options: Record<string, unknown>): string | undefined;
  /** The options the input is read with, when the command chooses columns of its own (qa). */
  rowsOptions?(options: Record<string, unknown>): Record<string, unknown>;
  /** The options recorded for the workers, when a flag must mean the same on every machine (a file path). */
  recorded?(options: Record<string, unknown>): Record<string, unknown>;
  /** Rows ranked once every chunk is scored (rerank): how collect orders and cuts them. */
  ranking?(options: Record<string, unknown>): RankOrder;
}

/** The local commands' own refusal (an InputError naming --pair-column), for tasks that read one text per row. */
const onePerRow = (command: string) => (options: Record<string, unknown>) => {
  refusePairColumn(options as RowsCliOptions, command);
  return undefined;
};

export const JOB_TASKS: Record<JobTaskName, JobTask> = {
  classify: {
    register: classifyCommand.register,
    rowTask: (options) => classifyCommand.classifyRowTask(options) as unknown as AnyRowTask,
  },
  embed: {
    register: embedCommand.register,
    rowTask: (options) => embedCommand.embedRowTask(options) as unknown as AnyRowTask,
    refuse: (options) =>
      embedCommand.embedNeedsWholeInput(options)
        ? `--precision ${String(options.precision)} without --calibration takes its ranges from every row of the input, which a job split into chunks cannot do; pass --calibration FILE`
        : undefined,
    recorded: (options) =>
      options.calibration === undefined
        ? options
        : { ...options, calibration: resolve(String(options.calibration)) },
  },
  ner: {
    register: nerCommand.register,
    rowTask: (options) => nerCommand.nerRowTask(options) as unknown as AnyRowTask,
    refuse: onePerRow('ner'),
  },
  qa: {
    register: qaCommand.register,
    rowTask: (options) => qaCommand.qaRowTask(options) as unknown as AnyRowTask,
    rowsOptions: (options) => qaCommand.qaRowsOptions([], options) as Record<string, unknown>,
  },
  'fill-mask': {
    register: fillMaskCommand.register,
    rowTask: (options) => fillMaskCommand.fillMaskRowTask(options) as unknown as AnyRowTask,
    refuse: onePerRow('fill-mask'),
  },
  'zero-shot': {
    register: zeroShotCommand.register,
    rowTask: (options) => zeroShotCommand.zeroShotRowTask(options as never) as unknown as AnyRowTask,
    refuse: onePerRow('zero-shot'),
  },
  similarity: {
    register: similarityCommand.register,
    rowTask: (options) => similarityCommand.similarityRowTask(options) as unknown as AnyRowTask,
    // Workers read --against themselves: the path must name the same (shared) file from any working folder.
    recorded: (options) => ({ ...options, against: resolve(String(options.against)) }),
  },
  rerank: {
    register: rerankCommand.register,
    // The workers score each chunk's documents against the query; collect ranks them (--top-k, --return-documents).
    rowTask: (options) => rerankCommand.rerankRowTask(options) as unknown as AnyRowTask,
    ranking: (options) => rerankCommand.rerankOrder(options),
  },
};

export function jobTask(name: string): JobTask {
  const task = (JOB_TASKS as Record<string, JobTask | undefined>)[name];
  if (task === undefined) {
    throw new InputError(`--task: expected one of ${JOB_TASK_NAMES.join(', ')}, got "${name}"`, {
      argument: '--task',
    });
  }
  return task;
}

/**
 * Parses `args` (task flags such as `--top-k 3 --column review`) with the local command's own definition, so
 * every flag is checked as `seqbatch <task>` checks it; returns the options commander gives its action.
 */
export async function parseTaskFlags(
  name: string,
  args: readonly string[],
): Promise<Record<string, unknown>> {
  const program = new Command().exitOverride();
  jobTask(name).register(program);
  const command = program.commands[0]!;
  let parsed: Record<string, unknown> | undefined;
  let texts: string[] = [];
  for (const each of [program, command]) {
    each.exitOverride().configureOutput({ writeErr: () => {}, writeOut: () => {} });
  }
  command.action((given: string[], options: Record<string, unknown>) => {
    texts = given;
    parsed = options;
  });
  try {
    await program.parseAsync([name, ...args], { from: 'user' });
  } catch (error) {
    const message = (error as Error).message.replace(/^error: /, '');
    throw new InputError(`jobs submit --task ${name}: ${message}`, { argument: '--task', cause: error });
  }
  if (texts.length > 0) {
    throw new InputError(
      `jobs submit: unexpected argument "${texts[0]}" (a job reads its texts from --input)`,
      {
        argument: '--input',
      },
    );
  }
  return parsed!;
}

/**
 * Flags that say where rows come from and go, which model and how it runs: not part of a job's options (the model
 * and a --tokenizer folder are the job's model key instead).
 */
const FLAGS_OUTSIDE_JOB = new Set([...ROW_IO_FLAGS, ...MODEL_RUN_FLAGS, 'tokenizer']);

/** The options a job records: what changes its rows (and the batch flags, which decide how rows are grouped). */
export function jobOptions(options: Record<string, unknown>): Record<string, unknown> {
  const kept: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(options)) {
    if (!FLAGS_OUTSIDE_JOB.has(key) && value !== undefined) kept[key] = value;
  }
  return kept;
}
