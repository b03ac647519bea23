/**
 * Pooling of token embeddings into one vector, as sentence-transformers' Pooling module computes it over the
 * real (attention-masked) tokens: CLS, mean, max, and mean divided by √length. Several modes concatenate in
 * sentence-transformers' order (cls, max, mean, mean_sqrt_len).
 */
export type PoolingMode = 'cls' | 'mean' | 'max' | 'mean_sqrt_len';

/** Pools `tokens` ([length × width], every token real) with each mode and concatenates the results. */
export function poolTokens(
  tokens: Float32Array,
  length: number,
  width: number,
  modes: readonly PoolingMode[],
): number[] {
  const out: number[] = [];
  for (const mode of modes) {
    if (mode === 'cls') {
      for (let j = 0; j < width; j++) out.push(tokens[j]);
      continue;
    }
    if (mode === 'max') {
      for (let j = 0; j < width; j++) {
        let best = -Infinity;
        for (let t = 0; t < length; t++) best = Math.max(best, tokens[t * width + j]);
        out.push(best);
      }
      continue;
    }
    // sentence-transformers clamps the token count at 1e-9 (an empty row would otherwise divide by zero).
    const count = Math.max(length, 1e-9);
    const divisor = mode === 'mean' ? count : Math.sqrt(count);
    for (let j = 0; j < width; j++) {
      let sum = 0;
      for (let t = 0; t < length; t++) sum += tokens[t * width + j];
      out.push(sum / divisor);
    }
  }
  return out;
}
