import { field, type JsonObject } from '../registry.js';
import { BaseDecoder, replaceLiteral } from './decoder.js';

/**
 * The clean-up `transformers` applies after WordPiece decoding: remove the space before punctuation and
 * contractions, in this order (it is also used by the CTC decoder).
 */
export function cleanupTokenization(text: string): string {
  let out = text;
  for (const [from, to] of CLEANUPS) out = replaceLiteral(out, from, to);
  return out;
}

const CLEANUPS: readonly [string, string][] = [
  [' .', '.'],
  [' ?', '?'],
  [' !', '!'],
  [' ,', ','],
  [" ' ", "'"],
  [" n't", "n't"],
  [" 'm", "'m"],
  [' do not', " don't"],
  [" 's", "'s"],
  [" 've", "'ve"],
  [" 're", "'re"],
];

/** WordPiece: strips the continuing prefix from pieces, puts a space before every other token but the first. */
export class WordPieceDecoder extends BaseDecoder {
  readonly type = 'WordPiece';

  constructor(
    readonly prefix = '##',
    readonly cleanup = true,
  ) {
    super();
  }

  static fromJSON(json: JsonObject, path: string): WordPieceDecoder {
    return new WordPieceDecoder(
      field.string(json, 'prefix', path, '##'),
      field.boolean(json, 'cleanup', path, true),
    );
  }

  decodeChain(tokens: string[]): string[] {
    return tokens.map((token, i) => {
      let out = token;
      if (i !== 0) {
        // Rust removes only the first occurrence of the prefix (`replacen(prefix, "", 1)`), which is at the start.
        out = out.startsWith(this.prefix) ? out.replace(this.prefix, () => '') : ` ${out}`;
      }
      return this.cleanup ? cleanupTokenization(out) : out;
    });
  }
}
