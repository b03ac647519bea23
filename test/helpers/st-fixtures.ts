/**
 * The sentence-transformers fixtures (../shared/fixtures/sentence-transformers): their expected.json, the API
 * options of each recorded call, and the comparison the fixtures' README recommends (floats within
 * 1e-4 + 1e-4·|x|, unit vectors within 1e-5, quantized values exact except where the float lies within 1e-5 of a
 * quantization edge).
 */
import assert from 'node:assert/strict';
import { SUPPORTED_MODEL_TYPES } from '../../src/models/config.js';
import type { FeatureExtractionOptions } from '../../src/pipelines/index.js';
import { readSharedJson, sharedPath, skipUnlessShared } from './shared.js';

export const ST_FIXTURES = ['fixtures', 'sentence-transformers'] as const;

export const BI_ENCODERS = [
  'st-bert-mean-norm',
  'st-bert-cls-prompts',
  'st-mpnet-mean-norm',
  'st-bert-multipool-dense',
  'st-bert-weightedmean',
  'st-bert-lasttoken',
] as const;

export const CROSS_ENCODERS = ['ce-bert-sigmoid', 'ce-bert-identity', 'ce-bert-3labels'] as const;

export interface StCase {
  name: string;
  method: string;
  inputs?: unknown;
  kwargs: Record<string, unknown>;
  output: unknown;
  output_dtype?: string;
  input_ids?: number[][];
  token_type_ids?: number[][];
  ranges?: [number[], number[]];
  pairs?: unknown;
  query?: string;
  documents?: string[];
  prompt_used?: string;
  prompt_length?: number;
  similarity_fn_name?: string;
}

export interface StExpected {
  kind: 'bi-encoder' | 'cross-encoder';
  config: Record<string, unknown>;
  texts: string[];
  input_ids?: number[][];
  cases: StCase[];
}

export function stFolder(name: string): string {
  return sharedPath(...ST_FIXTURES, name);
}

export function readStExpected(name: string): StExpected {
  return readSharedJson<StExpected>(...ST_FIXTURES, name, 'expected.json');
}

/** false, or why a fixture folder's test skips (no shared data; MPNet not registered yet). */
export function skipStFolder(name: string): false | string {
  const missing = skipUnlessShared(...ST_FIXTURES, name);
  if (missing) return missing;
  const modelType = readSharedJson<{ model_type: string }>(...ST_FIXTURES, name, 'config.json').model_type;
  return SUPPORTED_MODEL_TYPES.includes(modelType)
    ? false
    : `skipped: model_type "${modelType}" is not a registered architecture yet (${name} needs it)`;
}

/** The API options of an `encode` / `encode_query` case (Python kwargs → FeatureExtractionOptions). */
export function encodeOptions(c: StCase): FeatureExtractionOptions {
  const k = c.kwargs;
  const options: FeatureExtractionOptions = {};
  if (k.normalize_embeddings === true) options.normalize = true;
  if (typeof k.truncate_dim === 'number') options.truncateDim = k.truncate_dim;
  if (typeof k.precision === 'string')
    options.precision = k.precision as FeatureExtractionOptions['precision'];
  if (typeof k.prompt_name === 'string') options.promptName = k.prompt_name;
  if (typeof k.prompt === 'string') options.prompt = k.prompt;
  if (c.method === 'encode_query') options.promptName = 'query';
  return options;
}

/** Whether a case's output is unit-length (a Normalize module or normalize_embeddings, and no truncation after it). */
function unitLength(expected: StExpected, c: StCase): boolean {
  const modules = expected.config.modules as string[] | undefined;
  if (c.kwargs.normalize_embeddings === true) return true;
  return modules?.includes('Normalize') === true && c.kwargs.truncate_dim === undefined;
}

const EDGE = 1e-5;

/** Asserts a quantized case: exact, except where the float (`floats`) lies within 1e-5 of an edge (one level off). */
function assertQuantized(got: number[][], expected: number[][], c: StCase, floats: number[][]): void {
  const precision = c.kwargs.precision as string;
  expected.forEach((row, i) => {
    assert.equal(got[i]!.length, row.length, `${c.name}[${i}]: width`);
    row.forEach((value, j) => {
      if (got[i]![j] === value) return;
      if (precision === 'binary' || precision === 'ubinary') {
        const bits = (got[i]![j]! ^ value) & 0xff;
        for (let b = 0; b < 8; b++) {
          if (!(bits & (0x80 >> b))) continue;
          const x = floats[i]![j * 8 + b]!;
          assert.ok(Math.abs(x) < EDGE, `${c.name}[${i}][${j}]: bit ${b} differs for ${x}, not near 0`);
        }
        return;
      }
      const [min, max] = c.ranges!;
      const step = Math.fround((max[j]! - min[j]!) / 255);
      const position = (floats[i]![j]! - min[j]!) / step;
      const distance = Math.abs(position - Math.round(position)) * step;
      assert.ok(
        Math.abs(got[i]![j]! - value) === 1 && distance < EDGE,
        `${c.name}[${i}][${j}]: ${got[i]![j]} vs ${value}, float ${floats[i]![j]} is ${distance} from an edge`,
      );
    });
  });
}

/** Compares an encode case's output (2-D, or 1-D for a single text) as the README recommends. */
export function assertEncodeCase(got: unknown, expected: StExpected, c: StCase): void {
  const rows = (c.inputs === 'texts' ? got : [got]) as number[][];
  const want = (c.inputs === 'texts' ? c.output : [c.output]) as number[][];
  assert.equal(rows.length, want.length, `${c.name}: rows`);
  if (c.output_dtype !== 'float32') {
    const floats = expected.cases.find((x) => x.name === 'encode')!.output as number[][];
    assertQuantized(rows, want, c, floats);
    return;
  }
  const unit = unitLength(expected, c);
  want.forEach((row, i) => {
    assert.equal(rows[i]!.length, row.length, `${c.name}[${i}]: width`);
    row.forEach((value, j) => {
      const tolerance = unit ? 1e-5 : 1e-4 + 1e-4 * Math.abs(value);
      const diff = Math.abs(rows[i]![j]! - Math.fround(value));
      assert.ok(diff <= tolerance, `${c.name}[${i}][${j}]: ${rows[i]![j]} vs ${value}`);
    });
  });
}
