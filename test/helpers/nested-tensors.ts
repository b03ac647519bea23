/**
 * The model fixtures record tensors as nested JSON arrays (see ../shared/fixtures/README.md): flattening them,
 * feeding them to ONNX Runtime as int64, and comparing outputs with them element-wise.
 */
import assert from 'node:assert/strict';
import * as ort from 'onnxruntime-node';

/** A number or a nested array of numbers, as the fixtures write tensors. */
export type Nested = number | Nested[];

/** Row-major data and the dims (read along the first element of each level). */
export function flattenNested(value: Nested): { data: number[]; dims: number[] } {
  const dims: number[] = [];
  for (let v: Nested = value; Array.isArray(v); v = v[0]!) dims.push(v.length);
  return {
    data: Array.isArray(value) ? ((value as Nested[]).flat(Infinity as 1) as number[]) : [value],
    dims,
  };
}

/** An ONNX Runtime int64 tensor of integer values (ids, masks). */
export function int64Tensor(value: Nested): ort.Tensor {
  const { data, dims } = flattenNested(value);
  return new ort.Tensor('int64', BigInt64Array.from(data, BigInt), dims);
}

export interface CloseOptions {
  /** An expected exact 0 (a masked or excluded attention entry) must be exactly 0 too. */
  exactZeros?: boolean;
}

/**
 * Same dims, and |got − expected| ≤ atol + rtol·|expected| element-wise, against the expected values rounded
 * to float32. Returns the largest absolute difference.
 */
export function assertTensorClose(
  got: { readonly dims: readonly number[]; readonly data: unknown },
  expected: Nested,
  what: string,
  atol: number,
  rtol: number,
  options: CloseOptions = {},
): number {
  const want = flattenNested(expected);
  assert.deepEqual([...got.dims], want.dims, `${what}: shape`);
  const data = got.data as ArrayLike<number>;
  let worst = 0;
  for (let i = 0; i < want.data.length; i++) {
    const e = Math.fround(want.data[i]!);
    const diff = Math.abs(data[i]! - e);
    if (!(diff <= atol + rtol * Math.abs(e)) || (options.exactZeros && e === 0 && data[i] !== 0)) {
      assert.fail(`${what}[${i}]: got ${data[i]}, expected ${e} (diff ${diff})`);
    }
    worst = Math.max(worst, diff);
  }
  return worst;
}
