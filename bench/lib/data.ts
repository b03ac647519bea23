/**
 * Where the benchmark inputs live: the third-party datasets and tokenizers in ../shared (never copied into the
 * repo; SEQBATCH_SHARED overrides the location) and the generated checkpoints under .cache/bench.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { REPO_ROOT } from './child.js';

export const SHARED_DIR = process.env.SEQBATCH_SHARED ?? resolve(REPO_ROOT, '..', 'shared');
export const BENCH_CACHE_DIR = join(REPO_ROOT, '.cache', 'bench');
export const OUT_DIR = join(REPO_ROOT, 'bench', 'out');

export function sharedPath(...parts: string[]): string {
  const path = join(SHARED_DIR, ...parts);
  if (!existsSync(path)) {
    throw new Error(`${path} not found: the benchmarks read ../shared beside the repo (or SEQBATCH_SHARED)`);
  }
  return path;
}

/** The `sentence` column of a GLUE SST-2 TSV file (header `sentence\tlabel`). */
export function readSst2Sentences(split: 'train' | 'dev'): string[] {
  const lines = readFileSync(sharedPath('datasets', 'sst2', `${split}.tsv`), 'utf8').split('\n');
  const header = lines[0].split('\t');
  const column = header.indexOf('sentence');
  if (column < 0) throw new Error(`sst2/${split}.tsv: no "sentence" column in ${JSON.stringify(header)}`);
  return lines
    .slice(1)
    .filter((line) => line.length > 0)
    .map((line) => line.split('\t')[column]);
}

/** The `label` column of SST-2 (0 negative, 1 positive). */
export function readSst2Labels(split: 'train' | 'dev'): number[] {
  const lines = readFileSync(sharedPath('datasets', 'sst2', `${split}.tsv`), 'utf8').split('\n');
  const column = lines[0].split('\t').indexOf('label');
  return lines
    .slice(1)
    .filter((line) => line.length > 0)
    .map((line) => Number(line.split('\t')[column]));
}

export function utf8Bytes(texts: readonly string[]): number {
  let total = 0;
  for (const text of texts) total += Buffer.byteLength(text, 'utf8');
  return total;
}
