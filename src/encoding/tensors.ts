/**
 * [batch, seq] integer tensors for ONNX Runtime, filled in one pass straight from the rows (no intermediate
 * arrays). `new ort.Tensor(t.type, t.data, t.dims)` accepts the result as it is.
 */
import { endianness } from 'node:os';
import { InputError } from '../errors.js';

const LITTLE_ENDIAN = endianness() === 'LE';

export type TensorDType = 'int64' | 'int32';

export interface IntTensor {
  type: TensorDType;
  data: BigInt64Array | Int32Array;
  dims: [number, number];
}

/** Length shared by every row; throws InputError naming the field when the rows are ragged. */
export function rectangularLength(
  rowCount: number,
  rowAt: (row: number) => ArrayLike<unknown>,
  fieldName: string,
): number {
  if (rowCount === 0) return 0;
  const length = rowAt(0).length;
  for (let r = 1; r < rowCount; r++) {
    const rowLength = rowAt(r).length;
    if (rowLength !== length) {
      throw new InputError(
        `${fieldName}: rows have different lengths (row 0 has ${length}, row ${r} has ${rowLength}); ` +
          `cannot build a [batch, seq] tensor: encode with padding (e.g. padding: true) or truncation`,
        { argument: fieldName },
      );
    }
  }
  return length;
}

/** Builds a [rows, length] tensor of `dtype`, copying each row (`rowAt(r)`, `length` values) in place. */
export function buildTensor(
  rowCount: number,
  length: number,
  dtype: TensorDType,
  rowAt: (row: number) => ArrayLike<number>,
): IntTensor {
  const size = rowCount * length;
  if (dtype === 'int32') {
    const data = new Int32Array(size);
    for (let r = 0, k = 0; r < rowCount; r++) {
      const row = rowAt(r);
      for (let c = 0; c < length; c++, k++) data[k] = row[c];
    }
    return { type: dtype, data, dims: [rowCount, length] };
  }
  if (dtype !== 'int64') {
    throw new InputError(`dtype: expected 'int64' or 'int32', got ${JSON.stringify(dtype)}`, {
      argument: 'dtype',
    });
  }
  const data = new BigInt64Array(size);
  if (LITTLE_ENDIAN) {
    // Writing the two 32-bit halves through an Int32Array view is several times faster than BigInt() per value.
    const halves = new Int32Array(data.buffer, data.byteOffset, size * 2);
    for (let r = 0, k = 0; r < rowCount; r++) {
      const row = rowAt(r);
      for (let c = 0; c < length; c++, k += 2) {
        const value = row[c];
        halves[k] = value;
        halves[k + 1] = value < 0 ? -1 : 0;
      }
    }
  } else {
    for (let r = 0, k = 0; r < rowCount; r++) {
      const row = rowAt(r);
      for (let c = 0; c < length; c++, k++) data[k] = BigInt(row[c]);
    }
  }
  return { type: dtype, data, dims: [rowCount, length] };
}

/** A tensor from plain number rows (e.g. the features given to `pad`). */
export function rowsToTensor(
  rows: readonly (readonly number[])[],
  dtype: TensorDType,
  fieldName: string,
): IntTensor {
  const length = rectangularLength(rows.length, (r) => rows[r], fieldName);
  return buildTensor(rows.length, length, dtype, (r) => rows[r]);
}
