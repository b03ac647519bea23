/**
 * `seqbatch embed`: one vector per text with the feature-extraction pipeline. The pooling is the folder's
 * sentence-transformers pooling when it has one, else `--pooling` (default mean over the real tokens).
 */
import { Option, type Command } from 'commander';
import { pipeline, type FeatureExtractionOptions, type Pooling } from '../../pipelines/index.js';
import { shortestFloat32Values } from '../../util/float32-json.js';
import type { RowsCliOptions, RowsCommandIO, RowsCommandSummary } from '../io/index.js';
import { addModelOptions, type ModelCliOptions } from './shared-model.js';
import {
  addLongInputOptions,
  addRowCommandOptions,
  longInputsFrom,
  rowInputs,
  runPipelineCommand,
  type BatchingCliOptions,
} from './shared-rows.js';

export interface EmbedCliOptions extends RowsCliOptions, BatchingCliOptions, ModelCliOptions {
  pooling?: Pooling;
  normalize?: boolean;
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
      ).choices(['none', 'cls', 'mean', 'max', 'mean_sqrt_len']),
    )
    .option(
      '--normalize',
      'L2-normalise each vector (default: as the sentence-transformers folder says, else off)',
    )
    .option('--no-normalize', 'do not L2-normalise, even when the folder says to')
    .action(async (texts: string[], options: EmbedCliOptions) => {
      await runEmbed(texts, options);
    });
}

export async function runEmbed(
  texts: readonly string[],
  options: EmbedCliOptions,
  io: RowsCommandIO = {},
): Promise<RowsCommandSummary> {
  return runPipelineCommand(
    texts,
    options,
    (dir, load) => pipeline('feature-extraction', dir, load),
    (embedder) => {
      const callOptions: FeatureExtractionOptions = { ...longInputsFrom(options) };
      // A plain checkpoint has no pooling of its own: a sentence vector (mean) is what an embed command is for.
      callOptions.pooling = options.pooling ?? (embedder.sentenceTransformers === null ? 'mean' : undefined);
      if (options.normalize !== undefined) callOptions.normalize = options.normalize;
      return async (rows) => {
        const vectors = await embedder.run(rowInputs(rows), callOptions);
        // The values are float32 from the model: the shortest decimal of each float32 reads back exactly.
        return vectors.map((embedding) => ({ embedding: shortestFloat32Values(embedding) }));
      };
    },
    io,
  );
}
