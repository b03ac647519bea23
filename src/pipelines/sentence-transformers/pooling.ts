/**
 * sentence-transformers' Pooling module (`1_Pooling/config.json`): token embeddings of one row → one vector.
 * Every mode of the Python module, concatenated in its fixed order whatever the config's order: cls, max, mean,
 * mean_sqrt_len_tokens, weightedmean, lasttoken. With `include_prompt: false` the prompt's positions are taken
 * out of the mask first (positions keep their numbers, as in Python).
 */
import { join } from 'node:path';
import { ConfigError } from '../../errors.js';
import { optionalBoolean, optionalPositiveInteger, readJsonObject } from './json-file.js';

export type PoolingMode = 'cls' | 'max' | 'mean' | 'mean_sqrt_len' | 'weightedmean' | 'lasttoken';

/** Python's concatenation order, with the config flag of each mode. */
const POOLING_FLAGS: ReadonlyArray<readonly [PoolingMode, string]> = [
  ['cls', 'pooling_mode_cls_token'],
  ['max', 'pooling_mode_max_tokens'],
  ['mean', 'pooling_mode_mean_tokens'],
  ['mean_sqrt_len', 'pooling_mode_mean_sqrt_len_tokens'],
  ['weightedmean', 'pooling_mode_weightedmean_tokens'],
  ['lasttoken', 'pooling_mode_lasttoken'],
];

export const POOLING_MODES: readonly PoolingMode[] = POOLING_FLAGS.map(([mode]) => mode);

export interface PoolingConfig {
  /** The enabled modes, in Python's order. */
  modes: PoolingMode[];
  /** false: the prompt's tokens are left out of the pooling (instruction models). */
  includePrompt: boolean;
  /** word_embedding_dimension, when the file gives it. */
  wordEmbeddingDimension: number | undefined;
}

/** Puts modes in Python's concatenation order, without repeats. */
export function orderPoolingModes(modes: readonly PoolingMode[]): PoolingMode[] {
  return POOLING_MODES.filter((mode) => modes.includes(mode));
}

export function readPoolingConfig(dir: string): PoolingConfig {
  const file = join(dir, 'config.json');
  const json = readJsonObject(file);
  const modes = POOLING_FLAGS.filter(([, flag]) => optionalBoolean(json, flag, file) === true).map(
    ([mode]) => mode,
  );
  if (modes.length === 0) {
    throw new ConfigError(
      `${file}: no pooling mode is enabled (set one of ${POOLING_FLAGS.map(([, f]) => f).join(', ')})`,
      {
        file,
        field: 'pooling_mode_mean_tokens',
      },
    );
  }
  return {
    modes,
    includePrompt: optionalBoolean(json, 'include_prompt', file) ?? true,
    wordEmbeddingDimension: optionalPositiveInteger(json, 'word_embedding_dimension', file),
  };
}

/**
 * Pools `tokens` ([length × width], every position a real token) with each mode and concatenates the results.
 * The first `maskedPrefix` positions (a prompt, with include_prompt false) count as masked, except for cls.
 */
export function poolTokens(
  tokens: Float32Array,
  length: number,
  width: number,
  modes: readonly PoolingMode[],
  maskedPrefix = 0,
): number[] {
  const first = Math.min(maskedPrefix, length);
  const out: number[] = [];
  for (const mode of orderPoolingModes(modes)) {
    switch (mode) {
      case 'cls':
        for (let j = 0; j < width; j++) out.push(tokens[j]!);
        break;
      case 'max':
        for (let j = 0; j < width; j++) {
          // Python sets masked positions to -1e9 before the max, so a fully masked row gives -1e9.
          let best = first > 0 ? -1e9 : -Infinity;
          for (let t = first; t < length; t++) best = Math.max(best, tokens[t * width + j]!);
          out.push(best);
        }
        break;
      case 'mean':
      case 'mean_sqrt_len': {
        // The token count is clamped at 1e-9, as in Python (a fully masked row gives zeros, not NaN).
        const count = Math.max(length - first, 1e-9);
        const divisor = mode === 'mean' ? count : Math.sqrt(count);
        for (let j = 0; j < width; j++) {
          let sum = 0;
          for (let t = first; t < length; t++) sum += tokens[t * width + j]!;
          out.push(sum / divisor);
        }
        break;
      }
      case 'weightedmean': {
        // Position t (0-based) weighs t + 1.
        let weights = 0;
        for (let t = first; t < length; t++) weights += t + 1;
        const divisor = Math.max(weights, 1e-9);
        for (let j = 0; j < width; j++) {
          let sum = 0;
          for (let t = first; t < length; t++) sum += (t + 1) * tokens[t * width + j]!;
          out.push(sum / divisor);
        }
        break;
      }
      case 'lasttoken': {
        // The last unmasked position; Python falls back to position 0 when every position is masked.
        const last = first < length ? length - 1 : 0;
        for (let j = 0; j < width; j++) out.push(tokens[last * width + j]!);
        break;
      }
    }
  }
  return out;
}
