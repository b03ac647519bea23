import { BaseDecoder } from './decoder.js';

/** Fuse: joins all tokens into one, so later decoders in a Sequence see a single string. */
export class FuseDecoder extends BaseDecoder {
  readonly type = 'Fuse';

  decodeChain(tokens: string[]): string[] {
    return [tokens.join('')];
  }
}
