/**
 * `seqbatch fill-mask`: the best tokens for the mask token(s) of each text with a masked-LM model. Each row holds
 * parallel lists `token_str`, `score`, `token` and `sequence`, best first (one list per mask, in text order, when a
 * text has several masks).
 */
import type { Command } from 'commander';
import {
  pipeline,
  type FillMaskOptions,
  type FillMaskPipeline,
  type FillMaskPrediction,
} from '../../pipelines/index.js';
import type { OutputRecord, RowsCliOptions, RowsCommandIO, RowsCommandSummary } from '../io/index.js';
import { integerFlag, listFlag } from './shared-flags.js';
import { addModelOptions, type ModelCliOptions } from './shared-model.js';
import {
  addRowCommandOptions,
  refusePairColumn,
  runPipelineCommand,
  type BatchingCliOptions,
  type PipelineRowTask,
} from './shared-rows.js';

export interface FillMaskCliOptions extends RowsCliOptions, BatchingCliOptions, ModelCliOptions {
  topK?: string;
  targets?: string;
}

export function register(program: Command): void {
  const command = program
    .command('fill-mask')
    .description("predict the tokenizer's mask token ([MASK], <mask>) in each text with a masked-LM model")
    .argument('[texts...]', 'texts holding the mask token (instead of --input)');
  addModelOptions(command, { defaultsToDemo: false, needs: 'masked-LM model', checksHead: true });
  addRowCommandOptions(command);
  command
    .option('--top-k <n>', 'predictions per mask', '5')
    .option('--targets <words>', 'comma-separated words: score only these')
    .option('--truncation', 'cut texts longer than the model instead of failing')
    .action(async (texts: string[], options: FillMaskCliOptions) => {
      await runFillMask(texts, options);
    });
}

function predictionLists(predictions: FillMaskPrediction[]) {
  return {
    token_str: predictions.map((p) => p.token_str),
    score: predictions.map((p) => p.score),
    token: predictions.map((p) => p.token),
    sequence: predictions.map((p) => p.sequence),
  };
}

function fillMaskRecord(result: FillMaskPrediction[] | FillMaskPrediction[][]): OutputRecord {
  if (result.length > 0 && Array.isArray(result[0])) {
    const perMask = (result as FillMaskPrediction[][]).map(predictionLists);
    return {
      token_str: perMask.map((m) => m.token_str),
      score: perMask.map((m) => m.score),
      token: perMask.map((m) => m.token),
      sequence: perMask.map((m) => m.sequence),
    };
  }
  return predictionLists(result as FillMaskPrediction[]);
}

/**
 * What fill-mask does with a model under these flags (shared by the local command and `seqbatch jobs worker`);
 * warnings (a target that is not one token) go to `stderr`.
 */
export function fillMaskRowTask(
  options: FillMaskCliOptions,
  stderr: Pick<NodeJS.WritableStream, 'write'> = process.stderr,
): PipelineRowTask<FillMaskPipeline> {
  const callOptions: FillMaskOptions = {
    topK: integerFlag(options.topK, '--top-k'),
    onWarning: (message) => stderr.write(`seqbatch: warning: ${message}\n`),
  };
  const targets = listFlag(options.targets, '--targets');
  if (targets !== undefined) callOptions.targets = targets;
  if (options.truncation) callOptions.truncation = true;
  return {
    open: (dir, load) => pipeline('fill-mask', dir, load),
    recordsOf: (filler) => async (rows) => {
      const results = await filler.run(
        rows.map((row) => row.text),
        callOptions,
      );
      return results.map(fillMaskRecord);
    },
  };
}

export async function runFillMask(
  texts: readonly string[],
  options: FillMaskCliOptions,
  io: RowsCommandIO = {},
): Promise<RowsCommandSummary> {
  refusePairColumn(options, 'fill-mask');
  const task = fillMaskRowTask(options, io.stderr ?? process.stderr);
  return runPipelineCommand(texts, options, task.open, task.recordsOf, io);
}
