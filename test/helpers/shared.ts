/**
 * The one place tests find the shared data (fixtures, real tokenizer files, datasets) that lives beside the repo
 * in ../shared. Third-party files are never committed; when ../shared is absent the tests that need it skip,
 * saying why.
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');

/** Absolute path of the shared data folder (SEQBATCH_SHARED overrides ../shared). */
export const SHARED_DIR = process.env.SEQBATCH_SHARED ?? resolve(repoRoot, '..', 'shared');

export const REPO_ROOT = repoRoot;

/** Path inside ../shared, e.g. sharedPath('fixtures', 'tokenizers'). */
export function sharedPath(...parts: string[]): string {
  return join(SHARED_DIR, ...parts);
}

/**
 * For `test(name, { skip: skipUnlessShared('fixtures/models') }, ...)`: false when the path exists,
 * otherwise a message saying what is missing and why the test skips.
 */
export function skipUnlessShared(...parts: string[]): false | string {
  const p = sharedPath(...parts);
  return existsSync(p)
    ? false
    : `skipped: shared data not found at ${p} (../shared beside the repo holds the fixtures)`;
}

/** The sentences (first column) of a GLUE SST-2 split in ../shared/datasets/sst2, in file order, as written. */
export function sst2Sentences(split: 'train' | 'dev' | 'test' = 'dev', count?: number): string[] {
  return readFileSync(sharedPath('datasets', 'sst2', `${split}.tsv`), 'utf8')
    .split('\n')
    .slice(1)
    .filter((line) => line.trim() !== '')
    .slice(0, count)
    .map((line) => line.split('\t')[0]!);
}

export function readSharedJson<T = unknown>(...parts: string[]): T {
  return JSON.parse(readFileSync(sharedPath(...parts), 'utf8')) as T;
}

/**
 * Converts [start, end) offsets counted in Unicode code points (as the fixtures and Python record them) to
 * UTF-16 code unit offsets of the same JavaScript string.
 */
export function codePointOffsetsToUtf16(text: string, offsets: [number, number][]): [number, number][] {
  const unitIndex: number[] = [];
  let unit = 0;
  for (const ch of text) {
    unitIndex.push(unit);
    unit += ch.length;
  }
  unitIndex.push(unit);
  return offsets.map(([s, e]) => [unitIndex[s] ?? unit, unitIndex[e] ?? unit]);
}
