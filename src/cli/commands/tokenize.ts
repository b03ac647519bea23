/**
 * `seqbatch tokenize`: encodes JSON lines (`{"text": ..., "text_pair": ...}`) or plain text lines from a file or
 * stdin and prints one JSON object per encoded row (overflow windows are rows of their own). Input is streamed a
 * batch at a time, so memory stays bounded whatever the input size; `--batch-size` rows are padded together.
 */
import { createReadStream } from 'node:fs';
import { createInterface } from 'node:readline';
import type { Readable, Writable } from 'node:stream';
import { InvalidArgumentError, Option, type Command } from 'commander';
import type { BatchEncoding } from '../../encoding/batch-encoding.js';
import type { EncodeOptions } from '../../encoding/call-options.js';
import { InputError, SeqbatchError, TruncationError } from '../../errors.js';
import { Tokenizer } from '../../tokenizers/tokenizer.js';

export interface TokenizeCliOptions {
  tokenizer: string;
  input?: string;
  padding?: 'longest' | 'max_length' | 'none';
  maxLength?: number;
  padToMultipleOf?: number;
  paddingSide?: 'left' | 'right';
  truncation?: 'longest_first' | 'only_first' | 'only_second' | 'none';
  truncationSide?: 'left' | 'right';
  stride?: number;
  returnOverflowingTokens?: boolean;
  specialTokens?: boolean;
  batchSize?: number;
}

export interface TokenizeIO {
  stdin?: Readable;
  stdout?: Writable;
  stderr?: Writable;
}

/** API option names → the CLI flags they come from, to name the flag in errors. */
const FLAG_OF: Record<string, string> = {
  padding: '--padding',
  maxLength: '--max-length',
  padToMultipleOf: '--pad-to-multiple-of',
  paddingSide: '--padding-side',
  truncation: '--truncation',
  truncationSide: '--truncation-side',
  stride: '--stride',
  returnOverflowingTokens: '--return-overflowing-tokens',
  strictMaxLength: '--max-length',
};

const DEFAULT_BATCH_SIZE = 32;

function integerParser(min: number) {
  return (value: string): number => {
    if (!/^\d+$/.test(value) || Number(value) < min) {
      throw new InvalidArgumentError(`expected an integer ≥ ${min}.`);
    }
    return Number(value);
  };
}

export function register(program: Command): void {
  program
    .command('tokenize')
    .description(
      'encode JSON lines ({"text": ..., "text_pair": ...}) or plain text lines and print one JSON object per row',
    )
    .requiredOption(
      '--tokenizer <dir>',
      'tokenizer folder (tokenizer.json, or vocab.txt, or vocab.json + merges.txt)',
    )
    .option('--input <file>', 'input file (default: stdin; "-" for stdin)')
    .addOption(
      new Option('--padding <strategy>', 'pad rows of a batch').choices(['longest', 'max_length', 'none']),
    )
    .option('--max-length <n>', 'length for truncation and max_length padding', integerParser(0))
    .option('--pad-to-multiple-of <n>', 'round the padded length up to a multiple', integerParser(1))
    .addOption(new Option('--padding-side <side>', 'where pads go').choices(['left', 'right']))
    .addOption(
      new Option('--truncation <strategy>', 'truncation strategy').choices([
        'longest_first',
        'only_first',
        'only_second',
        'none',
      ]),
    )
    .addOption(new Option('--truncation-side <side>', 'which end truncation cuts').choices(['left', 'right']))
    .option('--stride <n>', 'tokens shared by consecutive overflow windows', integerParser(0))
    .option(
      '--return-overflowing-tokens',
      'print every truncation window as a row (with overflow_to_sample_mapping)',
    )
    .option('--no-special-tokens', 'do not add [CLS]/[SEP] or other special tokens')
    .option('--batch-size <n>', 'rows encoded (and padded) together', integerParser(1), DEFAULT_BATCH_SIZE)
    .action(async (options: TokenizeCliOptions) => {
      await runTokenize(options);
    });
}

function encodeOptionsFrom(options: TokenizeCliOptions): EncodeOptions {
  return {
    // Unset flags stay unset so transformers' defaults apply (e.g. --max-length alone truncates, with a warning).
    padding: options.padding === 'none' ? false : options.padding,
    truncation: options.truncation === 'none' ? false : options.truncation,
    maxLength: options.maxLength ?? null,
    padToMultipleOf: options.padToMultipleOf ?? null,
    paddingSide: options.paddingSide,
    truncationSide: options.truncationSide,
    stride: options.stride ?? 0,
    returnOverflowingTokens: options.returnOverflowingTokens ?? false,
    addSpecialTokens: options.specialTokens ?? true,
  };
}

/** Re-labels an error about an API option with the CLI flag it came from. */
function asFlagError(error: unknown): unknown {
  if (error instanceof SeqbatchError && error.argument && FLAG_OF[error.argument]) {
    const flag = FLAG_OF[error.argument];
    return new InputError(`${flag}: ${error.message}`, { argument: flag, cause: error });
  }
  return error;
}

interface InputItem {
  line: number;
  text: string;
  pair: string | null;
}

