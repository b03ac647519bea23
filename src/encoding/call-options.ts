/**
 * The options of a tokenizer call, in TypeScript style, and their resolution into concrete truncation and padding
 * parameters following transformers' `_get_padding_truncation_strategies` (same defaults, same warnings, same
 * errors).
 */
import { InputError } from '../errors.js';
import type { PadTarget, PadToken } from './padding.js';
import type { Side, TruncationStrategy } from './truncation.js';

export type PaddingOption = boolean | 'longest' | 'max_length' | 'do_not_pad';
export type TruncationOption = boolean | TruncationStrategy | 'do_not_truncate';

export interface EncodeOptions {
  /** Add the post-processor's special tokens ([CLS]/[SEP], <s>/</s>…). Default true. */
  addSpecialTokens?: boolean;
  /** true or 'longest': pad to the longest row; 'max_length': pad to `maxLength`; false: no padding (default). */
  padding?: PaddingOption;
  /**
   * true or 'longest_first', 'only_first', 'only_second', or false (default). Left unset with a `maxLength` and no
   * padding, it becomes 'longest_first' with a warning, as in transformers.
   */
  truncation?: TruncationOption;
  /** Length for truncation and 'max_length' padding. Default: the tokenizer's model maximum (when it has one). */
  maxLength?: number | null;
  /** Tokens of context shared by consecutive overflow windows. Default 0. */
  stride?: number;
  /** Round the padded length up to a multiple of this (e.g. 8 for tensor cores). */
  padToMultipleOf?: number | null;
  /** Default: the tokenizer's `paddingSide` (tokenizer_config.json `padding_side`, else 'right'). */
  paddingSide?: Side;
  /** Default: the tokenizer's `truncationSide` (tokenizer_config.json `truncation_side`, else 'right'). */
  truncationSide?: Side;
  /** Return every truncation window as its own row, with `overflow_to_sample_mapping`. Default false. */
  returnOverflowingTokens?: boolean;
  /** Inputs are arrays of words (pre-tokenized) instead of strings. Default false. */
  isSplitIntoWords?: boolean;
  /**
   * Throw an InputError instead of warning when a row is longer than the model maximum and nothing truncates it.
   * Default false (warn once, like transformers).
   */
  strictMaxLength?: boolean;
  /** Emit transformers' warnings (default true). */
  verbose?: boolean;
}

/** What the tokenizer knows that the options default to. */
export interface CallDefaults {
  /** Maximum sequence length of the model; Infinity when the tokenizer has none. */
  modelMaxLength: number;
  paddingSide: Side;
  truncationSide: Side;
  /** Whether a pad token is defined (padding needs one). */
  hasPadToken: boolean;
  /** Special tokens added to one text, for the stride check. */
  addedTokensSingle: number;
  /** Truncation and padding stored in tokenizer.json, used only when the caller sets neither option. */
  fileTruncation?: { strategy: TruncationStrategy; maxLength: number; stride: number; side: Side } | null;
  filePadding?: ResolvedPadding | null;
}

export interface ResolvedTruncation {
  strategy: TruncationStrategy;
  /** Total length including special tokens. */
  maxLength: number;
  stride: number;
  side: Side;
}

export interface ResolvedPadding {
  target: PadTarget;
  multipleOf: number | null;
  side: Side;
  /** Pad token of tokenizer.json's padding block; otherwise the tokenizer's pad token is used. */
  pad?: PadToken;
}

export interface ResolvedCall {
  addSpecialTokens: boolean;
  truncation: ResolvedTruncation | null;
  padding: ResolvedPadding | null;
  returnOverflowingTokens: boolean;
  isSplitIntoWords: boolean;
  strictMaxLength: boolean;
  verbose: boolean;
  /** transformers' resolved `max_length` (null when neither truncation nor 'max_length' padding set one). */
  maxLength: number | null;
}

const PADDING_VALUES = ['longest', 'max_length', 'do_not_pad'];
const TRUNCATION_VALUES = ['longest_first', 'only_first', 'only_second', 'do_not_truncate'];

