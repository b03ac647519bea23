/**
 * `seqbatch rerank --query TEXT [DOC...]`: a cross-encoder scores every document against the query and the
 * documents come out in rank order, one `{"index", "score"}` row each (`index` = the document's position in the
 * input), as `CrossEncoder.rank` gives them. Ranking needs every score first, so the rows are written at the end
 * (progress is shown while they are scored) and there is nothing to resume. A `seqbatch jobs` rerank job scores
 * its chunks in workers and ranks them in `collect`, with the same code.
 */
import type { Command } from 'commander';
import { InputError } from '../../errors.js';
import { pipeline, type RankOptions, type TextRankingPipeline } from '../../pipelines/index.js';
import type { RankOrder } from '../../pipelines/rank-order.js';
import {
  createRowProgress,
  openRowWriter,
  readInputRows,
  writeRanked,
  rowsOptionsFrom,
  type InputRow,
  type OutputRecord,
  type RowsCliOptions,
  type RowsCommandIO,
  type RowsCommandSummary,
} from '../io/index.js';
import { integerFlag } from './shared-flags.js';
import { addModelOptions, resolveModelFlags, type ModelCliOptions } from './shared-model.js';
import {
  addRowCommandOptions,
  batchingFrom,
  BATCHES_PER_CHUNK,
  rowError,
  type BatchingCliOptions,
  type PipelineRowTask,
} from './shared-rows.js';

export interface RerankCliOptions extends RowsCliOptions, BatchingCliOptions, ModelCliOptions {
  query?: string;
  topK?: string;
  returnDocuments?: boolean;
  rawScores?: boolean;
  onlySecond?: boolean;
}

export function register(program: Command): void {
  const command = program
    .command('rerank')
    .description(
      'rank documents against a query with a cross-encoder; one {index, score} row per document, best first',
    )
    .argument('[documents...]', 'documents to rank (instead of --input)')
    .requiredOption('-q, --query <text>', 'the query every document is scored against');
  addModelOptions(command, { defaultsToDemo: false, needs: 'cross-encoder checkpoint' });
  addRowCommandOptions(command);
  command
    .option('--top-k <n>', 'keep the best N documents (default: all)')
    .option('--return-documents', 'add each document\'s text to its row ("text")')
    .option('--raw-scores', "the model's raw logits, without its activation (sigmoid for most rerankers)")
    .option('--only-second', 'never cut the query: long pairs lose tokens from the document only')
    .option('--max-length <n>', 'tokens per pair, special tokens included (default: the model maximum)')
    .action(async (documents: string[], options: RerankCliOptions) => {
      await runRerank(documents, options);
    });
}

/** How rerank orders its rows once every document is scored: `--top-k` and `--return-documents`. */
export function rerankOrder(options: RerankCliOptions): RankOrder {
  return {
    topK: integerFlag(options.topK, '--top-k') ?? null,
    returnDocuments: options.returnDocuments === true,
  };
}

/**
 * What rerank does with a model: the pipeline, and each document's score against the query (one `{score}` record
 * per row, in row order), shared by the local command and `seqbatch jobs worker`. The ranking (rankDocuments)
 * comes once every document is scored: at the end of the local command, and in `seqbatch jobs collect`.
 */
export function rerankRowTask(options: RerankCliOptions): PipelineRowTask<TextRankingPipeline> {
  rerankOrder(options); // checks --top-k
  const scoring: RankOptions = { topK: null };
  if (options.rawScores) scoring.activation = 'identity';
  if (options.onlySecond) scoring.truncation = 'only_second';
  const maxLength = integerFlag(options.maxLength, '--max-length');
  if (maxLength !== undefined) scoring.maxLength = maxLength;
  return {
    open: (dir, load) => pipeline('text-ranking', dir, load),
    recordsOf: (ranker) => async (rows) => {
      const ranked = await ranker.rank(
        queryFlag(options),
        rows.map((row) => row.text),
        scoring,
      );
      const records: OutputRecord[] = new Array<OutputRecord>(rows.length);
      for (const { index, score } of ranked) records[index] = { score };
      return records;
    },
  };
}

function queryFlag(options: RerankCliOptions): string {
  if (options.query === undefined) {
    throw new InputError('--query: the query to rank the documents against is required', {
      argument: '--query',
    });
  }
  return options.query;
}

/**
 * Scores every document in groups of batch-size × 4 rows counted from the first (the groups every row command and
 * a job's chunks hand the pipeline, so a rerank job gives the same scores), then writes the rows in rank order.
 */
export async function runRerank(
  documents: readonly string[],
  options: RerankCliOptions,
  io: RowsCommandIO = {},
): Promise<RowsCommandSummary> {
  queryFlag(options);
  if (options.resume) {
    throw new InputError(
      '--resume: rerank writes its rows in rank order once every document is scored, so there is nothing to resume',
      { argument: '--resume' },
    );
  }
  const rowsOptions = rowsOptionsFrom(documents, options);
  const task = rerankRowTask(options);
  const model = await resolveModelFlags(options);
  const ranker = await task.open(model.dir, { ...model.load, ...batchingFrom(options) });
  try {
    const scoresOf = task.recordsOf(ranker);
    await scoresOf([]).catch((error: unknown) => {
      throw rowError(error, [], documents, options.input);
    });
    const rows: InputRow[] = [];
    for await (const row of readInputRows({
      ...rowsOptions.input,
      stdin: io.stdin ?? rowsOptions.input.stdin,
    })) {
      rows.push(row);
    }
    const progress = createRowProgress({ enabled: rowsOptions.progress, stream: io.stderr });
    progress.setTotal(rows.length);
    const scores: number[] = [];
    try {
      const group = rowsOptions.batchSize * BATCHES_PER_CHUNK;
      for (let start = 0; start < rows.length; start += group) {
        const part = rows.slice(start, start + group);
        try {
          for (const record of await scoresOf(part)) scores.push(record.score as number);
        } catch (error) {
          throw rowError(error, part, documents, options.input);
        }
        progress.update(scores.length);
      }
    } finally {
      progress.stop();
    }
    const writer = await openRowWriter({
      ...rowsOptions.output,
      stdout: io.stdout ?? rowsOptions.output.stdout,
    });
    try {
      // Each output row goes with the input row it ranks (rerank is never resumed, so their order is free).
      return { skipped: 0, written: await writeRanked(writer, rows, scores, rerankOrder(options)) };
    } finally {
      await writer.close();
    }
  } finally {
    await ranker.dispose();
  }
}
