/**
 * Workers run the compiled JavaScript, as users of the package do: tsx compiles with esbuild's keepNames, which
 * wraps every closure created at run time in a `__name(...)` call (Object.defineProperty); in hot loops that cost
 * about a tenth of the tokenizer's time in profiles. So each benchmark first compiles src/ and bench/ with tsc
 * (the same compiler and settings as `npm run build`) into .cache/bench/build, and spawns plain `node` on the
 * compiled workers. `--tsx` skips the build and runs the TypeScript sources through tsx instead.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { REPO_ROOT, setWorkerBuild } from './child.js';
import { log } from './output.js';

export const BUILD_DIR = join(REPO_ROOT, '.cache', 'bench', 'build');

export function prepareWorkers(useTsx: boolean): void {
  if (useTsx) {
    log('workers: TypeScript sources through tsx (--tsx)');
    return;
  }
  mkdirSync(BUILD_DIR, { recursive: true });
  const config = join(REPO_ROOT, '.cache', 'bench', 'tsconfig.bench.json');
  writeFileSync(
    config,
    JSON.stringify({
      extends: '../../tsconfig.json',
      compilerOptions: {
        noEmit: false,
        rootDir: '../..',
        outDir: './build',
        sourceMap: false,
        declaration: false,
      },
      include: ['../../src', '../../bench', '../../scripts'],
    }),
  );
  const started = performance.now();
  try {
    execFileSync(
      process.execPath,
      [join(REPO_ROOT, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', config],
      {
        cwd: REPO_ROOT,
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
  } catch (error) {
    // tsc still emits when it reports type errors (files mid-edit by someone else); say so and carry on.
    const output = String((error as { stdout?: Buffer }).stdout ?? '').trim();
    log(`tsc reported errors (JavaScript was still emitted):\n${output.split('\n').slice(0, 10).join('\n')}`);
  }
  log(
    `workers: compiled with tsc into ${BUILD_DIR} in ${((performance.now() - started) / 1000).toFixed(1)} s`,
  );
  setWorkerBuild(BUILD_DIR);
}
