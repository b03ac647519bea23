import { BaseDecoder } from './decoder.js';

const strictUtf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/**
 * ByteFallback: runs of `<0xAB>` tokens become the text their bytes spell. A run that is not valid UTF-8
 * becomes one U+FFFD per byte, exactly as in Rust (not the per-subpart substitution of lossy decoding).
 */
export class ByteFallbackDecoder extends BaseDecoder {
  readonly type = 'ByteFallback';

  decodeChain(tokens: string[]): string[] {
    const out: string[] = [];
    let pending: number[] = [];
    const flush = () => {
      if (pending.length === 0) return;
      try {
        out.push(strictUtf8.decode(new Uint8Array(pending)));
      } catch {
        for (let i = 0; i < pending.length; i++) out.push('\ufffd');
      }
      pending = [];
    };
    for (const token of tokens) {
      const byte = parseByteToken(token);
      if (byte === null) {
        flush();
        out.push(token);
      } else {
        pending.push(byte);
      }
    }
    flush();
    return out;
  }
}

/**
 * The byte of a `<0xAB>` token, or null. Like Rust (6 bytes long, `<0x` … `>`, `u8::from_str_radix` on the two
 * characters between), which also accepts a leading `+`, e.g. `<0x+F>`.
 */
function parseByteToken(token: string): number | null {
  if (token.length !== 6 || !token.startsWith('<0x') || token[5] !== '>') return null;
  const digits = token.slice(3, 5);
  if (!/^(?:[0-9A-Fa-f]{2}|\+[0-9A-Fa-f])$/.test(digits)) return null;
  return parseInt(digits, 16);
}
