import { field, type JsonObject } from '../registry.js';
import { BaseDecoder, replaceLiteral } from './decoder.js';

/** BPEDecoder: the end-of-word suffix becomes a space, except in the last token where it is removed. */
export class BPEDecoder extends BaseDecoder {
  readonly type = 'BPEDecoder';

  constructor(readonly suffix = '</w>') {
    super();
  }

  static fromJSON(json: JsonObject, path: string): BPEDecoder {
    return new BPEDecoder(field.string(json, 'suffix', path, '</w>'));
  }

  decodeChain(tokens: string[]): string[] {
    const last = tokens.length - 1;
    return tokens.map((token, i) => replaceLiteral(token, this.suffix, i === last ? '' : ' '));
  }
}
