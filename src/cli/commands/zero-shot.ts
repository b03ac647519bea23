/**
 * `seqbatch zero-shot`: scores each text against `--labels` with an NLI model (each label becomes the hypothesis
 * "This example is {label}."). Each row holds parallel lists `label` and `score`, best first.
 */
import type { Command } from 'commander';
import {
  pipeline,
  type ZeroShotClassificationPipeline,
  type ZeroShotOptions,
} from '../../pipelines/index.js';
import type { RowsCliOptions, RowsCommandIO, RowsCommandSummary } from '../io/index.js';
import { listFlag } from './shared-flags.js';
import { addModelOptions, type ModelCliOptions } from './shared-model.js';
import {
  addRowCommandOptions,
  refusePairColumn,
  runPipelineCommand,
  type BatchingCliOptions,
  type PipelineRowTask,
} from './shared-rows.js';

export interface ZeroShotCliOptions extends RowsCliOptions, BatchingCliOptions, ModelCliOptions {
  labels: string;
  multiLabel?: boolean;
  hypothesisTemplate?: string;
}

export function register(program: Command): void {
  const command = program
    .command('zero-shot')
    .description(
      'classify texts into labels chosen at run time with an NLI model; one {label, score} row per input',
    )
    .argument('[texts...]', 'texts to classify (instead of --input)');
  addModelOptions(command, {
    defaultsToDemo: false,
    needs: 'NLI sequence-classification model',
    checksHead: true,
  });
  addRowCommandOptions(command);
  command
    .requiredOption('--labels <labels>', 'comma-separated candidate labels')
    .option('--multi-label', 'score each label on its own (entailment vs contradiction)')
    .option('--hypothesis-template <template>', '{} is replaced by each label', 'This example is {}.')
    .action(async (texts: string[], options: ZeroShotCliOptions) => {
      await runZeroShot(texts, options);
    });
}

/** What zero-shot does with a model under these flags (shared by the local command and `seqbatch jobs worker`). */
export function zeroShotRowTask(
  options: ZeroShotCliOptions,
): PipelineRowTask<ZeroShotClassificationPipeline> {
  const callOptions: ZeroShotOptions = {
    candidateLabels: listFlag(options.labels, '--labels'),
    multiLabel: options.multiLabel ?? false,
  };
  if (options.hypothesisTemplate !== undefined) callOptions.hypothesisTemplate = options.hypothesisTemplate;
  return {
    open: (dir, load) => pipeline('zero-shot-classification', dir, load),
    recordsOf: (classifier) => async (rows) => {
      const results = await classifier.run(
        rows.map((row) => row.text),
        callOptions,
      );
      return results.map((r) => ({ label: r.labels, score: r.scores }));
    },
  };
}

export async function runZeroShot(
  texts: readonly string[],
  options: ZeroShotCliOptions,
  io: RowsCommandIO = {},
): Promise<RowsCommandSummary> {
  refusePairColumn(options, 'zero-shot');
  const task = zeroShotRowTask(options);
  return runPipelineCommand(texts, options, task.open, task.recordsOf, io);
}
