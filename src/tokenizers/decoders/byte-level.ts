import { UNICODE_TO_BYTES } from '../byte-level.js';
import { BaseDecoder } from './decoder.js';

const utf8 = new TextEncoder();
/** Non-fatal UTF-8 decoding substitutes U+FFFD per maximal invalid subpart, as Rust's `from_utf8_lossy`. */
const lossyUtf8 = new TextDecoder('utf-8', { fatal: false, ignoreBOM: true });

/**
 * ByteLevel: maps each token's characters back to bytes through the GPT-2 table (a token with a character
 * outside the table keeps its own UTF-8 bytes), concatenates all bytes and decodes them as UTF-8.
 */
export class ByteLevelDecoder extends BaseDecoder {
  readonly type = 'ByteLevel';

  decodeChain(tokens: string[]): string[] {
    const chunks: Uint8Array[] = [];
    let total = 0;
    for (const token of tokens) {
      const bytes = tokenBytes(token);
      chunks.push(bytes);
      total += bytes.length;
    }
    const all = new Uint8Array(total);
    let offset = 0;
    for (const chunk of chunks) {
      all.set(chunk, offset);
      offset += chunk.length;
    }
    return [lossyUtf8.decode(all)];
  }
}

function tokenBytes(token: string): Uint8Array {
  const bytes = new Uint8Array(token.length);
  let n = 0;
  for (const char of token) {
    const byte = UNICODE_TO_BYTES.get(char);
    if (byte === undefined) return utf8.encode(token);
    bytes[n++] = byte;
  }
  return bytes.subarray(0, n);
}
