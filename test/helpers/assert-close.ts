/** Comparing nested results (numbers inside arrays and records) with a tolerance on every number. */
import assert from 'node:assert/strict';

/**
 * Asserts `got` has the shape of `expected` (array lengths, object keys) with every number within `tolerance`
 * and every other value equal; a failure names the path of the first difference (`root[2].score`).
 */
export function assertDeepClose(got: unknown, expected: unknown, tolerance: number, path: string): void {
  if (typeof expected === 'number') {
    assert.ok(
      typeof got === 'number' && Math.abs(got - expected) <= tolerance,
      `${path}: ${String(got)} vs ${expected}`,
    );
  } else if (Array.isArray(expected)) {
    assert.ok(Array.isArray(got) && got.length === expected.length, `${path}: length`);
    expected.forEach((e, i) => assertDeepClose((got as unknown[])[i], e, tolerance, `${path}[${i}]`));
  } else if (expected !== null && typeof expected === 'object') {
    assert.deepEqual(Object.keys(got as object).sort(), Object.keys(expected).sort(), `${path}: keys`);
    for (const [k, v] of Object.entries(expected))
      assertDeepClose((got as Record<string, unknown>)[k], v, tolerance, `${path}.${k}`);
  } else assert.equal(got, expected, path);
}

/** `assertDeepClose` with a fixed tolerance; `root` names the compared value in messages. */
export function deepCloseAsserter(
  tolerance: number,
  root: string,
): (got: unknown, expected: unknown, path?: string) => void {
  return (got, expected, path = root) => assertDeepClose(got, expected, tolerance, path);
}
