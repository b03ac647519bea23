/**
 * What sentence-transformers' Transformer module does to a text before its tokenizer, and the prompt in front of
 * it: the prompt (if any) is prepended to the raw text, the whole is stripped as Python's `str.strip()` strips
 * and lower-cased when `do_lower_case` says so, then tokenized with longest_first truncation at max_seq_length.
 * The prompt's token count (for Pooling's include_prompt false) is that of the prompt tokenized alone, without
 * a trailing special token.
 */
import type { Encoding } from '../../encoding/encoding.js';
import { InputError } from '../../errors.js';
import type { Tokenizer } from '../../tokenizers/tokenizer.js';

/** The characters Python's `str.isspace()` accepts (JavaScript's trim differs: it strips U+FEFF, keeps U+001C–U+001F and U+0085). */
const PY_SPACE =
  '\\t\\n\\v\\f\\r\\x1c-\\x1f \\x85\\xa0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000';
const PY_STRIP = new RegExp(`^[${PY_SPACE}]+|[${PY_SPACE}]+$`, 'g');

/** Python's `str.strip()` with no argument. */
export function pythonStrip(text: string): string {
  return text.replace(PY_STRIP, '');
}

export interface PromptOptions {
  /** The name of one of the folder's prompts (config_sentence_transformers.json). */
  promptName?: string;
  /** A prompt text; wins over `promptName` and the folder's default prompt. `''` means no prompt. */
  prompt?: string;
}

/**
 * The prompt a call uses, by Python's precedence: `prompt`, else `promptName`, else the folder's
 * default_prompt_name. An empty prompt is no prompt (null). sentence-transformers 5 knows the names `query` and
 * `document` (as empty prompts) even when the folder does not configure them.
 */
export function resolvePrompt(
  options: PromptOptions,
  prompts: Readonly<Record<string, string>>,
  defaultPromptName: string | null,
): string | null {
  const { prompt, promptName } = options;
  if (prompt !== undefined && typeof prompt !== 'string') {
    throw new InputError(`prompt: expected a string, got ${JSON.stringify(prompt)}`, { argument: 'prompt' });
  }
  if (promptName !== undefined && typeof promptName !== 'string') {
    throw new InputError(`promptName: expected a string, got ${JSON.stringify(promptName)}`, {
      argument: 'promptName',
    });
  }
  const known: Record<string, string> = { query: '', document: '', ...prompts };
  if (promptName !== undefined && !(promptName in known)) {
    throw new InputError(
      `promptName: ${JSON.stringify(promptName)} is not one of the model's prompts (${Object.keys(known).join(', ')})`,
      { argument: 'promptName' },
    );
  }
  const text =
    prompt ??
    (promptName !== undefined
      ? known[promptName]
      : defaultPromptName !== null
        ? known[defaultPromptName]
        : '');
  return text === undefined || text === '' ? null : text;
}

/** How texts become the transformer's input. */
export class TextPreparation {
  constructor(
    private readonly tokenizer: Tokenizer,
    /** Tokens per row, special tokens included (max_seq_length, or the model maximum). */
    readonly maxLength: number,
    readonly doLowerCase: boolean,
  ) {}

  /** The text as the tokenizer sees it: stripped, lower-cased when configured. */
  clean(text: string): string {
    const stripped = pythonStrip(text);
    return this.doLowerCase ? stripped.toLowerCase() : stripped;
  }

  /** The truncated encoding of `prompt + text`. */
  encode(text: string, prompt: string | null): Encoding {
    return this.tokenizer.encode(this.clean(prompt === null ? text : prompt + text), null, {
      truncation: 'longest_first',
      maxLength: this.maxLength,
    });
  }

  /** Tokens of the prompt that Pooling masks with include_prompt false ([CLS] + prompt, without a trailing special token). */
  promptLength(prompt: string | null): number {
    if (prompt === null) return 0;
    const ids = this.encode(prompt, null).ids;
    const last = ids[ids.length - 1];
    return last !== undefined && this.tokenizer.allSpecialIds.includes(last) ? ids.length - 1 : ids.length;
  }
}
