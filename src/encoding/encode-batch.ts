/**
 * The tokenizer call for many inputs: encode each text (and pair) without special tokens, truncate with overflow
 * windows, post-process, pad the batch and flatten windows into rows. This is transformers'
 * `PreTrainedTokenizerFast._batch_encode_plus` on top of the Rust core's `encode_batch`, with the truncation of
 * tokenizers ≤ 0.22.
 */
import { InputError } from '../errors.js';
import type { LayoutPiece, PostProcessor } from '../tokenizers/post-processors/post-processor.js';
import { assembleRow, layoutLength } from './assemble.js';
import { sequenceEncoding, type SequenceTokens } from './sequence-tokens.js';
import { BatchEncoding, type TensorField } from './batch-encoding.js';
import {
  resolveCallOptions,
  type CallDefaults,
  type EncodeOptions,
  type ResolvedCall,
} from './call-options.js';
import { Encoding } from './encoding.js';
import { padEncoding, roundUpToMultiple, type PadToken } from './padding.js';
import { truncateEncodings } from './truncation.js';

/** A text, or its words when the input is pre-tokenized. */
export type TextInput = string | readonly string[];

/** The single-sequence stage (normalize, pre-tokenize, model): no special tokens, no truncation. */
export interface SequenceEncoder {
  encodeText(text: string, typeId: number): Encoding;
  encodeWords(words: readonly string[], typeId: number): Encoding;
  /** The same tokens without building an Encoding (optional: lets the batch layer skip the per-text arrays). */
  encodeTextTokens?(text: string): SequenceTokens;
  encodeWordsTokens?(words: readonly string[]): SequenceTokens;
}

/** Everything the call needs from a tokenizer. */
export interface EncodeContext {
  encoder: SequenceEncoder;
  postProcessor: PostProcessor;
  pad: PadToken | null;
  defaults: Omit<CallDefaults, 'hasPadToken' | 'addedTokensSingle'>;
  modelInputNames: readonly TensorField[];
  /** Why pre-tokenized input is refused (transformers' message), or null when it is accepted. */
  wordsInputError?: string | null;
  /** Receives transformers' warnings. `key` identifies warnings that are only given once per tokenizer. */
  warn(message: string, key?: string): void;
}

export const TOO_LONG_WARNING_KEY = 'sequence-length-is-longer-than-the-specified-maximum';

/** transformers' message for a row longer than the model maximum when nothing truncates it. */
export function tooLongMessage(length: number, modelMaxLength: number): string {
  return (
    `Token indices sequence length is longer than the specified maximum sequence length for this model ` +
    `(${length} > ${modelMaxLength}). Running this sequence through the model will result in indexing errors`
  );
}

function describeValue(value: unknown): string {
  if (value === null) return 'null';
  if (value === undefined) return 'undefined';
  if (Array.isArray(value)) return 'an array';
  return typeof value === 'object' ? 'an object' : `${typeof value} ${JSON.stringify(value)}`;
}

/** Checks one input: a string, or an array of strings when pre-tokenized. */
function checkInput(value: unknown, argument: string, isSplitIntoWords: boolean): TextInput {
  if (isSplitIntoWords) {
    if (!Array.isArray(value) || !value.every((w) => typeof w === 'string')) {
      throw new InputError(
        `${argument}: expected an array of words (strings) because isSplitIntoWords is true, got ${describeValue(value)}`,
        { argument },
      );
    }
    return value as string[];
  }
  if (typeof value !== 'string') {
    throw new InputError(`${argument}: expected a string, got ${describeValue(value)}`, { argument });
  }
  return value;
}

/**
 * Encodes `texts` (and `pairs`, one per text) into a BatchEncoding. Rows are the inputs in order; with
 * `returnOverflowingTokens` every input contributes its windows, in order, and `overflow_to_sample_mapping`
 * gives the input index of each row.
 */
