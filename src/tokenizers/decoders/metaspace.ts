import { ConfigError } from '../../errors.js';
import { field, type JsonObject } from '../registry.js';
import { BaseDecoder } from './decoder.js';

/** When the Metaspace pre-tokenizer prepends the replacement character (and so the decoder drops it). */
export type PrependScheme = 'always' | 'never' | 'first';

/**
 * Metaspace: turns the replacement character (default `▁`) back into spaces. In the first token it is
 * dropped instead, unless the prepend scheme is `never`.
 */
export class MetaspaceDecoder extends BaseDecoder {
  readonly type = 'Metaspace';

  constructor(
    readonly replacement = '\u2581',
    readonly prependScheme: PrependScheme = 'always',
    /** Kept for round-tripping the JSON; splitting only matters to the pre-tokenizer. */
    readonly split = true,
  ) {
    super();
  }

  static fromJSON(json: JsonObject, path: string): MetaspaceDecoder {
    const replacement = field.string(json, 'replacement', path, '\u2581');
    if ([...replacement].length !== 1) {
      throw new ConfigError(
        `${path}.replacement: expected a single character, got ${JSON.stringify(replacement)}`,
        {
          field: `${path}.replacement`,
        },
      );
    }
    return new MetaspaceDecoder(
      replacement,
      readPrependScheme(json, path),
      field.boolean(json, 'split', path, true),
    );
  }

  decodeChain(tokens: string[]): string[] {
    const dropFirst = this.prependScheme !== 'never';
    return tokens.map((token, i) => {
      let out = '';
      for (const char of token) {
        if (char !== this.replacement) out += char;
        else if (!(i === 0 && dropFirst)) out += ' ';
      }
      return out;
    });
  }
}

/**
 * `prepend_scheme` (default `always`) with the legacy `add_prefix_space`: `false` means `never`. Rust rejects
 * `add_prefix_space: false` beside any other declared scheme, and so do we; unlike Rust (whose default scheme then
 * conflicts) a file with only `add_prefix_space: false` is read as `never`, as the tokenizers that wrote it meant.
 */
export function readPrependScheme(json: JsonObject, path: string): PrependScheme {
  const scheme = field.optionalString(json, 'prepend_scheme', path);
  const addPrefixSpace = field.boolean(json, 'add_prefix_space', path, true);
  if (scheme === null) return addPrefixSpace ? 'always' : 'never';
  if (scheme !== 'always' && scheme !== 'never' && scheme !== 'first') {
    throw new ConfigError(
      `${path}.prepend_scheme: expected "always", "never" or "first", got ${JSON.stringify(scheme)}`,
      { field: `${path}.prepend_scheme` },
    );
  }
  if (!addPrefixSpace && scheme !== 'never') {
    throw new ConfigError(
      `${path}.add_prefix_space: false does not match prepend_scheme ${JSON.stringify(scheme)} (only "never" does)`,
      { field: `${path}.add_prefix_space` },
    );
  }
  return scheme;
}
