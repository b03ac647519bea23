/**
 * The part every row command (classify, embed, ner, qa, fill-mask, zero-shot) shares beyond src/cli/io: the
 * batching and long-input flags, and the loop that hands each chunk of input rows to a pipeline and turns
 * pipeline errors into messages naming the flag or the input line.
 */
import { resolve } from 'node:path';
import { Option, type Command } from 'commander';
import { InputError, SeqbatchError } from '../../errors.js';
import type {
  LongInputOptions,
  PipelineBatchOptions,
  PipelineOptions,
  TextOrPair,
} from '../../pipelines/index.js';
import {
  addRowsOptions,
  type BatchProgress,
  interruptOnSignals,
  rowsOptionsFrom,
  runRowsCommand,
  type InputRow,
  type OutputRecord,
  type RowsCliOptions,
  type RowsCommandIO,
  type RowsCommandSummary,
  type RunFingerprint,
} from '../io/index.js';

import { asFlagError, flagOf, integerFlag } from './shared-flags.js';
import { resolveModelFlags, type ModelCliOptions } from './shared-model.js';

/**
 * Each call to the pipeline gets this many model batches' worth of rows: the pipeline sorts them by length
 * before batching, so a wider chunk pads less, while results are still written (and resumable) chunk by chunk.
 */
export const BATCHES_PER_CHUNK = 4;

export interface BatchingCliOptions {
  maxBatchTokens?: string;
  truncation?: boolean;
  longInputs?: LongInputOptions['longInputs'];
  maxLength?: string;
  stride?: string;
  windowAggregation?: LongInputOptions['windowAggregation'];
}

/** API options whose errors are reported under their flag (`maxLength` → `--max-length`). */
export const PIPELINE_FLAG_OPTIONS = [
  'batchSize',
  'maxBatchTokens',
  'truncation',
  'longInputs',
  'maxLength',
  'stride',
  'windowAggregation',
  'topK',
  'functionToApply',
  'pooling',
  'normalize',
  'aggregationStrategy',
  'ignoreLabels',
  'docStride',
  'maxSeqLen',
  'maxAnswerLen',
  'maxQuestionLen',
  'targets',
  'candidateLabels',
  'multiLabel',
  'hypothesisTemplate',
  'promptName',
  'prompt',
  'truncateDim',
  'precision',
  'calibration',
];

/** The row input/output flags of src/cli/io plus `--max-batch-tokens`. */
export function addRowCommandOptions(command: Command): Command {
  return addRowsOptions(command).option(
    '--max-batch-tokens <n>',
    'padded tokens per model batch (rows x longest row); default: the scheduler default',
  );
}

/** `--truncation`, `--long-inputs`, `--max-length`, `--stride`, `--window-aggregation`. */
export function addLongInputOptions(command: Command, windows = true): Command {
  command
    .option('--truncation', 'cut inputs longer than the model (or --max-length) instead of failing')
    .option('--max-length <n>', 'tokens per row, special tokens included (default: the model maximum)');
  if (!windows) return command;
  return command
    .addOption(
      new Option(
        '--long-inputs <mode>',
        'inputs longer than the model: fail, keep the first tokens, or run overlapping windows and combine them',
      ).choices(['error', 'truncate', 'sliding-window']),
    )
    .option('--stride <n>', 'tokens shared by consecutive windows (sliding-window)')
    .addOption(
      new Option('--window-aggregation <how>', 'how window outputs are combined').choices(['mean', 'max']),
    );
}

export function batchingFrom(options: BatchingCliOptions & RowsCliOptions): PipelineBatchOptions {
  const batching: PipelineBatchOptions = {};
  const batchSize = integerFlag(options.batchSize, '--batch-size');
  if (batchSize !== undefined) batching.batchSize = batchSize;
  const maxBatchTokens = integerFlag(options.maxBatchTokens, '--max-batch-tokens');
  if (maxBatchTokens !== undefined) batching.maxBatchTokens = maxBatchTokens;
  return batching;
}

