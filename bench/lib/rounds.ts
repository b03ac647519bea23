/**
 * Interleaved repetition: round r runs every variant once, each in a fresh process, so slow drifts in machine
 * load hit all peers alike; the order rotates by one each round so no peer always runs first. The caller takes
 * medians over rounds.
 */
import { log } from './output.js';
import { runWorker, type WorkerRun } from './child.js';

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
