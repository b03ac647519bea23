/**
 * `seqbatch similarity [TEXT...] --against FILE`: the similarity matrix of two lists of texts, one
 * `{"similarity": [...]}` row per text of the first list (its similarity to every text of `--against`, in that
 * file's order), with the model's similarity function (sentence-transformers' `similarity_fn_name`) unless
 * `--function` says otherwise. The second list is embedded once; the first streams like any row command
 * (progress, --resume).
 */
import { Option, type Command } from 'commander';
import { InputError } from '../../errors.js';
import {
  SIMILARITY_FUNCTIONS,
  pipeline,
  type FeatureExtractionPipeline,
  type SimilarityFunctionName,
} from '../../pipelines/index.js';
import { shortestFloat32Values } from '../../util/float32-json.js';
import {
  readInputRows,
  type RowsCliOptions,
  type RowsCommandIO,
  type RowsCommandSummary,
} from '../io/index.js';
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

export interface SimilarityCliOptions extends RowsCliOptions, BatchingCliOptions, ModelCliOptions {
  against?: string;
  againstColumn?: string;
  function?: SimilarityFunctionName;
  promptName?: string;
  againstPromptName?: string;
}

export function register(program: Command): void {
  const command = program
    .command('similarity')
    .description('similarity of each text to every text of --against; one {similarity: [...]} row per text')
    .argument('[texts...]', 'the first list (instead of --input)')
    .requiredOption('--against <file>', 'the second list: a .txt, .jsonl, .csv or .tsv file');
  addModelOptions(command, { defaultsToDemo: true, needs: 'encoder checkpoint' });
  addRowCommandOptions(command);
  addLongInputOptions(command, false);
  command
    .option('--against-column <name>', 'column or field of the --against file holding the text')
    .addOption(
      new Option(
        '--function <fn>',
        "similarity function (default: the model's similarity_fn_name, else cosine)",
      ).choices(SIMILARITY_FUNCTIONS),
    )
    .option(
      '--prompt-name <name>',
      "prompt for the first list's texts (one of the folder's prompts, e.g. query)",
    )
    .option('--against-prompt-name <name>', 'prompt for the --against texts (e.g. document)')
    .action(async (texts: string[], options: SimilarityCliOptions) => {
      await runSimilarity(texts, options);
    });
}

async function embedAgainst(
  embedder: FeatureExtractionPipeline,
  options: SimilarityCliOptions,
): Promise<number[][]> {
  const texts: string[] = [];
  for await (const row of readInputRows({ file: options.against, column: options.againstColumn }))
    texts.push(row.text);
  if (texts.length === 0) {
    throw new InputError(`--against: ${options.against} holds no texts`, { argument: '--against' });
  }
  return (await embedder.run(texts, {
    ...longInputsFrom(options),
    ...(options.againstPromptName === undefined ? {} : { promptName: options.againstPromptName }),
    pooling: embedder.sentenceTransformers === null ? 'mean' : undefined,
  })) as number[][];
}

/**
 * What similarity does with a model under these flags (shared by the local command and `seqbatch jobs worker`):
 * the --against texts are embedded once per `recordsOf`, on its first call.
 */
export function similarityRowTask(options: SimilarityCliOptions): PipelineRowTask<FeatureExtractionPipeline> {
  if (options.against === undefined) {
    throw new InputError('--against: the second list of texts is required', { argument: '--against' });
  }
  return {
    open: (dir, load) => pipeline('feature-extraction', dir, load),
    recordsOf: (embedder) => {
      let against: Promise<number[][]> | undefined;
      const fn = options.function ?? embedder.similarityFnName;
      return async (rows) => {
        against ??= embedAgainst(embedder, options);
        const vectors = (await embedder.run(rowInputs(rows), {
          ...longInputsFrom(options),
          ...(options.promptName === undefined ? {} : { promptName: options.promptName }),
          pooling: embedder.sentenceTransformers === null ? 'mean' : undefined,
        })) as number[][];
        // The call on no rows (the options check) reads and embeds --against, so its errors come first too.
        const others = await against;
        if (rows.length === 0) return [];
        const matrix = embedder.similarity(vectors, others, fn);
        return matrix.map((row) => ({ similarity: shortestFloat32Values(row) }));
      };
    },
  };
}

export async function runSimilarity(
  texts: readonly string[],
  options: SimilarityCliOptions,
  io: RowsCommandIO = {},
): Promise<RowsCommandSummary> {
  const task = similarityRowTask(options);
  return runPipelineCommand(texts, options, task.open, task.recordsOf, io);
}
