/**
 * The real seqbatch program (commander parsing, exit codes, stdout/stderr) run from the sources in a child
 * process, as `npx seqbatch …` runs it, for tests of what only the whole program does.
 */
import { spawnSync, type SpawnSyncOptionsWithStringEncoding } from 'node:child_process';
import { join } from 'node:path';
import { REPO_ROOT } from './shared.js';

const MAIN = join(REPO_ROOT, 'src', 'cli', 'main.ts');

/**
 * `node` arguments that run `seqbatch <args>` through tsx, from any working folder. (Under `node -e`,
 * process.argv is [node, ...the arguments after --].)
 */
export function cliNodeArgs(args: readonly string[]): string[] {
  return [
    '--import',
    import.meta.resolve('tsx'),
    '--input-type=module',
    '-e',
    `import { main } from ${JSON.stringify(MAIN)}; await main(['node', 'seqbatch', ...process.argv.slice(1)]);`,
    '--',
    ...args,
  ];
}

/** Runs `seqbatch <args>` to completion; stdout and stderr as text. */
export function runCliSync(
  args: readonly string[],
  options: Partial<SpawnSyncOptionsWithStringEncoding> = {},
) {
  return spawnSync(process.execPath, cliNodeArgs(args), { encoding: 'utf8', ...options });
}
