/**
 * What the long-input benchmark and its memory test share: one very long line of real prose, and the peak RSS of
 * a child process (Node gives no way to read a child's rusage, so the child reports its own as it exits).
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/**
 * The cheap model of these runs: a 1-layer, 8-wide DistilBERT with the demo model's vocabulary and tokenizer
 * (`makeRandomCheckpoint` options, with `referenceDir` the demo folder), so tokenising and windowing dominate.
 */
export const TINY_DEMO_SHAPE = { seed: 7, layers: 1, hidden: 8, heads: 2, intermediate: 8 };

/** One line of about `chars` UTF-16 units: three Gutenberg books of `sharedDir`, whitespace folded, repeated. */
export function bookLine(sharedDir: string, chars: number): string {
  const dir = join(sharedDir, 'datasets', 'gutenberg');
  const books = ['moby-dick_2701-0.txt', 'war-and-peace_2600-0.txt', 'pride-and-prejudice_1342-0.txt']
    .map((file) => readFileSync(join(dir, file), 'utf8'))
    .join(' ')
    .replace(/\s+/g, ' ');
  return books
    .repeat(Math.ceil(chars / books.length))
    .slice(0, chars)
    .trim();
}

/** Writes, as `file`, a module to load with `--import` that prints the process's peak RSS when it exits. */
export function writePeakRssPreload(file: string): void {
  writeFileSync(
    file,
    "process.on('exit', () => process.stderr.write(`peak-rss-kb ${process.resourceUsage().maxRSS}\\n`));\n",
  );
}

/** The peak RSS in MB a child reported on its stderr (its worker threads may report too: the largest). */
export function peakRssMb(stderr: string): number {
  const peaks = [...stderr.matchAll(/peak-rss-kb (\d+)/g)].map((m) => Number(m[1]));
  return Math.max(...peaks) / 1024;
}
