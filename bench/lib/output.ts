/** Where results go: a Markdown report on stdout and the full JSON in bench/out/<name>.json (gitignored). */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { OUT_DIR } from './data.js';

export function writeJsonResult(name: string, result: unknown): string {
  mkdirSync(OUT_DIR, { recursive: true });
  const path = join(OUT_DIR, `${name}.json`);
  writeFileSync(path, `${JSON.stringify(result, null, 2)}\n`);
  return path;
}

/** Progress lines go to stderr so stdout stays a clean Markdown report. */
export function log(message: string): void {
  process.stderr.write(`${message}\n`);
}