export function encodeBatch(
  context: EncodeContext,
  texts: readonly unknown[],
  pairs: readonly unknown[] | null,
  options: EncodeOptions = {},
): BatchEncoding {
  if (!Array.isArray(texts)) {
    throw new InputError(`text: expected an array of inputs, got ${describeValue(texts)}`, {
      argument: 'text',
    });
  }
  if (pairs !== null && (!Array.isArray(pairs) || pairs.length !== texts.length)) {
    throw new InputError(
      `textPair: expected an array with one pair per text (${texts.length}), got ` +
        (Array.isArray(pairs) ? `${pairs.length} pairs` : describeValue(pairs)),
      { argument: 'textPair' },
    );
  }
  const call = resolveCall(context, options, pairs !== null && pairs.some((p) => p !== null));
  if (call.isSplitIntoWords && context.wordsInputError) {
    throw new InputError(context.wordsInputError, { argument: 'isSplitIntoWords' });
  }
  const firsts = texts.map((t, i) => checkInput(t, `text[${i}]`, call.isSplitIntoWords));
  // A null pair entry means that row is a single text (an extension: transformers needs all or none).
  const seconds =
    pairs?.map((t, i) => (t === null ? null : checkInput(t, `textPair[${i}]`, call.isSplitIntoWords))) ??
    null;

  const items = encodeItems(context, call, firsts, seconds);
  const padding = call.padding;
  const pad = padding ? (padding.pad ?? (context.pad as PadToken)) : null;
  let target = 0;
  if (padding) {
    if (padding.target === 'longest') {
      // Overflow windows are never longer than their first window.
      for (const item of items) target = Math.max(target, item.length);
    } else target = padding.target;
    target = roundUpToMultiple(target, padding.multipleOf);
  }
  const side = padding ? padding.side : 'right';

  const rows: Encoding[] = [];
  const mapping: number[] = [];
  for (let sample = 0; sample < items.length; sample++) {
    const item = items[sample]!;
    if (!(item instanceof Encoding)) {
      rows.push(assembleRow(item.layout, item.first, item.second, target, pad, side));
      mapping.push(sample);
      continue;
    }
    if (pad !== null) padEncoding(item, target, pad, side);
    rows.push(item);
    mapping.push(sample);
    if (call.returnOverflowingTokens) {
      for (const window of item.overflowing) {
        rows.push(window);
        mapping.push(sample);
      }
    }
    item.overflowing = [];
  }
  checkTooLong(context, call, rows);
  return new BatchEncoding(rows, call.returnOverflowingTokens ? mapping : null, context.modelInputNames);
}

/** An input whose processed row is built (and padded) in one pass by `assembleRow`. */
interface LayoutRow {
  layout: readonly LayoutPiece[];
  first: SequenceTokens;
  second: SequenceTokens | null;
  /** Length of the processed row before padding. */
  length: number;
}

/**
 * Encodes every input. Rows that need no cutting, with a post-processor that has a fixed layout, are left as
 * LayoutRows for the one-pass build; the others go through truncation and `process` (overflow windows attached).
 */
function encodeItems(
  context: EncodeContext,
  call: ResolvedCall,
  firsts: readonly TextInput[],
  seconds: readonly (TextInput | null)[] | null,
): (Encoding | LayoutRow)[] {
  const { postProcessor } = context;
  const layouts: [readonly LayoutPiece[] | null, readonly LayoutPiece[] | null] = [
    postProcessor.layout?.(false, call.addSpecialTokens) ?? null,
    seconds !== null ? (postProcessor.layout?.(true, call.addSpecialTokens) ?? null) : null,
  ];
  // Computed on the first row of each kind, so that an unused pair budget cannot throw.
  const budgets: [number | null, number | null] = [null, null];
  const items: (Encoding | LayoutRow)[] = new Array(firsts.length);
  for (let i = 0; i < firsts.length; i++) {
    const first = encodeTokens(context.encoder, firsts[i]!);
    const pair = seconds === null ? null : seconds[i]!;
    const second = pair === null ? null : encodeTokens(context.encoder, pair);
    const isPair = second !== null;
    const kind = isPair ? 1 : 0;
    const layout = layouts[kind];
    const contentLength = first.ids.length + (isPair ? second.ids.length : 0);
    const budget = (budgets[kind] ??= truncationBudget(context, call, isPair));
    if (layout !== null && contentLength <= budget) {
      items[i] = { layout, first, second, length: layoutLength(layout, first, second) };
    } else {
      const pairEncoding = isPair ? sequenceEncoding(second, 1) : null;
      items[i] = finishRow(context, call, sequenceEncoding(first, 0), pairEncoding);
    }
  }
  return items;
}

