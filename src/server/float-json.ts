/**
 * JSON for float32 vectors. Embeddings are float32; printing them as doubles wastes ~40% of the response on digits
 * that carry no information, so each value is written as the shortest decimal that reads back as the same float32
 * (as PyTorch/TEI print them).
 */

export function float32ToString(value: number): string {
  if (!Number.isFinite(value)) return 'null'; // JSON has no NaN/Infinity
  const f = Math.fround(value);
  for (let precision = 6; precision < 9; precision++) {
    const candidate = Number(f.toPrecision(precision));
    if (Math.fround(candidate) === f) return String(candidate);
  }
  return String(Number(f.toPrecision(9)));
}

export function float32ArrayJson(values: ArrayLike<number>): string {
  let out = '[';
  for (let i = 0; i < values.length; i++) {
    if (i > 0) out += ',';
    out += float32ToString(values[i]!);
  }
  return out + ']';
}

/** Little-endian float32 bytes, base64-encoded (OpenAI's `encoding_format: "base64"`). */
export function float32Base64(values: ArrayLike<number>): string {
  const bytes = Buffer.allocUnsafe(values.length * 4);
  for (let i = 0; i < values.length; i++) bytes.writeFloatLE(values[i]!, i * 4);
  return bytes.toString('base64');
}
