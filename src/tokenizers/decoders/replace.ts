import { ConfigError } from '../../errors.js';
import { translateOnigRegex } from '../normalizers/onig-regex.js';
import { describeJson, field, type JsonObject } from '../registry.js';
import { BaseDecoder, replaceLiteral } from './decoder.js';

/** Replace: in every token, replaces a literal string or an (Oniguruma) regex by `content`. */
export class ReplaceDecoder extends BaseDecoder {
  readonly type = 'Replace';

  /** `pattern` is a literal string, or a global RegExp (a string is never read as a regex). */
  constructor(
    readonly pattern: string | RegExp,
    readonly content: string,
  ) {
    super();
    if (pattern instanceof RegExp && !pattern.global) {
      this.pattern = new RegExp(pattern.source, `${pattern.flags}g`);
    }
  }

  static fromJSON(json: JsonObject, path: string): ReplaceDecoder {
    const pattern = field.object(json, 'pattern', path);
    const content = field.string(json, 'content', path);
    if (typeof pattern.String === 'string') return new ReplaceDecoder(pattern.String, content);
    if (typeof pattern.Regex === 'string') {
      return new ReplaceDecoder(translateOnigRegex(pattern.Regex, `${path}.pattern.Regex`), content);
    }
    throw new ConfigError(
      `${path}.pattern: expected {"String": "..."} or {"Regex": "..."}, got ${describeJson(pattern)} with keys ${JSON.stringify(Object.keys(pattern))}`,
      { field: `${path}.pattern` },
    );
  }

  decodeChain(tokens: string[]): string[] {
    const { pattern, content } = this;
    if (typeof pattern === 'string') return tokens.map((token) => replaceLiteral(token, pattern, content));
    return tokens.map((token) => token.replace(pattern, () => content));
  }
}
