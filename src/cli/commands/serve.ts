/**
 * `seqbatch serve`: the batching HTTP server (src/server) over a real checkpoint: /classify for
 * sequence-classification models, /embed and /v1/embeddings for any encoder, /tokenize. Without `--model` it
 * serves the bundled demo sentiment model.
 */
import type { Command } from 'commander';
import { addServeOptions, serveOptionsFrom, startServer, type ServeCliOptions } from '../../server/index.js';
import { loadServeEngine, SERVED_TASKS, type ServedTask } from '../../server/engine-pipelines.js';
import { InputError } from '../../errors.js';
import type { SeqbatchServer } from '../../server/index.js';
import { Tokenizer } from '../../tokenizers/tokenizer.js';
import { addModelOptions, dtypeFlags, type ModelCliOptions } from './shared-model.js';
import { defaultModelDir } from '../default-model.js';
import { integerFlag, listFlag } from './shared-flags.js';

export interface ServeCommandOptions extends ServeCliOptions, ModelCliOptions {
  tasks?: string;
  pooling?: string;
  replicas?: string;
}

export function register(program: Command): void {
  const command = program
    .command('serve')
    .description(
      'serve a model over HTTP with dynamic batching: the text-embeddings-inference API (/embed, /rerank, /predict, /similarity, /tokenize, /decode, /info), OpenAI /v1/embeddings, /classify',
    );
  addModelOptions(command, { defaultsToDemo: true, needs: 'checkpoint to serve' });
  addServeOptions(command);
  command
    .option(
      '--tasks <tasks>',
      'comma-separated: classify, embed, rerank (default: every task the checkpoint supports)',
    )
    .option(
      '--pooling <mode>',
      'pooling for /embed without a sentence-transformers folder: cls, mean, max, mean_sqrt_len',
      'mean',
    )
    .option(
      '--replicas <n>',
      'copies of the model computing batches side by side, each with its own weights and thread; --threads is then per copy (default: 2 divided among them)',
      '1',
    )
    .action(async (options: ServeCommandOptions, cmd: Command) => {
      // Without an explicit --packed the server picks its own default (every batch packed when the model can).
      if (cmd.getOptionValueSource('packed') !== 'cli') delete options.packed;
      await runServe(options);
    });
}

const POOLINGS = ['cls', 'mean', 'max', 'mean_sqrt_len'] as const;

/** Loads the engine and starts listening (closing on SIGTERM/SIGINT). Resolves with the running server. */
export async function runServe(options: ServeCommandOptions): Promise<SeqbatchServer> {
  const serve = serveOptionsFrom(options);
  const tasks = listFlag(options.tasks, '--tasks');
  for (const task of tasks ?? []) {
    if (!(SERVED_TASKS as readonly string[]).includes(task)) {
      throw new InputError(`--tasks: expected ${SERVED_TASKS.join(', ')}, got "${task}"`, {
        argument: '--tasks',
      });
    }
  }
  const pooling = options.pooling ?? 'mean';
  if (!(POOLINGS as readonly string[]).includes(pooling)) {
    throw new InputError(`--pooling: expected one of ${POOLINGS.join(', ')}, got "${pooling}"`, {
      argument: '--pooling',
    });
  }
  const threads = integerFlag(options.threads, '--threads');
  const replicas = integerFlag(options.replicas, '--replicas');
  const engine = await loadServeEngine(options.model ?? defaultModelDir(), {
    tasks: tasks as ServedTask[] | undefined,
    hub: { revision: options.revision, offline: options.offline || undefined },
    modelId: options.model ?? 'seqbatch-demo-sst2',
    defaultPooling: pooling as (typeof POOLINGS)[number],
    ...(threads === undefined ? {} : { threads }),
    ...(replicas === undefined ? {} : { replicas }),
    ...(options.graphCache === false ? { cacheDir: false as const } : {}),
    ...(options.packed === undefined
      ? {}
      : { packed: options.packed === 'auto' ? ('auto' as const) : options.packed === 'true' }),
    ...dtypeFlags(options),
    ...(options.tokenizer === undefined
      ? {}
      : { tokenizer: await Tokenizer.fromPretrained(options.tokenizer) }),
  });
  return startServer(engine, serve);
}
