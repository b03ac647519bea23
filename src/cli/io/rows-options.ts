/**
 * The input/output options every row-oriented command shares, added to a commander command in one call, and their
 * conversion into validated RowsCommandOptions.
 */
import { Option, type Command } from 'commander';
import { InputError } from '../../errors.js';
import { INPUT_FORMATS, type InputFormat } from './input-row.js';
import { OUTPUT_FORMATS, type OutputFormat } from './output-format.js';
import type { RowsCommandOptions } from './run-rows-command.js';

export const DEFAULT_BATCH_SIZE = 32;

/** What commander hands the action for the options added by addRowsOptions. */
export interface RowsCliOptions {
  input?: string;
  inputFormat?: string;
  column?: string;
  pairColumn?: string;
  quote?: string;
  output?: string;
  format?: string;
  resume?: boolean;
  fsync?: boolean;
  batchSize?: string;
  progress?: boolean;
}

/** Adds -i/--input, --input-format, --column, --pair-column, --quote, -o/--output, --format, --resume, --fsync,
 * --batch-size and --no-progress. The command declares its own positional `[texts...]`. */
export function addRowsOptions(command: Command): Command {
  return command
    .option('-i, --input <file>', 'read rows from a .txt, .jsonl, .csv or .tsv file ("-" for stdin)')
    .addOption(
      new Option(
        '--input-format <format>',
        'input format (default: from the file extension; txt for stdin)',
      ).choices(INPUT_FORMATS),
    )
    .option(
      '--column <name>',
      'CSV/TSV column or JSONL field holding the text (default: text, sentence, sentence1, or the first)',
    )
    .option(
      '--pair-column <name>',
      'column or field holding the second text of a pair (default: text_pair, if present)',
    )
    .option('--quote <char>', 'CSV/TSV quote character, or "none" when quotes are ordinary text', '"')
    .option('-o, --output <file>', 'write results to this file instead of stdout')
    .addOption(
      new Option(
        '--format <format>',
        'output format (default: csv for a .csv output file, else jsonl)',
      ).choices(OUTPUT_FORMATS),
    )
    .option(
      '--resume',
      'continue an interrupted run: keep the complete rows in --output and process only the rest',
    )
    .option('--fsync', 'sync the output file to disk after every batch')
    .option('--batch-size <n>', 'rows handed to the model at a time', String(DEFAULT_BATCH_SIZE))
    .option('--no-progress', 'never draw the progress bar (it is drawn only when stderr is a terminal)');
}

/** Validates the parsed options; positional texts (if any) become the input. */
export function rowsOptionsFrom(texts: readonly string[], options: RowsCliOptions): RowsCommandOptions {
  const batchSize = Number(options.batchSize ?? DEFAULT_BATCH_SIZE);
  if (!Number.isInteger(batchSize) || batchSize < 1) {
    throw new InputError(`--batch-size: expected a positive integer, got "${options.batchSize}"`, {
      argument: '--batch-size',
    });
  }
  const quote = options.quote ?? '"';
  if (quote !== 'none' && quote.length !== 1) {
    throw new InputError(`--quote: expected one character or "none", got "${quote}"`, {
      argument: '--quote',
    });
  }
  if (options.resume && options.output === undefined) {
    throw new InputError('--resume needs --output FILE (it continues that file)', { argument: '--resume' });
  }
  return {
    input: {
      texts: texts.length > 0 ? [...texts] : undefined,
      file: options.input,
      format: options.inputFormat as InputFormat | undefined,
      column: options.column,
      pairColumn: options.pairColumn,
      quote: quote === 'none' ? null : quote,
    },
    output: {
      file: options.output,
      format: options.format as OutputFormat | undefined,
      resume: options.resume ?? false,
      fsync: options.fsync ?? false,
    },
    batchSize,
    progress: options.progress === false ? false : 'auto',
  };
}
