/**
 * Interleaved repetition: round r runs every variant once, each in a fresh process, so slow drifts in machine
 * load hit all peers alike; the order rotates by one each round so no peer always runs first. The caller takes
 * medians over rounds.
 */
import { log } from './output.js';
import { runWorker, type WorkerRun } from './child.js';

/**
 * The command-line options every round-based peer benchmark takes (node:util parseArgs form): run workers with
 * tsx instead of compiled JS, rounds and passes per peer, a text limit, intra-op threads, a small checkpoint.
 */
export const ROUND_OPTIONS = {
  tsx: { type: 'boolean', default: false },
  rounds: { type: 'string', default: '3' },
  passes: { type: 'string', default: '1' },
  limit: { type: 'string' },
  threads: { type: 'string', default: '2' },
  small: { type: 'boolean', default: false },
} as const;

export interface Variant {
  /** Row label in the report. */
  name: string;
  run: WorkerRun;
}

export async function runRounds<T>(variants: readonly Variant[], rounds: number): Promise<Map<string, T[]>> {
  const results = new Map<string, T[]>(variants.map((v) => [v.name, []]));
  for (let round = 1; round <= rounds; round++) {
    const rotation = (round - 1) % variants.length;
    for (const variant of [...variants.slice(rotation), ...variants.slice(0, rotation)]) {
      const started = performance.now();
      const result = await runWorker<T>(variant.run);
      results.get(variant.name)!.push(result);
      log(
        `  round ${round}/${rounds} ${variant.name}: ${((performance.now() - started) / 1000).toFixed(1)} s`,
      );
    }
  }
  return results;
}