/** Reads items from JSON lines or plain text lines (decided by the first non-blank line); blank lines are skipped. */
async function* readItems(stream: Readable, source: string): AsyncGenerator<InputItem> {
  const lines = createInterface({ input: stream, crlfDelay: Infinity });
  let mode: 'jsonl' | 'txt' | null = null;
  let lineNumber = 0;
  for await (const raw of lines) {
    lineNumber++;
    const line = lineNumber === 1 && raw.charCodeAt(0) === 0xfeff ? raw.slice(1) : raw;
    if (line.trim() === '') continue;
    mode ??= line.trimStart().startsWith('{') ? 'jsonl' : 'txt';
    if (mode === 'txt') {
      yield { line: lineNumber, text: line, pair: null };
      continue;
    }
    let value: unknown;
    try {
      value = JSON.parse(line);
    } catch (error) {
      throw new InputError(`${source}:${lineNumber}: not valid JSON (${(error as Error).message})`, {
        argument: '--input',
        cause: error,
      });
    }
    const record = value as Record<string, unknown>;
    if (
      value === null ||
      typeof value !== 'object' ||
      Array.isArray(value) ||
      typeof record.text !== 'string'
    ) {
      throw new InputError(`${source}:${lineNumber}: expected a JSON object with a "text" string`, {
        argument: '--input',
      });
    }
    const pair = record.text_pair;
    if (pair !== undefined && pair !== null && typeof pair !== 'string') {
      throw new InputError(`${source}:${lineNumber}: "text_pair" must be a string when present`, {
        argument: '--input',
      });
    }
    yield { line: lineNumber, text: record.text, pair: typeof pair === 'string' ? pair : null };
  }
}

/** Writes `text` and resolves once the stream took it (backpressure), rejecting on a write error. */
function write(stream: Writable, text: string): Promise<void> {
  return new Promise((resolve, reject) => {
    stream.write(text, (error) => (error ? reject(error) : resolve()));
  });
}

function formatRows(batch: BatchEncoding, firstSample: number): string {
  let out = '';
  for (let r = 0; r < batch.length; r++) {
    const e = batch.encodings[r];
    const row: Record<string, unknown> = {
      input_ids: e.ids,
      attention_mask: e.attentionMask,
      token_type_ids: e.typeIds,
      special_tokens_mask: e.specialTokensMask,
      offset_mapping: e.offsets,
      word_ids: e.words,
      tokens: e.tokens,
    };
    const mapping = batch.overflowToSampleMapping;
    if (mapping) row.overflow_to_sample_mapping = firstSample + mapping[r];
    out += `${JSON.stringify(row)}\n`;
  }
  return out;
}

/** Encodes one batch; a failing row is reported with its line number. */
function encodeItems(
  tokenizer: Tokenizer,
  items: InputItem[],
  options: EncodeOptions,
  source: string,
): BatchEncoding {
  const texts = items.map((item) => item.text);
  const pairs = items.some((item) => item.pair !== null) ? items.map((item) => item.pair) : null;
  try {
    return tokenizer.encodeBatch(texts, pairs, options);
  } catch (error) {
    if (!(error instanceof SeqbatchError) || error.argument === undefined) throw error;
    // Find the row at fault (only on this error path) so the message can name its line.
    for (const item of items) {
      try {
        tokenizer.encode(item.text, item.pair, { ...options, padding: false });
      } catch (rowError) {
        if (
          rowError instanceof TruncationError ||
          (rowError instanceof SeqbatchError && !FLAG_OF[rowError.argument ?? ''])
        ) {
          throw new InputError(`${source}:${item.line}: ${rowError.message}`, {
            argument: '--input',
            cause: rowError,
          });
        }
        throw asFlagError(rowError);
      }
    }
    throw asFlagError(error);
  }
}

/** Opens the input file, turning a missing or unreadable file into an error naming --input. */
function openInput(file: string): Promise<Readable> {
  return new Promise((resolve, reject) => {
    const stream = createReadStream(file);
    stream.once('open', () => resolve(stream));
    stream.once('error', (error: NodeJS.ErrnoException) =>
      reject(
        new InputError(`--input: cannot read ${file} (${error.code ?? error.message})`, {
          argument: '--input',
        }),
      ),
    );
  });
}

/** The command's work, with injectable streams (for tests). */
export async function runTokenize(options: TokenizeCliOptions, io: TokenizeIO = {}): Promise<number> {
  const stdout = io.stdout ?? process.stdout;
  const stderr = io.stderr ?? process.stderr;
  const warned = new Set<string>();
  const tokenizer = await Tokenizer.fromPretrained(options.tokenizer, {
    // Each batch is a call: print each distinct warning once per run.
    onWarning: (message) => {
      if (warned.has(message)) return;
      warned.add(message);
      stderr.write(`seqbatch: warning: ${message}\n`);
    },
  });
  const encodeOptions = encodeOptionsFrom(options);
  // Option errors (e.g. a stride too large) are reported before any input is read.
  try {
    tokenizer.encodeBatch([], null, encodeOptions);
  } catch (error) {
    throw asFlagError(error);
  }
  const batchSize = options.batchSize ?? DEFAULT_BATCH_SIZE;
  const fromStdin = options.input === undefined || options.input === '-';
  const source = fromStdin ? 'stdin' : (options.input as string);
  const stream = fromStdin ? (io.stdin ?? process.stdin) : await openInput(options.input as string);

  let samples = 0;
  let batch: InputItem[] = [];
  const flush = async () => {
    if (batch.length === 0) return;
    const encoded = encodeItems(tokenizer, batch, encodeOptions, source);
    await write(stdout, formatRows(encoded, samples));
    samples += batch.length;
    batch = [];
  };
  // A reader that goes away (`seqbatch tokenize … | head`) ends the run quietly; write errors reject `write`.
  const ignoreStreamError = () => {};
  stdout.on('error', ignoreStreamError);
  try {
    for await (const item of readItems(stream, source)) {
      batch.push(item);
      if (batch.length >= batchSize) await flush();
    }
    await flush();
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EPIPE') return samples;
    throw error;
  } finally {
    stdout.off('error', ignoreStreamError);
    if (!fromStdin) stream.destroy();
  }
  return samples;
}
