/**
 * `seqbatch download <model>`: fetches a Hub model into the cache shared with Python's huggingface_hub (through
 * `resolveModel`) and prints the local folder, so a later run can be `--offline`.
 */
import type { Writable } from 'node:stream';
import type { Command } from 'commander';
import { resolveModel, type ResolveModelOptions } from '../../hub/index.js';

export interface DownloadCliOptions {
  revision?: string;
  weights?: boolean;
  cacheDir?: string;
  offline?: boolean;
}

export function register(program: Command): void {
  program
    .command('download')
    .description('download a Hub model (config, tokenizer, weights) into the cache and print its folder')
    .argument('<model>', 'Hub id: org/name, optionally @revision')
    .option('--revision <rev>', 'branch, tag or commit (default: main)')
    .option('--no-weights', 'fetch only the config and tokenizer files')
    .option(
      '--cache-dir <dir>',
      'cache root (default: HF_HUB_CACHE, or HF_HOME/hub, or ~/.cache/huggingface/hub)',
    )
    .option('--offline', 'only check that the cache holds the model (as HF_HUB_OFFLINE=1)')
    .action(async (model: string, options: DownloadCliOptions) => {
      await runDownload(model, options);
    });
}

export async function runDownload(
  model: string,
  options: DownloadCliOptions,
  io: { stdout?: Writable } = {},
): Promise<string> {
  const hub: ResolveModelOptions = {};
  if (options.revision !== undefined) hub.revision = options.revision;
  if (options.weights === false) hub.weights = false;
  if (options.cacheDir !== undefined) hub.cacheDir = options.cacheDir;
  if (options.offline) hub.offline = true;
  const dir = await resolveModel(model, hub);
  (io.stdout ?? process.stdout).write(`${dir}\n`);
  return dir;
}
