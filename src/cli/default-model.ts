/**
 * The checkpoint the CLI uses when no `--model` is given: the small SST-2 sentiment model shipped in the package's
 * `models/` folder. It is found from this module's own location, so it works the same from a clone (src/ run by
 * tsx), from a build (dist/) and from an installed package (node_modules/seqbatch/dist/).
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const DEFAULT_MODEL_NAME = 'seqbatch-demo-sst2';

/** The package root: the nearest folder above this module whose package.json is seqbatch's. */
export function packageRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const manifest = join(dir, 'package.json');
    if (existsSync(manifest)) {
      try {
        if ((JSON.parse(readFileSync(manifest, 'utf8')) as { name?: unknown }).name === 'seqbatch')
          return dir;
      } catch {
        // an unreadable package.json is not ours; keep looking upwards
      }
    }
    const parent = dirname(dir);
    if (parent === dir) {
      throw new Error(`cannot find seqbatch's package.json above ${fileURLToPath(import.meta.url)}`);
    }
    dir = parent;
  }
}

/** Absolute path of the bundled demo checkpoint folder. */
export function defaultModelDir(): string {
  return join(packageRoot(), 'models', DEFAULT_MODEL_NAME);
}
