/**
 * Flag parsing shared by the model commands: numbers and lists read from strings with an InputError naming the
 * flag, and pipeline errors (which name API options such as `topK`) re-labelled with the flag they came from.
 */
import { InputError, SeqbatchError } from '../../errors.js';

/** A whole number ≥ `min`, or undefined when the flag was not given. */
export function integerFlag(value: string | undefined, flag: string, min = 1): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!/^\d+$/.test(value.trim()) || !Number.isSafeInteger(n) || n < min) {
    throw new InputError(`${flag}: expected a whole number ≥ ${min}, got "${value}"`, { argument: flag });
  }
  return n;
}

/** A comma-separated list with blanks dropped, or undefined when the flag was not given. */
export function listFlag(value: string | undefined, flag: string): string[] | undefined {
  if (value === undefined) return undefined;
  const items = value
    .split(',')
    .map((item) => item.trim())
    .filter((item) => item !== '');
  if (items.length === 0) {
    throw new InputError(`${flag}: expected a comma-separated list, got "${value}"`, { argument: flag });
  }
  return items;
}

/** API options whose flag is not simply their kebab-case spelling. */
const FLAG_NAMES: Record<string, string> = {
  candidateLabels: '--labels',
  aggregationStrategy: '--aggregation',
  functionToApply: '--function',
  truncateDim: '--dimensions',
};

/** `topK` → `--top-k` (and the few renamed ones, e.g. `candidateLabels` → `--labels`). */
export function flagOf(option: string): string {
  return FLAG_NAMES[option] ?? '--' + option.replace(/[A-Z]/g, (c) => '-' + c.toLowerCase());
}

/**
 * An error about one of `options` (API names, e.g. `maxLength`) as an InputError naming the flag (`--max-length`),
 * so the message points at what the user typed; any other error unchanged.
 */
export function asFlagError(error: unknown, options: readonly string[]): unknown {
  if (
    !(error instanceof SeqbatchError) ||
    error.argument === undefined ||
    !options.includes(error.argument)
  ) {
    return error;
  }
  const flag = flagOf(error.argument);
  const message = error.message.startsWith(`${error.argument}:`)
    ? flag + error.message.slice(error.argument.length)
    : `${flag}: ${error.message}`;
  return new InputError(message, { argument: flag, cause: error });
}
