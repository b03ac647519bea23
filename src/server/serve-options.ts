/**
 * The `seqbatch serve` flags, added to a commander command in one call, and `startServer`, which listens and
 * closes gracefully on SIGTERM/SIGINT. The command module only has to load an Engine for its model argument.
 */
import { type Command } from 'commander';
import { InputError } from '../errors.js';
import type { Engine } from './engine.js';
import {
  closeOnSignals,
  createServer,
  DEFAULT_PREPARE_AHEAD_MS,
  resolveServerOptions,
  type SeqbatchServer,
  type ServerOptions,
} from './server.js';

export interface ServeCliOptions {
  host?: string;
  port?: string;
  maxBatchTokens?: string;
  maxBatchSize?: string;
  maxWaitMs?: string;
  maxQueue?: string;
  maxInputsPerRequest?: string;
  bodyLimit?: string;
  concurrency?: string;
  prepareAheadMs?: string;
  autoTruncate?: boolean;
}

export interface ServeOptions {
  host: string;
  port: number;
  server: Omit<ServerOptions, 'engine'>;
}

export function addServeOptions(command: Command): Command {
  return command
    .option('--host <address>', 'address to listen on (0.0.0.0 for every interface)', '127.0.0.1')
    .option('--port <n>', 'TCP port', '8080')
    .option('--max-batch-tokens <n>', 'padded tokens per batch (batch size x longest input)', '16384')
    .option('--max-batch-size <n>', 'inputs per batch', '64')
    .option('--max-wait-ms <n>', 'longest an input waits for others to share its batch', '5')
    .option('--max-queue <n>', 'inputs allowed to wait; beyond that requests get 429', '1024')
    .option(
      '--max-inputs-per-request <n>',
      'inputs in one request, split over batches as needed; beyond that 413 (default: the max queue)',
    )
    .option('--body-limit <bytes>', 'largest request body; beyond that 413', String(2 * 1024 * 1024))
    .option('--concurrency <n>', 'batches run at once (default: one per replica)')
    .option(
      '--prepare-ahead-ms <n>',
      'hand the next batch to the engine this long before the running one should end (0: off)',
      String(DEFAULT_PREPARE_AHEAD_MS),
    )
    .option(
      '--auto-truncate',
      'truncate over-long inputs unless a request says otherwise (default: answer 413)',
    );
}

function integer(value: string | undefined, flag: string): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!/^\d+$/.test(value.trim()) || !Number.isSafeInteger(n)) {
    throw new InputError(`${flag}: expected a whole number, got "${value}"`, { argument: flag });
  }
  return n;
}

/** Validates the flags (InputError naming the flag) and returns listen + server options. */
export function serveOptionsFrom(options: ServeCliOptions): ServeOptions {
  const port = integer(options.port, '--port') ?? 8080;
  if (port > 65535) throw new InputError(`--port: expected 0..65535, got ${port}`, { argument: '--port' });
  const server: Omit<ServerOptions, 'engine'> = {
    maxBatchTokens: integer(options.maxBatchTokens, '--max-batch-tokens'),
    maxBatchSize: integer(options.maxBatchSize, '--max-batch-size'),
    maxWaitMs: integer(options.maxWaitMs, '--max-wait-ms'),
    maxQueue: integer(options.maxQueue, '--max-queue'),
    maxInputsPerRequest: integer(options.maxInputsPerRequest, '--max-inputs-per-request'),
    bodyLimit: integer(options.bodyLimit, '--body-limit'),
    concurrency: integer(options.concurrency, '--concurrency'),
    prepareAheadMs: integer(options.prepareAheadMs, '--prepare-ahead-ms'),
    autoTruncate: options.autoTruncate ?? false,
  };
  try {
    resolveServerOptions({ ...server, engine: undefined as unknown as Engine });
  } catch (error) {
    // Name the flag rather than the API option.
    if (error instanceof InputError && error.argument) {
      const flag = '--' + error.argument.replace(/[A-Z]/g, (c) => '-' + c.toLowerCase());
      throw new InputError(error.message.replace(error.argument, flag), { argument: flag, cause: error });
    }
    throw error;
  }
  return { host: options.host ?? '127.0.0.1', port, server };
}

/** Creates the server, listens, closes gracefully on SIGTERM/SIGINT; logs the address to stderr. */
export async function startServer(engine: Engine, options: ServeOptions): Promise<SeqbatchServer> {
  const server = createServer({ ...options.server, engine });
  const address = await server.listen({ host: options.host, port: options.port });
  closeOnSignals(server);
  process.stderr.write(`seqbatch: serving ${engine.info.modelId} on ${address}\n`);
  return server;
}
