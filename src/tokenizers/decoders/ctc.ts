import { field, type JsonObject } from '../registry.js';
import { BaseDecoder, replaceLiteral } from './decoder.js';
import { cleanupTokenization } from './wordpiece.js';

/**
 * CTC (speech models): collapses repeated tokens, drops the pad token and, with cleanup, applies the WordPiece
 * clean-up and turns the word delimiter into a space. Tokens left empty are dropped.
 */
export class CTCDecoder extends BaseDecoder {
  readonly type = 'CTC';

  constructor(
    readonly padToken = '<pad>',
    readonly wordDelimiterToken = '|',
    readonly cleanup = true,
  ) {
    super();
  }

  static fromJSON(json: JsonObject, path: string): CTCDecoder {
    return new CTCDecoder(
      field.string(json, 'pad_token', path, '<pad>'),
      field.string(json, 'word_delimiter_token', path, '|'),
      field.boolean(json, 'cleanup', path, true),
    );
  }

  decodeChain(tokens: string[]): string[] {
    const out: string[] = [];
    tokens.forEach((token, i) => {
      if (i > 0 && token === tokens[i - 1]) return;
      let text = replaceLiteral(token, this.padToken, '');
      if (this.cleanup) text = replaceLiteral(cleanupTokenization(text), this.wordDelimiterToken, ' ');
      if (text.length > 0) out.push(text);
    });
    return out;
  }
}
