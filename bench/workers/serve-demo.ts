/**
 * Starts seqbatch's HTTP server on a model for bench/server.ts, with the production engine (seqbatch's
 * text-classification pipeline, src/server/pipeline-engine.ts) and the `seqbatch serve` flag handling
 * (src/server/serve-options.ts): what the serve command does, without depending on how its CLI module is named.
 *   --model DIR [--port 0] [--threads N] [--replicas 1] [--packed auto|true|false] [serve flags as JSON in --flags]
 * Prints "seqbatch: serving … on http://host:port" on stderr; SIGTERM closes it gracefully.
 */
import { join } from 'node:path';
import { loadPipelineEngine } from '../../src/server/pipeline-engine.js';
import { serveOptionsFrom, startServer, type ServeCliOptions } from '../../src/server/serve-options.js';
import { BENCH_CACHE_DIR } from '../lib/data.js';
import { workerArgs } from '../lib/worker.js';

const args = workerArgs({
  model: { type: 'string' },
  port: { type: 'string', default: '0' },
  threads: { type: 'string' },
  replicas: { type: 'string', default: '1' },
  flags: { type: 'string', default: '{}' },
  packed: { type: 'string' },
});
if (!args.model) throw new Error('--model DIR is required');
const engine = await loadPipelineEngine(args.model, ['classify'], {
  // Without --threads the engine's default: 2, divided among the replicas.
  ...(args.threads === undefined ? {} : { threads: Number(args.threads) }),
  replicas: Number(args.replicas),
  // Without --packed the engine picks the server's own default, as `seqbatch serve` does.
  ...(args.packed === undefined
    ? {}
    : { packed: args.packed === 'auto' ? ('auto' as const) : args.packed === 'true' }),
  cacheDir: join(BENCH_CACHE_DIR, 'graph-cache'),
});
const flags = JSON.parse(args.flags!) as ServeCliOptions;
await startServer(engine, serveOptionsFrom({ ...flags, port: args.port }));
