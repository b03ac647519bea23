/**
 * `seqbatch rerank --query TEXT [DOC...]`: a cross-encoder scores every document against the query and the
 * documents come out in rank order, one `{"index", "score"}` row each (`index` = the document's position in the
 * input), as `CrossEncoder.rank` gives them. Ranking needs every score first, so the rows are written at the end
 * (progress is shown while they are scored) and there is nothing to resume.
 */
import type { Command } from 'commander';
import { InputError } from '../../errors.js';
import { pipeline, type RankOptions } from '../../pipelines/index.js';
import {
  createRowProgress,
  openRowWriter,
  readInputRows,
  rowsOptionsFrom,
  type InputRow,
  type RowsCliOptions,
  type RowsCommandIO,
  type RowsCommandSummary,
} from '../io/index.js';
import { asFlagError, integerFlag } from './shared-flags.js';
import { addModelOptions, resolveModelFlags, type ModelCliOptions } from './shared-model.js';
import { addRowCommandOptions, batchingFrom, rowError, type BatchingCliOptions } from './shared-rows.js';

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

export async function runRerank(
  documents: readonly string[],
  options: RerankCliOptions,
  io: RowsCommandIO = {},
): Promise<RowsCommandSummary> {
  if (options.query === undefined) {
    throw new InputError('--query: the query to rank the documents against is required', {
      argument: '--query',
    });
  }
  if (options.resume) {
    throw new InputError(
      '--resume: rerank writes its rows in rank order once every document is scored, so there is nothing to resume',
      { argument: '--resume' },
    );
  }
  const rowsOptions = rowsOptionsFrom(documents, options);
  const rankOptions: RankOptions = {
    ...batchingFrom(options),
    topK: integerFlag(options.topK, '--top-k') ?? null,
    returnDocuments: options.returnDocuments === true,
  };
  if (options.rawScores) rankOptions.activation = 'identity';
  if (options.onlySecond) rankOptions.truncation = 'only_second';
  const maxLength = integerFlag(options.maxLength, '--max-length');
  if (maxLength !== undefined) rankOptions.maxLength = maxLength;

  const model = await resolveModelFlags(options);
  const ranker = await pipeline('text-ranking', model.dir, model.load);
  try {
    await ranker.rank(options.query, [], rankOptions).catch((error: unknown) => {
      throw asFlagError(error, [
        'topK',
        'maxLength',
        'truncation',
        'activation',
        'batchSize',
        'maxBatchTokens',
      ]);
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
    let ranked;
    try {
      ranked = await ranker.rank(
        options.query,
        rows.map((row) => row.text),
        { ...rankOptions, onProgress: (stats) => progress.update(stats.sequences) },
      );
    } catch (error) {
      throw rowError(error, rows, documents, options.input);
    } finally {
      progress.stop();
    }
    const writer = await openRowWriter({
      ...rowsOptions.output,
      stdout: io.stdout ?? rowsOptions.output.stdout,
    });
    try {
      // Each output row goes with the input row it ranks (rerank is never resumed, so their order is free).
      await writer.write(
        ranked.map((r) => ({ ...r })),
        ranked.map((r) => rows[r.index]!),
      );
    } finally {
      await writer.close();
    }
    return { skipped: 0, written: ranked.length };
  } finally {
    await ranker.dispose();
  }
}
