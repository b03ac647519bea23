/**
 * `--calibration FILE` for int8 / uint8 embeddings: the per-dimension ranges as JSON (`{"min": [...], "max":
 * [...]}`, or `[[min...], [max...]]` as Python's `ranges` array), or calibration embeddings as JSONL rows
 * (`{"embedding": [...]}`, what `seqbatch embed` writes, or bare arrays) whose per-dimension min and max are taken.
 */
import { readFileSync } from 'node:fs';
import { InputError } from '../../errors.js';
import { quantizationRanges, resolveCalibration, type QuantizationRanges } from '../../pipelines/index.js';

const FLAG = '--calibration';

function fail(file: string, what: string): never {
  throw new InputError(`${FLAG}: ${file}: ${what}`, { argument: FLAG });
}

/** One JSONL line's vector: `{"embedding": [...]}` or a bare array of numbers. */
function lineVector(value: unknown, file: string, line: number): number[] {
  const vector = Array.isArray(value) ? value : (value as { embedding?: unknown } | null)?.embedding;
  if (!Array.isArray(vector) || vector.length === 0 || !vector.every((v) => typeof v === 'number')) {
    fail(file, `line ${line}: expected {"embedding": [numbers]} or an array of numbers`);
  }
  return vector as number[];
}

export function readCalibrationFile(file: string): QuantizationRanges {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    fail(file, `cannot read (${(error as Error).message})`);
  }
  let whole: unknown;
  try {
    whole = JSON.parse(text);
  } catch {
    whole = undefined; // not one JSON value: JSONL
  }
  if (whole !== undefined) {
    if (Array.isArray(whole) && whole.length === 2 && Array.isArray(whole[0]) && Array.isArray(whole[1])) {
      return resolveCalibration({ min: whole[0] as number[], max: whole[1] as number[] }, FLAG);
    }
    if (whole !== null && typeof whole === 'object' && 'min' in whole) {
      return resolveCalibration(whole as QuantizationRanges, FLAG);
    }
  }
  const vectors: number[][] = [];
  text.split('\n').forEach((line, i) => {
    if (line.trim() === '') return;
    let value: unknown;
    try {
      value = JSON.parse(line);
    } catch {
      fail(file, `line ${i + 1} is not JSON`);
    }
    vectors.push(lineVector(value, file, i + 1));
  });
  if (vectors.length === 0) fail(file, 'holds no ranges and no embeddings');
  return quantizationRanges(vectors, FLAG);
}