function integerOption(value: unknown, name: string, min: number): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min) {
    throw new InputError(`${name}: expected an integer ≥ ${min}, got ${JSON.stringify(value)}`, {
      argument: name,
    });
  }
  return value;
}

function sideOption(value: unknown, name: string, fallback: Side): Side {
  if (value === undefined || value === null) return fallback;
  if (value !== 'left' && value !== 'right') {
    throw new InputError(`${name}: expected 'left' or 'right', got ${JSON.stringify(value)}`, {
      argument: name,
    });
  }
  return value;
}

function booleanOption(value: unknown, name: string, fallback: boolean): boolean {
  if (value === undefined || value === null) return fallback;
  if (typeof value !== 'boolean') {
    throw new InputError(`${name}: expected true or false, got ${JSON.stringify(value)}`, { argument: name });
  }
  return value;
}

/**
 * Resolves the options of one call. `isPair` says whether text pairs are given (for the overflow check).
 * `warn` receives transformers' warnings (already filtered by `verbose`).
 */
export function resolveCallOptions(
  options: EncodeOptions,
  defaults: CallDefaults,
  isPair: boolean,
  warn: (message: string) => void,
): ResolvedCall {
  const verbose = booleanOption(options.verbose, 'verbose', true);
  const say = (message: string) => {
    if (verbose) warn(message);
  };

  const padding = options.padding;
  if (padding !== undefined && typeof padding !== 'boolean' && !PADDING_VALUES.includes(padding as string)) {
    throw new InputError(
      `padding: expected true, false, 'longest', 'max_length' or 'do_not_pad', got ${JSON.stringify(padding)}`,
      { argument: 'padding' },
    );
  }
  let truncation = options.truncation;
  if (
    truncation !== undefined &&
    typeof truncation !== 'boolean' &&
    !TRUNCATION_VALUES.includes(truncation)
  ) {
    throw new InputError(
      `truncation: expected true, false, 'longest_first', 'only_first', 'only_second' or 'do_not_truncate', ` +
        `got ${JSON.stringify(truncation)}`,
      { argument: 'truncation' },
    );
  }
  let maxLength =
    options.maxLength === undefined || options.maxLength === null
      ? null
      : integerOption(options.maxLength, 'maxLength', 0);
  const stride = options.stride === undefined ? 0 : integerOption(options.stride, 'stride', 0);
  const multipleOf =
    options.padToMultipleOf === undefined || options.padToMultipleOf === null
      ? null
      : integerOption(options.padToMultipleOf, 'padToMultipleOf', 1);
  const paddingSide = sideOption(options.paddingSide, 'paddingSide', defaults.paddingSide);
  const truncationSide = sideOption(options.truncationSide, 'truncationSide', defaults.truncationSide);
  const returnOverflowingTokens = booleanOption(
    options.returnOverflowingTokens,
    'returnOverflowingTokens',
    false,
  );

  // transformers' legacy rule: a max_length without padding or truncation means longest_first truncation.
  if (maxLength !== null && (padding === undefined || padding === false) && truncation === undefined) {
    say(
      'Truncation was not explicitly activated but `max_length` is provided a specific value, please use ' +
        "`truncation=True` to explicitly truncate examples to max length. Defaulting to 'longest_first' " +
        'truncation strategy. If you encode pairs of sequences (GLUE-style) with the tokenizer you can select ' +
        'this strategy more precisely by providing a specific strategy to `truncation`.',
    );
    truncation = 'longest_first';
  }

  let padStrategy: 'longest' | 'max_length' | null =
    padding === true || padding === 'longest' ? 'longest' : padding === 'max_length' ? 'max_length' : null;
  if (padStrategy === 'longest' && maxLength !== null && (truncation === undefined || truncation === false)) {
    say(
      '`max_length` is ignored when `padding`=`True` and there is no truncation strategy. To pad to max length, ' +
        "use `padding='max_length'`.",
    );
  }
  let truncStrategy: TruncationStrategy | null =
    truncation === true
      ? 'longest_first'
      : !truncation || truncation === 'do_not_truncate'
        ? null
        : truncation;

  const hasModelMax = Number.isFinite(defaults.modelMaxLength);
  if (maxLength === null) {
    if (padStrategy === 'max_length') {
      if (!hasModelMax) {
        say(
          'Asking to pad to max_length but no maximum length is provided and the model has no predefined ' +
            'maximum length. Default to no padding.',
        );
        padStrategy = null;
      } else maxLength = defaults.modelMaxLength;
    }
    if (truncStrategy !== null) {
      if (!hasModelMax) {
        say(
          'Asking to truncate to max_length but no maximum length is provided and the model has no predefined ' +
            'maximum length. Default to no truncation.',
        );
        truncStrategy = null;
      } else maxLength = defaults.modelMaxLength;
    }
  }

  // The blocks of tokenizer.json, when the tokenizer was loaded to apply them and the call leaves them open.
  let resolvedPadding: ResolvedPadding | null =
    padStrategy === null
      ? null
      : {
          target: padStrategy === 'longest' ? 'longest' : (maxLength as number),
          multipleOf,
          side: paddingSide,
        };
  let resolvedTruncation: ResolvedTruncation | null =
    truncStrategy === null
      ? null
      : { strategy: truncStrategy, maxLength: maxLength as number, stride, side: truncationSide };
  if (padding === undefined && defaults.filePadding) resolvedPadding = { ...defaults.filePadding };
  if (truncation === undefined && options.maxLength == null && defaults.fileTruncation) {
    const { strategy, maxLength: fileMax, stride: fileStride, side } = defaults.fileTruncation;
    resolvedTruncation = { strategy, maxLength: fileMax, stride: fileStride, side };
  }

  if (resolvedPadding && !resolvedPadding.pad && !defaults.hasPadToken) {
    throw new InputError(
      'Asking to pad but the tokenizer does not have a padding token. Set one with `tokenizer.setPadToken(...)` ' +
        '(for example the eos token) before padding.',
      { argument: 'padding' },
    );
  }
  if (
    truncStrategy !== null &&
    padStrategy !== null &&
    multipleOf !== null &&
    maxLength !== null &&
    maxLength % multipleOf !== 0
  ) {
    throw new InputError(
      `Truncation and padding are both activated but truncation length (${maxLength}) is not a multiple of ` +
        `pad_to_multiple_of (${multipleOf}).`,
      { argument: 'padToMultipleOf' },
    );
  }
  if (returnOverflowingTokens && isPair && resolvedTruncation?.strategy === 'longest_first') {
    throw new InputError(
      'Not possible to return overflowing tokens for pair of sequences with the `longest_first`. Please select ' +
        'another truncation strategy than `longest_first`, for instance `only_second` or `only_first`.',
      { argument: 'truncation' },
    );
  }
  const addSpecialTokens = booleanOption(options.addSpecialTokens, 'addSpecialTokens', true);
  if (resolvedTruncation) {
    if (addSpecialTokens && resolvedTruncation.maxLength < defaults.addedTokensSingle) {
      throw new InputError(
        `maxLength (${resolvedTruncation.maxLength}) is smaller than the ${defaults.addedTokensSingle} special ` +
          `tokens the tokenizer adds`,
        { argument: 'maxLength' },
      );
    }
    // Rust checks the stride against max_length minus the special tokens even when they are not added (where a
    // negative difference wraps around in Rust and passes: the window check below still applies).
    const effective = resolvedTruncation.maxLength - defaults.addedTokensSingle;
    if (effective >= 0 && effective < resolvedTruncation.stride) {
      throw new InputError(
        `tokenizer stride set to ${resolvedTruncation.stride}, which is greater than or equal to its effective max ` +
          `length of ${effective} (= ${resolvedTruncation.maxLength} original max length - ` +
          `${defaults.addedTokensSingle} added special tokens)`,
        { argument: 'stride' },
      );
    }
  }

  return {
    addSpecialTokens,
    truncation: resolvedTruncation,
    padding: resolvedPadding,
    returnOverflowingTokens,
    isSplitIntoWords: booleanOption(options.isSplitIntoWords, 'isSplitIntoWords', false),
    strictMaxLength: booleanOption(options.strictMaxLength, 'strictMaxLength', false),
    verbose,
    maxLength: resolvedTruncation ? resolvedTruncation.maxLength : maxLength,
  };
}
