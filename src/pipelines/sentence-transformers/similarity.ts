/**
 * Similarity of embeddings as sentence-transformers defines it (`util.similarity`): cosine (dot product of the
 * L2-normalised vectors), dot, and the negated euclidean and manhattan distances, so that for every function a
 * larger value means more similar. `similarity` gives the [a × b] matrix, `similarityPairwise` row i of a against
 * row i of b.
 */
import { InputError } from '../../errors.js';
import { l2Normalize } from '../math.js';

export const SIMILARITY_FUNCTIONS = ['cosine', 'dot', 'euclidean', 'manhattan'] as const;
export type SimilarityFunctionName = (typeof SIMILARITY_FUNCTIONS)[number];

type Pair = (a: readonly number[], b: readonly number[]) => number;

function dot(a: readonly number[], b: readonly number[]): number {
  let sum = 0;
  for (let i = 0; i < a.length; i++) sum += a[i]! * b[i]!;
  return sum;
}

const PAIR: Record<SimilarityFunctionName, Pair> = {
  cosine: dot, // on vectors normalised beforehand
  dot,
  euclidean: (a, b) => {
    let sum = 0;
    for (let i = 0; i < a.length; i++) sum += (a[i]! - b[i]!) ** 2;
    return -Math.sqrt(sum);
  },
  manhattan: (a, b) => {
    let sum = 0;
    for (let i = 0; i < a.length; i++) sum += Math.abs(a[i]! - b[i]!);
    return -sum;
  },
};

export function checkSimilarityFunction(name: unknown, argument = 'similarityFn'): SimilarityFunctionName {
  if (typeof name !== 'string' || !(SIMILARITY_FUNCTIONS as readonly string[]).includes(name)) {
    throw new InputError(
      `${argument}: expected one of ${SIMILARITY_FUNCTIONS.join(', ')}, got ${JSON.stringify(name)}`,
      { argument },
    );
  }
  return name as SimilarityFunctionName;
}

/** Checks a list of equally long vectors (a single vector counts as a list of one). */
function readVectors(value: unknown, argument: string, width?: number): number[][] {
  if (!Array.isArray(value)) {
    throw new InputError(`${argument}: expected a vector or a list of vectors`, { argument });
  }
  const rows = (value.length > 0 && typeof value[0] === 'number' ? [value] : value) as unknown[];
  const size = width ?? (Array.isArray(rows[0]) ? rows[0].length : 0);
  rows.forEach((row, i) => {
    if (
      !Array.isArray(row) ||
      row.length !== size ||
      row.length === 0 ||
      !row.every((v) => typeof v === 'number' && Number.isFinite(v))
    ) {
      throw new InputError(`${argument}[${i}]: expected ${size || 'a non-empty list of'} finite numbers`, {
        argument,
      });
    }
  });
  return rows as number[][];
}

function prepare(a: unknown, b: unknown, fn: unknown): { left: number[][]; right: number[][]; pair: Pair } {
  const name = checkSimilarityFunction(fn ?? 'cosine');
  const left = readVectors(a, 'a');
  const right = readVectors(b, 'b', left[0]?.length);
  const norm = (rows: number[][]) => (name === 'cosine' ? rows.map((r) => l2Normalize(r)) : rows);
  return { left: norm(left), right: norm(right), pair: PAIR[name] };
}

/** The [a.length × b.length] similarity matrix (one vector counts as a list of one). Default: cosine. */
export function similarity(
  a: readonly (readonly number[])[] | readonly number[],
  b: readonly (readonly number[])[] | readonly number[],
  fn: SimilarityFunctionName = 'cosine',
): number[][] {
  const { left, right, pair } = prepare(a, b, fn);
  return left.map((x) => right.map((y) => pair(x, y)));
}

/** Row i of a against row i of b (equal counts). Default: cosine. */
export function similarityPairwise(
  a: readonly (readonly number[])[],
  b: readonly (readonly number[])[],
  fn: SimilarityFunctionName = 'cosine',
): number[] {
  const { left, right, pair } = prepare(a, b, fn);
  if (left.length !== right.length) {
    throw new InputError(`b: expected ${left.length} vectors (as many as a), got ${right.length}`, {
      argument: 'b',
    });
  }
  return left.map((x, i) => pair(x, right[i]!));
}
