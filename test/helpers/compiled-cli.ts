/**
 * The seqbatch CLI compiled once to plain JavaScript (esbuild, one file per source file, as `tsc` would lay it
 * out) for tests that start many real processes: a child then loads plain modules instead of running tsx in the
 * process and again in ONNX Runtime's worker thread, which halves its start-up cost. The compiled tree sits in a
 * temporary folder with links to the repository's `node_modules` and `models`, so imports and the bundled demo
 * model resolve as they do from `dist/`.
 */
import { mkdirSync, readdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { build } from 'esbuild';
import { REPO_ROOT } from './shared.js';

/** Compiles `src/` into `<dir>/dist` and returns the `node` arguments that run `seqbatch <args>` from it. */
export async function compileCli(dir: string): Promise<(args: readonly string[]) => string[]> {
  const src = join(REPO_ROOT, 'src');
  const entryPoints = (readdirSync(src, { recursive: true }) as string[])
    .filter((file) => file.endsWith('.ts') && !file.endsWith('.d.ts'))
    .map((file) => join(src, file));
  const out = join(dir, 'dist');
  await build({
    entryPoints,
    outdir: out,
    format: 'esm',
    platform: 'node',
    target: 'node20',
    logLevel: 'error',
  });
  mkdirSync(dir, { recursive: true });
  // The package's own shape, so the bundled demo model is found from the compiled modules as from dist/.
  writeFileSync(join(dir, 'package.json'), '{"name":"seqbatch","type":"module"}\n');
  symlinkSync(join(REPO_ROOT, 'node_modules'), join(dir, 'node_modules'), 'dir');
  symlinkSync(join(REPO_ROOT, 'models'), join(dir, 'models'), 'dir');
  // An entry file rather than `node -e`: ONNX Runtime's worker thread inherits the flags `-e` needs.
  const entry = join(dir, 'seqbatch.js');
  writeFileSync(
    entry,
    `import { main } from './dist/cli/main.js';\nawait main(['node', 'seqbatch', ...process.argv.slice(2)]);\n`,
  );
  return (args) => [entry, ...args];
}