export function longInputsFrom(options: BatchingCliOptions): LongInputOptions {
  const long: LongInputOptions = {};
  if (options.truncation) long.truncation = true;
  if (options.longInputs !== undefined) long.longInputs = options.longInputs;
  const maxLength = integerFlag(options.maxLength, '--max-length');
  if (maxLength !== undefined) long.maxLength = maxLength;
  const stride = integerFlag(options.stride, '--stride', 0);
  if (stride !== undefined) long.stride = stride;
  if (options.windowAggregation !== undefined) long.windowAggregation = options.windowAggregation;
  return long;
}

/**
 * For commands that take one text per row (ner, fill-mask, zero-shot): a --pair-column would be silently unused,
 * so naming one is an error. (A `text_pair` column found by default is ignored.)
 */
export function refusePairColumn(options: RowsCliOptions, command: string): void {
  if (options.pairColumn !== undefined) {
    throw new InputError(`--pair-column: ${command} reads one text per row, not pairs`, {
      argument: '--pair-column',
    });
  }
}

/** The pipeline input of each row: the text, or `{ text, textPair }` for a pair. */
export function rowInputs(rows: readonly InputRow[]): TextOrPair[] {
  return rows.map((row) =>
    row.textPair === undefined ? row.text : { text: row.text, textPair: row.textPair },
  );
}

/** Where a row came from, for messages: `reviews.csv:12`, or `argument 2` for positional texts. */
function rowPlace(row: InputRow, texts: readonly string[], file: string | undefined): string {
  if (texts.length > 0) return `argument ${row.line}`;
  return `${file === undefined || file === '-' ? 'stdin' : file}:${row.line}`;
}

/** API spellings in pipeline messages → the flags a CLI user types. */
const API_PHRASES: Array<[RegExp, string]> = [
  [/\btruncation: true\b/g, '--truncation'],
  [/\blongInputs: '([a-z-]+)'/g, '--long-inputs $1'],
  [/'sliding-window'/g, 'sliding-window'],
];

function cliWording(message: string): string {
  return API_PHRASES.reduce((text, [pattern, replacement]) => text.replace(pattern, replacement), message);
}

/**
 * Re-labels a pipeline error: `inputs[i]` (in the argument or the message) becomes the input row's place
 * (`reviews.csv:12`, `argument 2`), an API option its flag. Other errors pass unchanged.
 */
export function rowError(
  error: unknown,
  rows: readonly InputRow[],
  texts: readonly string[],
  file: string | undefined,
): unknown {
  if (!(error instanceof SeqbatchError) || error.argument === undefined) return error;
  const inArgument = /^inputs\[(\d+)\]/.exec(error.argument);
  const inMessage = /^inputs\[(\d+)\][^:]*:\s*/.exec(error.message);
  const index = inArgument?.[1] ?? inMessage?.[1];
  const row = index === undefined ? undefined : rows[Number(index)];
  if (row !== undefined) {
    const place = rowPlace(row, texts, file);
    const detail = cliWording(error.message.replace(/^inputs\[\d+\][^:]*:\s*/, ''));
    const argument = inArgument ? '--input' : flagOf(error.argument);
    return new InputError(`${place}: ${detail}`, { argument, cause: error });
  }
  return asFlagError(error, PIPELINE_FLAG_OPTIONS);
}

/**
 * Reads the rows (positional texts, --input or stdin), hands them to `processChunk` a chunk at a time (batch size
 * × BATCHES_PER_CHUNK rows), writes one record per row in input order, and handles --output/--resume/progress.
 */
export async function runPipelineRows(
  texts: readonly string[],
  options: RowsCliOptions & BatchingCliOptions,
  processChunk: (rows: InputRow[], progress: BatchProgress) => Promise<OutputRecord[]>,
  io: RowsCommandIO = {},
  run?: RunFingerprint,
  shape: RowsShape = {},
): Promise<RowsCommandSummary> {
  const rowsOptions = rowsOptionsFrom(texts, options);
  rowsOptions.batchSize = shape.wholeInput
    ? Number.MAX_SAFE_INTEGER
    : rowsOptions.batchSize * BATCHES_PER_CHUNK;
  if (run !== undefined) rowsOptions.output.run = run;
  return runRowsCommand(
    rowsOptions,
    async (rows, progress) => {
      try {
        return await processChunk(rows, progress);
      } catch (error) {
        throw rowError(error, rows, texts, options.input);
      }
    },
    io,
  );
}

