/**
 * `seqbatch embed`: one vector per text with the feature-extraction pipeline. A sentence-transformers folder runs
 * as `SentenceTransformer.encode` runs it (prompts, modules, `--dimensions`, `--precision`); any other folder is
 * pooled with `--pooling` (default mean over the real tokens).
 */
import { Option, type Command } from 'commander';
import { InputError } from '../../errors.js';
import {
  POOLING_MODES,
  PRECISIONS,
  pipeline,
  type FeatureExtractionOptions,
  type FeatureExtractionPipeline,
  type Pooling,
  type Precision,
} from '../../pipelines/index.js';
import { shortestFloat32Values } from '../../util/float32-json.js';
import type { RowsCliOptions, RowsCommandIO, RowsCommandSummary } from '../io/index.js';
import { readCalibrationFile } from './calibration-file.js';
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

export interface EmbedCliOptions extends RowsCliOptions, BatchingCliOptions, ModelCliOptions {
  pooling?: Pooling;
  normalize?: boolean;
  promptName?: string;
  prompt?: string;
  dimensions?: string;
  precision?: Precision;
  calibration?: string;
}

export function register(program: Command): void {
  const command = program
    .command('embed')
    .description('embed texts with an encoder; one {embedding} row per input')
    .argument('[texts...]', 'texts to embed (instead of --input)');
  addModelOptions(command, { defaultsToDemo: true, needs: 'encoder checkpoint' });
  addRowCommandOptions(command);
  addLongInputOptions(command);
  command
    .addOption(
      new Option(
        '--pooling <mode>',
        "how token vectors become one (default: the folder's sentence-transformers pooling, else mean); none: one vector per token",
      ).choices(['none', ...POOLING_MODES]),
    )
    .option(
      '--normalize',
      'L2-normalise each final vector, after --dimensions (default: only the folder’s Normalize module, if any)',
    )
    .option('--no-normalize', 'no normalisation at all, not even the folder’s Normalize module')
    .option(
      '--prompt-name <name>',
      "one of the folder's prompts (config_sentence_transformers.json), e.g. query",
    )
    .option('--prompt <text>', 'a prompt put in front of every text (wins over --prompt-name; "" for none)')
    .option('--dimensions <n>', 'keep the first N dimensions (Matryoshka); add --normalize for unit vectors')
    .addOption(
      new Option('--precision <p>', 'output precision, as sentence-transformers quantize_embeddings').choices(
        PRECISIONS,
      ),
    )
    .option(
      '--calibration <file>',
      'int8/uint8 ranges: JSON {"min":[...],"max":[...]} or JSONL float embeddings (default: the ranges of this run)',
    )
    .action(async (texts: string[], options: EmbedCliOptions) => {
      await runEmbed(texts, options);
    });
}

/** The API options the embed flags ask for (the flags checked, the calibration file read). */
function embedOptions(options: EmbedCliOptions): FeatureExtractionOptions {
  const call: FeatureExtractionOptions = { ...longInputsFrom(options) };
  if (options.normalize !== undefined) call.normalize = options.normalize;
  if (options.promptName !== undefined) call.promptName = options.promptName;
  if (options.prompt !== undefined) call.prompt = options.prompt;
  const dimensions = integerFlag(options.dimensions, '--dimensions');
  if (dimensions !== undefined) call.truncateDim = dimensions;
  if (options.precision !== undefined) call.precision = options.precision;
  if (options.calibration !== undefined) {
    if (options.precision !== 'int8' && options.precision !== 'uint8') {
      throw new InputError('--calibration: only --precision int8 or uint8 uses calibration ranges', {
        argument: '--calibration',
      });
    }
    call.calibration = readCalibrationFile(options.calibration);
  }
  return call;
}

/** Whether these flags quantize with ranges taken from the whole run (every row must be in one call). */
export function embedNeedsWholeInput(options: EmbedCliOptions): boolean {
  return (options.precision === 'int8' || options.precision === 'uint8') && options.calibration === undefined;
}

/**
 * What embed does with a model: the pipeline it opens and the records of some rows under these flags (shared by
 * the local command and `seqbatch jobs worker`).
 */
export function embedRowTask(options: EmbedCliOptions): PipelineRowTask<FeatureExtractionPipeline> {
  const callOptions = embedOptions(options);
  return {
    open: (dir, load) => pipeline('feature-extraction', dir, load),
    recordsOf: (embedder) => {
      // A plain checkpoint has no pooling of its own: a sentence vector (mean) is what an embed command is for.
      const pooling = options.pooling ?? (embedder.sentenceTransformers === null ? 'mean' : undefined);
      const call: FeatureExtractionOptions = { ...callOptions, pooling };
      const quantized = call.precision !== undefined && call.precision !== 'float32';
      return async (rows) => {
        const vectors = await embedder.run(rowInputs(rows), call);
        // Float values are float32 from the model: the shortest decimal of each float32 reads back exactly.
        return vectors.map((embedding) => ({
          embedding: quantized ? embedding : shortestFloat32Values(embedding),
        }));
      };
    },
  };
}

export async function runEmbed(
  texts: readonly string[],
  options: EmbedCliOptions,
  io: RowsCommandIO = {},
): Promise<RowsCommandSummary> {
  const task = embedRowTask(options);
  // int8 / uint8 without calibration take their ranges from every embedding of the run, as Python's
  // quantize_embeddings does: the whole input is one call, held in memory and written at the end.
  const wholeInput = embedNeedsWholeInput(options);
  if (wholeInput) {
    if (options.resume) {
      throw new InputError(
        `--resume: --precision ${options.precision} without --calibration quantizes the whole input at once, so a ` +
          'partial output cannot be continued; pass --calibration FILE to quantize row by row',
        { argument: '--resume' },
      );
    }
    (io.stderr ?? process.stderr).write(
      `seqbatch: --precision ${options.precision} takes its ranges from all the embeddings of this run, so every ` +
        'vector is held in memory and written at the end; pass --calibration FILE to stream\n',
    );
  }
  return runPipelineCommand(texts, options, task.open, task.recordsOf, io, { wholeInput });
}
