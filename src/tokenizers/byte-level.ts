/**
 * GPT-2's reversible byte ↔ printable-character table, shared by the ByteLevel pre-tokenizer, post-processor and
 * decoder. Printable Latin-1 bytes map to themselves; the other 68 bytes map to U+0100 upwards so that no byte
 * becomes whitespace or a control character.
 */
function buildByteTable(): string[] {
  const table: string[] = new Array(256);
  const printable = (b: number) =>
    (b >= 0x21 && b <= 0x7e) || (b >= 0xa1 && b <= 0xac) || (b >= 0xae && b <= 0xff);
  let next = 0;
  for (let b = 0; b < 256; b++) {
    table[b] = String.fromCharCode(printable(b) ? b : 256 + next++);
  }
  return table;
}

/** BYTES_TO_UNICODE[byte] is the one-character string standing for that byte. */
export const BYTES_TO_UNICODE: readonly string[] = buildByteTable();

/** Inverse of BYTES_TO_UNICODE. */
export const UNICODE_TO_BYTES: ReadonlyMap<string, number> = new Map(
  BYTES_TO_UNICODE.map((ch, byte) => [ch, byte]),
);
