/**
 * JSON for float32 vectors, shared by the server's responses and the CLI's embed rows. Embeddings are float32;
 * printing them as doubles wastes ~40% of the output on digits that carry no information, so each value is written
 * as the shortest decimal that reads back as the same float32 (as PyTorch/TEI print them).
 */

/** Powers of ten that doubles hold exactly (10^0 .. 10^22), so m / 10^k is the double nearest to m·10^-k. */
const EXACT_POWERS_OF_TEN = Array.from({ length: 23 }, (_, i) => 10 ** i);

/**
 * The double that prints (String, JSON.stringify) as the shortest decimal reading back as `value`'s float32, so
 * records holding these numbers serialise compactly through plain JSON.stringify. Non-finite values pass through
 * (JSON writes them as null).
 */
export function shortestFloat32(value: number): number {
  if (!Number.isFinite(value)) return value;
  const f = Math.fround(value);
  if (f === 0) return 0;
  // Round to p significant digits with integer arithmetic (toPrecision is several times slower) and keep the
  // first p that reads back as the same float32; String() then prints that decimal without trailing zeros.
  // Values need at most 9 digits; those needing 5 or fewer already round-trip at p = 6.
  // Ties round away from zero, as toPrecision (and printf) do; Math.round alone would round -x.5 up.
  const sign = f < 0 ? -1 : 1;
  const magnitude = Math.abs(f);
  const exponent = Math.floor(Math.log10(magnitude));
  for (let precision = 6; precision <= 9; precision++) {
    const k = precision - 1 - exponent;
    let candidate: number;
    if (k >= 0 && k <= 22) {
      candidate = (sign * Math.round(magnitude * EXACT_POWERS_OF_TEN[k]!)) / EXACT_POWERS_OF_TEN[k]!;
    } else if (k < 0 && k >= -22) {
      candidate = sign * Math.round(magnitude / EXACT_POWERS_OF_TEN[-k]!) * EXACT_POWERS_OF_TEN[-k]!;
    } else {
      break;
    }
    if (Math.fround(candidate) === f) return candidate;
  }
  // Extreme exponents (beyond 10^±22, rare in model outputs): the slower but general route.
  for (let precision = 1; precision < 9; precision++) {
    const candidate = Number(f.toPrecision(precision));
    if (Math.fround(candidate) === f) return candidate;
  }
  return Number(f.toPrecision(9));
}

/** The JSON text of `value` as a float32: the shortest round-tripping decimal, `null` for NaN and infinities. */
export function float32ToString(value: number): string {
  return Number.isFinite(value) ? String(shortestFloat32(value)) : 'null';
}

/** A vector (or a list of vectors) with every value replaced by its `shortestFloat32`, for JSON output. */
export function shortestFloat32Values(
  values: readonly number[] | readonly (readonly number[])[],
): number[] | number[][] {
  return values.map((v: number | readonly number[]) =>
    typeof v === 'number' ? shortestFloat32(v) : v.map(shortestFloat32),
  ) as number[] | number[][];
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
