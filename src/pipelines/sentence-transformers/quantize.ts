/**
 * Output precision as sentence-transformers' `quantize_embeddings` computes it, in float32 arithmetic as numpy
 * does on float32 embeddings:
 * - int8 / uint8: per dimension `starts = min`, `steps = (max − min) / 255`, `uint8 = trunc((x − starts) / steps)`,
 *   `int8 = trunc((x − starts) / steps − 128)`. The ranges come from calibration (given ranges, or the min and
 *   max of calibration embeddings), otherwise from all the embeddings being quantized together.
 * - ubinary: the sign bits `x > 0` packed eight to a byte, the first dimension in the most significant bit
 *   (numpy's packbits); binary: the same bytes − 128, as int8.
 * One deliberate difference: with calibration ranges a value outside them is clamped to the end levels, where
 * numpy's cast would wrap it around (or be undefined).
 */
import { InputError } from '../../errors.js';

export const PRECISIONS = ['float32', 'int8', 'uint8', 'binary', 'ubinary'] as const;
export type Precision = (typeof PRECISIONS)[number];

/** Per-dimension minimum and maximum (Python's `ranges`, a [2, dim] array). */
export interface QuantizationRanges {
  min: number[];
  max: number[];
}

/** Calibration for int8 / uint8: ranges, or embeddings whose per-dimension ranges are taken. */
export type Calibration = QuantizationRanges | readonly (readonly number[])[];

const f32 = Math.fround;

export function checkPrecision(value: unknown, argument = 'precision'): Precision {
  if (typeof value !== 'string' || !(PRECISIONS as readonly string[]).includes(value)) {
    throw new InputError(
      `${argument}: expected one of ${PRECISIONS.join(', ')}, got ${JSON.stringify(value)}`,
      {
        argument,
      },
    );
  }
  return value as Precision;
}

/** Whether int8 / uint8 needs ranges (binary precisions and float32 quantize each vector alone). */
export function needsRanges(precision: Precision): boolean {
  return precision === 'int8' || precision === 'uint8';
}

/** The per-dimension float32 min and max of `embeddings`. */
export function quantizationRanges(
  embeddings: readonly (readonly number[])[],
  argument = 'calibration',
): QuantizationRanges {
  if (embeddings.length === 0) {
    throw new InputError(`${argument}: no embeddings to take ranges from`, { argument });
  }
  const width = embeddings[0]!.length;
  const min = Array.from(embeddings[0]!, f32);
  const max = [...min];
  embeddings.forEach((row, r) => {
    if (row.length !== width) {
      throw new InputError(`${argument}[${r}]: expected ${width} dimensions, got ${row.length}`, {
        argument,
      });
    }
    for (let j = 0; j < width; j++) {
      const v = f32(row[j]!);
      if (!Number.isFinite(v)) {
        throw new InputError(`${argument}[${r}][${j}]: expected a finite number, got ${row[j]}`, {
          argument,
        });
      }
      if (v < min[j]!) min[j] = v;
      if (v > max[j]!) max[j] = v;
    }
  });
  return { min, max };
}

/** Ranges from a calibration: ranges as given (checked), or those of calibration embeddings. */
export function resolveCalibration(calibration: Calibration, argument = 'calibration'): QuantizationRanges {
  if (Array.isArray(calibration)) return quantizationRanges(calibration as number[][], argument);
  const { min, max } = (calibration ?? {}) as Partial<QuantizationRanges>;
  if (!Array.isArray(min) || !Array.isArray(max) || min.length !== max.length || min.length === 0) {
    throw new InputError(
      `${argument}: expected { min, max } lists of equal length, or a list of calibration embeddings`,
      { argument },
    );
  }
  return { min: min.map(f32), max: max.map(f32) };
}

/** Quantizes one vector; int8 / uint8 need `ranges` of its width. */
export function quantizeEmbedding(
  vector: readonly number[],
  precision: Precision,
  ranges?: QuantizationRanges,
  argument = 'calibration',
): number[] {
  if (precision === 'float32') return Array.from(vector, f32);
  if (precision === 'binary' || precision === 'ubinary') {
    const bytes = new Array<number>(Math.ceil(vector.length / 8)).fill(0);
    for (let j = 0; j < vector.length; j++) if (f32(vector[j]!) > 0) bytes[j >> 3] |= 0x80 >> (j & 7);
    return precision === 'ubinary' ? bytes : bytes.map((b) => b - 128);
  }
  if (ranges === undefined) throw new InputError(`${argument}: ${precision} needs ranges`, { argument });
  if (ranges.min.length !== vector.length) {
    throw new InputError(
      `${argument}: the ranges have ${ranges.min.length} dimensions, the embeddings ${vector.length}`,
      { argument },
    );
  }
  const [low, high, offset] = precision === 'uint8' ? [0, 255, 0] : [-128, 127, 128];
  return vector.map((x, j) => {
    const start = ranges.min[j]!;
    const step = f32(f32(ranges.max[j]! - start) / 255);
    if (!(step > 0)) {
      throw new InputError(
        `${argument}: dimension ${j} has the same minimum and maximum (${start}), so it has no ${precision} levels; ` +
          'quantize more embeddings together or pass calibration embeddings that vary',
        { argument },
      );
    }
    const level = Math.trunc(f32(f32(f32(f32(x) - start) / step) - offset));
    // + 0 turns trunc's -0 into the integer 0.
    return Math.min(high, Math.max(low, level)) + 0;
  });
}

/**
 * Quantizes embeddings together, as `quantize_embeddings(embeddings, precision, ranges)`: int8 / uint8 take the
 * calibration's ranges, or else those of `embeddings` themselves.
 */
export function quantizeEmbeddings(
  embeddings: readonly (readonly number[])[],
  precision: Precision,
  calibration?: Calibration,
): number[][] {
  const ranges = !needsRanges(precision)
    ? undefined
    : calibration !== undefined
      ? resolveCalibration(calibration)
      : quantizationRanges(embeddings, 'embeddings');
  return embeddings.map((vector) => quantizeEmbedding(vector, precision, ranges));
}
