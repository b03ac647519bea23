/**
 * ByteLevel post-processing (GPT-2 / RoBERTa): optionally trims the offsets of byte-level tokens so they do not
 * cover the spaces the pre-tokenizer folded into the token (`Ġ`), as the Rust core's `process_offsets` does.
 */
import type { Encoding } from '../../encoding/encoding.js';
import { BYTES_TO_UNICODE } from '../byte-level.js';
import { field, type JsonObject } from '../registry.js';
import { BasePostProcessor, keepLayout, type LayoutPiece } from './post-processor.js';

const SPACE_CHAR = BYTES_TO_UNICODE[0x20];
const WHITESPACE = /^\p{White_Space}$/u;

function isSpaceLike(ch: string): boolean {
  return ch === SPACE_CHAR || WHITESPACE.test(ch);
}

/**
 * Moves each token's offsets past its leading and before its trailing spaces (`Ġ` or whitespace characters).
 * Every such character stands for one UTF-16 unit of the text. With `addPrefixSpace`, a single leading space on
 * the first token of the text was added by the pre-tokenizer and is kept.
 */
export function trimByteLevelOffsets(encoding: Encoding, addPrefixSpace: boolean): void {
  const { tokens, offsets } = encoding;
  for (let i = 0; i < tokens.length; i++) {
    const chars = Array.from(tokens[i]);
    let leading = 0;
    while (leading < chars.length && isSpaceLike(chars[leading])) leading++;
    let trailing = 0;
    while (trailing < chars.length && isSpaceLike(chars[chars.length - 1 - trailing])) trailing++;
    if (leading === 0 && trailing === 0) continue;
    const offset = offsets[i];
    if (leading > 0) {
      // Pretokenized input restarts offsets at 0 for every word, so "first" also means "starts at 0".
      const isFirst = i === 0 || offset[0] === 0;
      if (!(isFirst && addPrefixSpace && leading === 1)) offset[0] = Math.min(offset[0] + leading, offset[1]);
    }
    if (trailing > 0 && offset[1] >= trailing) offset[1] = Math.max(offset[1] - trailing, offset[0]);
  }
}

export class ByteLevelProcessing extends BasePostProcessor {
  readonly type = 'ByteLevel';

  constructor(
    readonly trimOffsets: boolean,
    readonly addPrefixSpace: boolean,
  ) {
    super();
  }

  static fromJSON(json: JsonObject, path: string): ByteLevelProcessing {
    return new ByteLevelProcessing(
      field.boolean(json, 'trim_offsets', path, true),
      field.boolean(json, 'add_prefix_space', path, true),
    );
  }

  addedTokens(): number {
    return 0;
  }

  /** Offset trimming leaves ids and type ids alone. */
  idLayout(isPair: boolean): readonly LayoutPiece[] {
    return keepLayout(isPair);
  }

  processEncodings(encodings: Encoding[]): Encoding[] {
    if (this.trimOffsets)
      for (const encoding of encodings) trimByteLevelOffsets(encoding, this.addPrefixSpace);
    return encodings;
  }
}
