/**
 * Inputs longer than the model: the choice between failing (Python's default for most pipelines, made an
 * InputError here instead of a model error), truncating to the model maximum, or cutting the input into
 * overlapping windows with the tokenizer's overflow (`stride` tokens shared by neighbours) whose outputs are
 * then combined by the task.
 */
import type { TextInput } from '../encoding/encode-batch.js';
import { Encoding } from '../encoding/encoding.js';
import { idRows, layoutIdRow } from '../encoding/id-rows.js';
import type { Side } from '../encoding/truncation.js';
import { InputError } from '../errors.js';
import { idLayoutOf } from '../tokenizers/post-processors/post-processor.js';
import type { Tokenizer } from '../tokenizers/tokenizer.js';
import { toRow, type ModelRow } from './model-batch.js';
import { readTextOrPair } from './text-inputs.js';

export type LongInputs = 'error' | 'truncate' | 'sliding-window';
export type WindowAggregation = 'mean' | 'max';

export interface LongInputOptions {
  /** true: cut each input to the model maximum (same as `longInputs: 'truncate'`). Default false, as Python. */
  truncation?: boolean;
  /**
   * 'error' (default unless `truncation`): an input longer than the model is an InputError naming `truncation`;
   * 'truncate': keep its first tokens; 'sliding-window': run every window and combine them.
   */
  longInputs?: LongInputs;
  /** Tokens shared by consecutive windows. Default min(128, half the window's room for text). */
  stride?: number;
  /** How window outputs are combined: element-wise 'mean' (default) or 'max'. */
  windowAggregation?: WindowAggregation;
  /** Tokens per row, special tokens included. Default: the model maximum. */
  maxLength?: number;
  /**
   * Which end of a long input truncation cuts: 'right' keeps the beginning, 'left' keeps the end (the Rust core's
   * TruncationDirection::Left; for a pair both texts lose their beginnings; windows run from the end). Default:
   * the tokenizer's `truncationSide` (tokenizer_config.json `truncation_side`, else 'right').
   */
  truncationSide?: Side;
}

export interface ResolvedLongInputs {
  mode: LongInputs;
  maxLength: number;
  stride: number;
  aggregation: WindowAggregation;
  side: Side;
}

/** A `truncationSide` option, checked (`fallback` when unset). */
export function checkTruncationSide(value: unknown, fallback: Side): Side {
  if (value === undefined || value === null) return fallback;
  if (value !== 'left' && value !== 'right') {
    throw new InputError(`truncationSide: expected 'left' or 'right', got ${JSON.stringify(value)}`, {
      argument: 'truncationSide',
    });
  }
  return value;
}

/** `defaultSide` is the tokenizer's `truncationSide`. */
export function resolveLongInputs(
  options: LongInputOptions,
  modelMaxLength: number,
  addedTokens: number,
  defaultSide: Side,
): ResolvedLongInputs {
  const { truncation, longInputs, stride, windowAggregation, maxLength } = options;
  const side = checkTruncationSide(options.truncationSide, defaultSide);
  if (truncation !== undefined && typeof truncation !== 'boolean') {
    throw new InputError(`truncation: expected true or false, got ${JSON.stringify(truncation)}`, {
      argument: 'truncation',
    });
  }
  if (longInputs !== undefined && !['error', 'truncate', 'sliding-window'].includes(longInputs)) {
    throw new InputError(
      `longInputs: expected 'error', 'truncate' or 'sliding-window', got ${JSON.stringify(longInputs)}`,
      { argument: 'longInputs' },
    );
  }
  if (windowAggregation !== undefined && windowAggregation !== 'mean' && windowAggregation !== 'max') {
    throw new InputError(
      `windowAggregation: expected 'mean' or 'max', got ${JSON.stringify(windowAggregation)}`,
      {
        argument: 'windowAggregation',
      },
    );
  }
  const limit = maxLength ?? modelMaxLength;
  if (!Number.isSafeInteger(limit) || limit <= addedTokens) {
    throw new InputError(
      `maxLength: expected an integer larger than the ${addedTokens} special tokens, got ${limit}`,
      { argument: 'maxLength' },
    );
  }
  if (maxLength !== undefined && maxLength > modelMaxLength) {
    throw new InputError(`maxLength: ${maxLength} exceeds the model maximum of ${modelMaxLength} tokens`, {
      argument: 'maxLength',
    });
  }
  const mode: LongInputs = longInputs ?? (truncation ? 'truncate' : 'error');
  const room = limit - addedTokens;
  const resolvedStride = stride ?? Math.min(128, Math.floor(room / 2));
  if (!Number.isSafeInteger(resolvedStride) || resolvedStride < 0 || resolvedStride >= room) {
    throw new InputError(
      `stride: expected an integer from 0 to ${room - 1} (windows hold ${room} text tokens), got ${resolvedStride}`,
      { argument: 'stride' },
    );
  }
  return { mode, maxLength: limit, stride: resolvedStride, aggregation: windowAggregation ?? 'mean', side };
}

