/**
 * The tokenizer call for many inputs: encode each text (and pair) without special tokens, truncate with overflow
 * windows, post-process, pad the batch and flatten windows into rows. This is transformers'
 * `PreTrainedTokenizerFast._batch_encode_plus` on top of the Rust core's `encode_batch`, with the truncation of
 * tokenizers ≤ 0.22.
 */
import { InputError } from '../errors.js';
import type { PostProcessor } from '../tokenizers/post-processors/post-processor.js';
import { BatchEncoding, type TensorField } from './batch-encoding.js';
import {
  resolveCallOptions,
  type CallDefaults,
  type EncodeOptions,
  type ResolvedCall,
} from './call-options.js';
import type { Encoding } from './encoding.js';
import { padEncodings, type PadToken } from './padding.js';
import { truncateEncodings } from './truncation.js';

/** A text, or its words when the input is pre-tokenized. */
export type TextInput = string | readonly string[];

/** The single-sequence stage (normalize, pre-tokenize, model): no special tokens, no truncation. */
export interface SequenceEncoder {
  encodeText(text: string, typeId: number): Encoding;
  encodeWords(words: readonly string[], typeId: number): Encoding;
}

/** Everything the call needs from a tokenizer. */
export interface EncodeContext {
  encoder: SequenceEncoder;
  postProcessor: PostProcessor;
  pad: PadToken | null;
  defaults: Omit<CallDefaults, 'hasPadToken' | 'addedTokensSingle'>;
  modelInputNames: readonly TensorField[];
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
  const firsts = texts.map((t, i) => checkInput(t, `text[${i}]`, call.isSplitIntoWords));
  // A null pair entry means that row is a single text (an extension: transformers needs all or none).
  const seconds =
    pairs?.map((t, i) => (t === null ? null : checkInput(t, `textPair[${i}]`, call.isSplitIntoWords))) ??
    null;

  const encodings = firsts.map((text, i) => encodeOne(context, call, text, seconds ? seconds[i] : null));
  if (call.padding)
    padEncodings(encodings, { ...call.padding, pad: call.padding.pad ?? (context.pad as PadToken) });

  const rows: Encoding[] = [];
  const mapping: number[] = [];
  encodings.forEach((encoding, sample) => {
    const windows = call.returnOverflowingTokens ? encoding.overflowing : [];
    rows.push(encoding);
    mapping.push(sample);
    for (const window of windows) {
      rows.push(window);
      mapping.push(sample);
    }
    encoding.overflowing = [];
  });
  checkTooLong(context, call, rows);
  return new BatchEncoding(rows, call.returnOverflowingTokens ? mapping : null, context.modelInputNames);
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
  let first = encode(text, 0);
  let second = pair === null ? null : encode(pair, 1);
  if (call.truncation) {
    const added = call.addSpecialTokens ? context.postProcessor.addedTokens(second !== null) : 0;
    const budget = call.truncation.maxLength - added;
    if (budget < 0) {
      throw new InputError(
        `maxLength (${call.truncation.maxLength}) is smaller than the ${added} special tokens the tokenizer adds`,
        { argument: 'maxLength' },
      );
    }
    [first, second] = truncateEncodings(first, second, {
      maxLength: budget,
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
