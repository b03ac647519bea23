/**
 * Texts for the commands that take a plain list of them (bench, viz) rather than rows with results: positional
 * texts, or a .txt/.jsonl/.csv/.tsv file (or stdin) read through src/cli/io.
 */
import type { Readable } from 'node:stream';
import type { Command } from 'commander';
import { readInputRows, type InputFormat } from '../io/index.js';

/** What commander hands the action for the options added by addTextInputOptions. */
export interface TextInputCliOptions {
  input?: string;
  inputFormat?: string;
  column?: string;
}

/** `-i/--input`, `--input-format`, `--column`. */
export function addTextInputOptions(command: Command): Command {
  return command
    .option('-i, --input <file>', 'read texts from a .txt, .jsonl, .csv or .tsv file')
    .option('--input-format <format>', 'txt, jsonl, csv or tsv (default: from the extension)')
    .option('--column <name>', 'CSV/TSV column or JSONL field holding the text');
}

/** The positional texts, else the first `limit` texts of --input (or stdin). */
export async function readTexts(
  texts: readonly string[],
  options: TextInputCliOptions,
  stdin?: Readable,
  limit = Infinity,
): Promise<string[]> {
  const out: string[] = [];
  for await (const row of readInputRows({
    texts: texts.length > 0 ? [...texts] : undefined,
    file: options.input,
    format: options.inputFormat as InputFormat | undefined,
    column: options.column,
    stdin,
  })) {
    if (out.length >= limit) break;
    out.push(row.text);
  }
  return out;
}