/** The tokens of one input, through the encoder's token methods when it has them. */
function encodeTokens(encoder: SequenceEncoder, input: TextInput): SequenceTokens {
  if (typeof input === 'string') {
    return encoder.encodeTextTokens
      ? encoder.encodeTextTokens(input)
      : tokensOf(encoder.encodeText(input, 0));
  }
  return encoder.encodeWordsTokens
    ? encoder.encodeWordsTokens(input)
    : tokensOf(encoder.encodeWords(input, 0));
}

/** The SequenceTokens of an encoder's Encoding (by contract: type ids as asked, attention 1, no special tokens). */
function tokensOf(encoding: Encoding): SequenceTokens {
  const offsets = encoding.flatOffsets() ?? encoding.offsets.flat();
  return { ids: encoding.ids, tokens: encoding.tokens, words: encoding.words, offsets: [...offsets] };
}

/**
 * Tokens left to the texts once the special tokens are added (Infinity without truncation). A maximum below the
 * special tokens is an InputError.
 */
function truncationBudget(context: EncodeContext, call: ResolvedCall, isPair: boolean): number {
  if (!call.truncation) return Infinity;
  const added = call.addSpecialTokens ? context.postProcessor.addedTokens(isPair) : 0;
  const budget = call.truncation.maxLength - added;
  if (budget < 0) {
    throw new InputError(
      `maxLength (${call.truncation.maxLength}) is smaller than the ${added} special tokens the tokenizer adds`,
      { argument: 'maxLength' },
    );
  }
  return budget;
}

export function resolveCall(context: EncodeContext, options: EncodeOptions, isPair: boolean): ResolvedCall {
  if (options === null || typeof options !== 'object') {
    throw new InputError(`options: expected an object, got ${describeValue(options)}`, {
      argument: 'options',
    });
  }
  return resolveCallOptions(
    options,
    {
      ...context.defaults,
      hasPadToken: context.pad !== null,
      addedTokensSingle: context.postProcessor.addedTokens(false),
    },
    isPair,
    (message) => context.warn(message),
  );
}

/** One input through the whole chain, overflow windows attached to the result. */
export function encodeOne(
  context: EncodeContext,
  call: ResolvedCall,
  text: TextInput,
  pair: TextInput | null,
): Encoding {
  const encode = (input: TextInput, typeId: number) =>
    typeof input === 'string'
      ? context.encoder.encodeText(input, typeId)
      : context.encoder.encodeWords(input, typeId);
  return finishRow(context, call, encode(text, 0), pair === null ? null : encode(pair, 1));
}

/** Truncation (with overflow windows) and post-processing of encoded texts. */
function finishRow(
  context: EncodeContext,
  call: ResolvedCall,
  text: Encoding,
  pair: Encoding | null,
): Encoding {
  let first = text;
  let second = pair;
  if (call.truncation) {
    [first, second] = truncateEncodings(first, second, {
      maxLength: truncationBudget(context, call, second !== null),
      strategy: call.truncation.strategy,
      stride: call.truncation.stride,
      side: call.truncation.side,
      keepOverflow: call.returnOverflowingTokens,
    });
  }
  return context.postProcessor.process(first, second, call.addSpecialTokens);
}

/** transformers warns (once per tokenizer) about rows longer than the model when no max_length was resolved. */
function checkTooLong(context: EncodeContext, call: ResolvedCall, rows: readonly Encoding[]): void {
  const modelMax = context.defaults.modelMaxLength;
  if (call.maxLength !== null || !Number.isFinite(modelMax)) return;
  for (let i = 0; i < rows.length; i++) {
    if (rows[i].length <= modelMax) continue;
    const message = tooLongMessage(rows[i].length, modelMax);
    if (call.strictMaxLength) {
      throw new InputError(`row ${i}: ${message} (enable truncation, or pass a larger maxLength)`, {
        argument: 'strictMaxLength',
      });
    }
    if (call.verbose) context.warn(message, TOO_LONG_WARNING_KEY);
    return;
  }
}
