/** The worker side of bench/lib/child.ts: argument parsing and the one result line. */
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { RESULT_PREFIX } from './child.js';

/** Peak resident set size of this process so far, in MiB (Linux reports maxRSS in KiB). */
export function peakRssMiB(): number {
  return Math.round((process.resourceUsage().maxRSS / 1024) * 10) / 10;
}

/** Prints the result line (with this process's peak RSS) and exits. */
export function sendResult(result: object): never {
  process.stdout.write(`${RESULT_PREFIX}${JSON.stringify({ ...result, peakRssMiB: peakRssMiB() })}\n`);
  process.exit(0);
}

/** Parses `--name value` options; a worker is only ever called by its parent script, so errors just throw. */
export function workerArgs<
  T extends Record<string, { type: 'string' | 'boolean'; default?: string | boolean }>,
>(options: T): { [K in keyof T]: (T[K]['type'] extends 'boolean' ? boolean : string) | undefined } {
  const config: ParseArgsConfig = { options, strict: true, allowPositionals: false };
  return parseArgs(config).values as {
    [K in keyof T]: (T[K]['type'] extends 'boolean' ? boolean : string) | undefined;
  };
}

/** Seconds since `start` (a performance.now() reading). */
export function secondsSince(start: number): number {
  return (performance.now() - start) / 1000;
}
