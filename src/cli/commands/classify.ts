/**
 * `seqbatch classify`: text (or text-pair) classification of many rows with the text-classification pipeline.
 * Without `--model` it runs the bundled seqbatch-demo-sst2 sentiment model, so it works offline on a fresh
 * clone. Each output row holds `label` and `score`; with `--top-k` both are lists (best first); `--logits` adds
 * the raw logits in label-id order.
 */
import { Option, type Command } from 'commander';
import {
  pipeline,
  type ClassificationFunction,
  type TextClassificationOptions,
  type TextClassificationPipeline,
  type TextClassificationResult,
} from '../../pipelines/index.js';
import type { OutputRecord, RowsCliOptions, RowsCommandIO, RowsCommandSummary } from '../io/index.js';
import { integerFlag } from './shared-flags.js';
import { addModelOptions, type ModelCliOptions } from './shared-model.js';
import {
  addLongInputOptions,
  addRowCommandOptions,
  longInputsFrom,
  rowInputs,
  runPipelineCommand,
  type BatchingCliOptions,
  type PipelineRowTask,
} from './shared-rows.js';

export interface ClassifyCliOptions extends RowsCliOptions, BatchingCliOptions, ModelCliOptions {
  topK?: string;
  function?: ClassificationFunction;
  logits?: boolean;
}

export function register(program: Command): void {
  const command = program
    .command('classify')
    .description(
      'classify texts (or text pairs) with a sequence-classification model; one {label, score} row per input',
    )
    .argument('[texts...]', 'texts to classify (instead of --input)');
  addModelOptions(command, {
    defaultsToDemo: true,
    needs: 'sequence-classification model',
    checksHead: true,
  });
  addRowCommandOptions(command);
  addLongInputOptions(command);
  command
    .option('--top-k <n>', 'the best N labels (or "all"), as lists in label and score, best first')
    .addOption(
      new Option(
        '--function <fn>',
        'score function (default as transformers: sigmoid for multi-label or one label, else softmax)',
      ).choices(['softmax', 'sigmoid', 'none']),
    )
    .option('--logits', 'add the raw logits (label-id order) to each row')
    .action(async (texts: string[], options: ClassifyCliOptions) => {
      await runClassify(texts, options);
    });
}

/** --top-k: a positive whole number, or "all" (null: every label). Undefined: the best label alone. */
export function topKFlag(value: string | undefined): number | null | undefined {
  if (value === undefined) return undefined;
  if (value.trim().toLowerCase() === 'all') return null;
  return integerFlag(value, '--top-k');
}

/**
 * One output record from a pipeline result: scalars for the best label, parallel lists with --top-k, and the
 * logits (label-id order) with --logits.
 */
function classificationRecord(result: TextClassificationResult): OutputRecord {
  if (Array.isArray(result)) {
    return { label: result.map((r) => r.label), score: result.map((r) => r.score) };
  }
  if ('labels' in result) return { ...classificationRecord(result.labels), logits: result.logits };
  const record: OutputRecord = { label: result.label, score: result.score };
  if ('logits' in result) record.logits = result.logits;
  return record;
}

/**
 * What classify does with a model: the pipeline it opens and the records of some rows under these flags (shared
 * by the local command and `seqbatch jobs worker`, so a queued chunk gives the local command's rows).
 */
export function classifyRowTask(options: ClassifyCliOptions): PipelineRowTask<TextClassificationPipeline> {
  const topK = topKFlag(options.topK);
  const callOptions: TextClassificationOptions = { ...longInputsFrom(options) };
  if (options.function !== undefined) callOptions.functionToApply = options.function;
  if (topK !== undefined) callOptions.topK = topK;
  if (options.logits) callOptions.returnLogits = true;
  return {
    open: (dir, load) => pipeline('text-classification', dir, load),
    recordsOf: (classifier) => async (rows) => {
      const results = await classifier.run(rowInputs(rows), callOptions);
      return results.map(classificationRecord);
    },
  };
}

/** The command's work, with injectable streams (tests). Resolves with the rows skipped and written. */
export async function runClassify(
  texts: readonly string[],
  options: ClassifyCliOptions,
  io: RowsCommandIO = {},
): Promise<RowsCommandSummary> {
  const task = classifyRowTask(options);
  return runPipelineCommand(texts, options, task.open, task.recordsOf, io);
}