/** How a command's rows are handed to the pipeline. */
export interface RowsShape {
  /**
   * All rows in one call (results that depend on every input, such as int8 ranges taken from the whole run):
   * every result is held until the end, and written then.
   */
  wholeInput?: boolean;
}

/** What a pipeline command does with its opened pipeline: the records of some input rows. */
export type RowRecords = (rows: InputRow[]) => Promise<OutputRecord[]>;

/**
 * A row command's work under its flags, apart from where rows come from and go: the pipeline it opens and the
 * records it makes of rows. The local command and the queue worker (src/jobs) both run it.
 */
export interface PipelineRowTask<P extends { readonly task: string; dispose(): Promise<void> }> {
  open: (dir: string, load: PipelineOptions) => Promise<P>;
  recordsOf: (pipe: P) => RowRecords;
}

/**
 * The body of every pipeline command: resolves the model flags, opens the pipeline with the batching flags,
 * checks the call options on no rows (so a bad flag, such as a --max-length above the model's, fails before any
 * input is read), runs the rows through `recordsOf(pipeline)` chunk by chunk, and disposes the pipeline.
 */
export async function runPipelineCommand<P extends { readonly task: string; dispose(): Promise<void> }>(
  texts: readonly string[],
  options: RowsCliOptions & BatchingCliOptions & ModelCliOptions,
  open: (dir: string, load: PipelineOptions) => Promise<P>,
  recordsOf: (pipe: P) => RowRecords,
  io: RowsCommandIO = {},
  shape: RowsShape = {},
): Promise<RowsCommandSummary> {
  const model = await resolveModelFlags(options);
  // The chunk being run hears of every model batch, so the progress bar moves within a row of many windows.
  let chunkProgress: BatchProgress | undefined;
  const pipe = await open(model.dir, {
    ...model.load,
    ...batchingFrom(options),
    onProgress: (stats) => chunkProgress?.modelRows(stats.sequences),
  });
  // SIGINT/SIGTERM stop the run between chunks (see interrupt.ts), unless the caller brought its own signal.
  const interruption = io.signal === undefined ? interruptOnSignals() : undefined;
  try {
    const records = recordsOf(pipe);
    await records([]).catch((error: unknown) => {
      throw rowError(error, [], texts, options.input);
    });
    const run = runFingerprint(pipe.task, model.dir, options);
    return await runPipelineRows(
      texts,
      options,
      (rows, progress) => {
        chunkProgress = progress;
        return records(rows);
      },
      { ...io, signal: io.signal ?? interruption?.signal },
      run,
      shape,
    );
  } finally {
    await pipe.dispose();
    interruption?.dispose();
    const exitCode = interruption?.exitCode();
    if (exitCode !== undefined) process.exitCode = exitCode;
  }
}

/** The row flags of src/cli/io: where rows come from and where they go. */
export const ROW_IO_FLAGS = [
  'input',
  'inputFormat',
  'column',
  'pairColumn',
  'quote',
  'output',
  'format',
  'resume',
  'fsync',
  'progress',
];

/** How the model is found and run (equal up to float rounding): a machine's business, not a run's. */
export const MODEL_RUN_FLAGS = ['threads', 'graphCache', 'packed', 'model', 'revision', 'offline'];

/**
 * Flags that do not change what a row command writes: where rows come from and go (the input is checked by the
 * digest of its rows instead), how they are batched and run (equal up to float rounding), and how the model is
 * found (`modelDir` records the folder it resolved to). Every other flag is part of the run's fingerprint.
 */
const FLAGS_OUTSIDE_FINGERPRINT = new Set([
  ...ROW_IO_FLAGS,
  ...MODEL_RUN_FLAGS,
  'batchSize',
  'maxBatchTokens',
]);

/** What `--resume` compares: the task, the model folder and every output-changing flag. */
export function runFingerprint(task: string, modelDir: string, options: object): RunFingerprint {
  const run: RunFingerprint = { command: task, modelDir: resolve(modelDir) };
  for (const [key, value] of Object.entries(options)) {
    if (!FLAGS_OUTSIDE_FINGERPRINT.has(key) && value !== undefined) run[key] = value;
  }
  return run;
}
