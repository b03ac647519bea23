import { ConfigError } from '../../errors.js';
import { nonNegativeInteger } from '../models/fields.js';
import { field, type JsonObject } from '../registry.js';
import { BaseDecoder } from './decoder.js';

/** Strip: removes up to `start` leading and `stop` trailing `content` characters from every token. */
export class StripDecoder extends BaseDecoder {
  readonly type = 'Strip';

  constructor(
    readonly content: string,
    readonly start: number,
    readonly stop: number,
  ) {
    super();
  }

  static fromJSON(json: JsonObject, path: string): StripDecoder {
    const content = field.string(json, 'content', path);
    if ([...content].length !== 1) {
      throw new ConfigError(`${path}.content: expected a single character, got ${JSON.stringify(content)}`, {
        field: `${path}.content`,
      });
    }
    return new StripDecoder(
      content,
      nonNegativeInteger(json, 'start', path, 0),
      nonNegativeInteger(json, 'stop', path, 0),
    );
  }

  decodeChain(tokens: string[]): string[] {
    return tokens.map((token) => {
      const chars = [...token];
      let startCut = 0;
      while (startCut < this.start && startCut < chars.length && chars[startCut] === this.content) startCut++;
      let stopCut = chars.length;
      // Rust would panic past the start of the token; stop there instead.
      while (chars.length - stopCut < this.stop && stopCut > startCut && chars[stopCut - 1] === this.content)
        stopCut--;
      return chars.slice(startCut, stopCut).join('');
    });
  }
}