/**
 * Encodes one input (and its pair) into the rows the model runs: one row, or its windows, made lazily (a text of
 * millions of tokens is held as its ids while its windows run, see `src/encoding/id-rows.ts`). Truncation cuts
 * pairs longest-first; windows of a pair run over the first text ('only_first'), the second stays whole.
 */
export function encodeWithLimit(
  tokenizer: Tokenizer,
  text: TextInput,
  pair: TextInput | null,
  limits: ResolvedLongInputs,
  index: number,
): Iterable<ModelRow> {
  return (
    encodeFromIds(tokenizer, text, pair, limits, index) ?? encodeRows(tokenizer, text, pair, limits, index)
  );
}

/**
 * The rows from token ids alone, when the post-processor's layout gives the ids and type ids of a row and the
 * inputs are texts (not words); null otherwise (and with `tokenizerJsonBlocks: 'apply'`), and for the edge cases `encodeRows` reports (a pair leaving no
 * room for windows, a budget below the special tokens).
 */
function encodeFromIds(
  tokenizer: Tokenizer,
  text: TextInput,
  pair: TextInput | null,
  limits: ResolvedLongInputs,
  index: number,
): Iterable<ModelRow> | null {
  if (typeof text !== 'string' || (pair !== null && typeof pair !== 'string')) return null;
  // tokenizer.json's own truncation or padding would apply to calls that leave them unset.
  if (tokenizer.appliesTokenizerJsonBlocks) return null;
  const isPair = pair !== null;
  const layout = idLayoutOf(tokenizer.postProcessor, isPair, true);
  if (layout === null) return null;
  const added = tokenizer.numSpecialTokensToAdd(isPair);
  const budget = limits.maxLength - added;
  if (limits.mode !== 'error' && budget <= 0) return null;
  const first = tokenizer.pipeline.encodeTextIds(text);
  const second = pair === null ? null : tokenizer.pipeline.encodeTextIds(pair);
  if (limits.mode === 'error') {
    const length = first.length + (second?.length ?? 0) + added;
    if (length > limits.maxLength) throw tooLong(index, length, limits.maxLength);
    return [layoutIdRow(layout, first, second)];
  }
  const windows = limits.mode === 'sliding-window';
  return idRows(layout, first, second, {
    budget,
    mode: windows ? 'windows' : 'truncate',
    stride: windows ? limits.stride : 0,
    side: limits.side,
  });
}

function tooLong(index: number, length: number, maxLength: number): InputError {
  return new InputError(
    `inputs[${index}]: ${length} tokens exceed the model maximum of ${maxLength}; pass ` +
      `truncation: true (or longInputs: 'truncate' / 'sliding-window') to handle long inputs`,
    { argument: 'truncation' },
  );
}

/** The rows through whole Encodings (`encodeBatch`), for what `encodeFromIds` does not cover. */
function encodeRows(
  tokenizer: Tokenizer,
  text: TextInput,
  pair: TextInput | null,
  limits: ResolvedLongInputs,
  index: number,
): ModelRow[] {
  if (limits.mode === 'error') {
    const batch = tokenizer.encodeBatch([text], pair === null ? null : [pair], { verbose: false });
    const encoding = batch.encodings[0];
    if (encoding.length > limits.maxLength) throw tooLong(index, encoding.length, limits.maxLength);
    return [toRow(encoding)];
  }
  const windows = limits.mode === 'sliding-window';
  return tokenizer
    .encodeBatch([text], pair === null ? null : [pair], {
      // Python's truncation=True is longest_first; overflow windows of a pair need a one-sided strategy.
      truncation: windows && pair !== null ? 'only_first' : 'longest_first',
      maxLength: limits.maxLength,
      stride: windows ? limits.stride : 0,
      returnOverflowingTokens: windows,
      truncationSide: limits.side,
      verbose: false,
    })
    .encodings.map(toRow);
}

/**
 * One input of a text pipeline (`TextOrEncoding`) into the rows the model runs. An Encoding runs as it is, so it
 * must fit `limits.maxLength` (without its text nothing can be truncated or windowed) and carry no padding; any
 * other input is read as a text or pair and encoded by `encodeWithLimit`.
 */
export function encodeInput(
  tokenizer: Tokenizer,
  input: unknown,
  limits: ResolvedLongInputs,
  index: number,
): Iterable<ModelRow> {
  if (!(input instanceof Encoding)) {
    const { text, pair } = readTextOrPair(input, index);
    return encodeWithLimit(tokenizer, text, pair, limits, index);
  }
  if (input.length > limits.maxLength) {
    throw new InputError(
      `inputs[${index}]: the Encoding has ${input.length} tokens, more than the ${limits.maxLength} allowed; pass ` +
        'its text instead, so it can be truncated or windowed',
      { argument: `inputs[${index}]` },
    );
  }
  if (input.attentionMask.includes(0)) {
    throw new InputError(`inputs[${index}]: the Encoding is padded; pass it unpadded (padding: false)`, {
      argument: `inputs[${index}]`,
    });
  }
  return [toRow(input)];
}
