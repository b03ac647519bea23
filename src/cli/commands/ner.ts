/**
 * `seqbatch ner`: named entities (token classification) of each text. Entities are grouped (`--aggregation
 * simple`) unless asked otherwise; offsets are [start, end) in UTF-16 code units of the text.
 */
import { Option, type Command } from 'commander';
import {
  pipeline,
  type AggregationStrategy,
  type TokenClassificationOptions,
  type TokenClassificationPipeline,
} from '../../pipelines/index.js';
import type { RowsCliOptions, RowsCommandIO, RowsCommandSummary } from '../io/index.js';
import { integerFlag, listFlag } from './shared-flags.js';
import { addModelOptions, type ModelCliOptions } from './shared-model.js';
import {
  addRowCommandOptions,
  refusePairColumn,
  runPipelineCommand,
  type BatchingCliOptions,
  type PipelineRowTask,
} from './shared-rows.js';

export interface NerCliOptions extends RowsCliOptions, BatchingCliOptions, ModelCliOptions {
  aggregation?: AggregationStrategy;
  ignoreLabels?: string;
}

export function register(program: Command): void {
  const command = program
    .command('ner')
    .description('tag entities with a token-classification model; one {entities} row per input')
    .argument('[texts...]', 'texts to tag (instead of --input)');
  addModelOptions(command, { defaultsToDemo: false, needs: 'token-classification model', checksHead: true });
  addRowCommandOptions(command);
  command
    .addOption(
      new Option(
        '--aggregation <strategy>',
        'none: one entry per token; simple: neighbouring tokens with one tag join; first/average/max: whole words first',
      )
        .choices(['none', 'simple', 'first', 'average', 'max'])
        .default('simple'),
    )
    .option('--ignore-labels <labels>', 'comma-separated labels left out (default: O)')
    .option(
      '--stride <n>',
      'long texts: overlapping windows sharing N tokens instead of truncation (needs an aggregation)',
    )
    .action(async (texts: string[], options: NerCliOptions) => {
      await runNer(texts, options);
    });
}

export async function runNer(
  texts: readonly string[],
  options: NerCliOptions,
  io: RowsCommandIO = {},
): Promise<RowsCommandSummary> {
  refusePairColumn(options, 'ner');
  const task = nerRowTask(options);
  return runPipelineCommand(texts, options, task.open, task.recordsOf, io);
}

/**
 * What ner does with a model: the pipeline it opens and the records of some rows under these flags (shared by the
 * local command and `seqbatch jobs worker`).
 */
export function nerRowTask(options: NerCliOptions): PipelineRowTask<TokenClassificationPipeline> {
  const callOptions: TokenClassificationOptions = {
    aggregationStrategy: options.aggregation ?? 'simple',
  };
  const ignore = listFlag(options.ignoreLabels, '--ignore-labels');
  if (ignore !== undefined) callOptions.ignoreLabels = ignore;
  const stride = integerFlag(options.stride, '--stride', 0);
  if (stride !== undefined) callOptions.stride = stride;
  return {
    open: (dir, load) => pipeline('token-classification', dir, load),
    recordsOf: (tagger) => async (rows) => {
      const results = await tagger.run(
        rows.map((row) => row.text),
        callOptions,
      );
      return results.map((entities) => ({ entities }));
    },
  };
}
