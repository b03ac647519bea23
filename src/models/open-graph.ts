/**
 * Opening a model's graph: from the on-disk graph cache when it holds it (keyed by the config, the weights, the
 * build options and a fingerprint of the builder's own code), else built from the safetensors weights, cached,
 * and handed to an ONNX Runtime session.
 */
import { createHash, type Hash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { OnnxSession, type RuntimeOptions } from '../runtime/session.js';
import { loadWeights } from '../weights/load.js';
import type { PretrainedConfig } from './config.js';
import { defaultCacheDir, GraphCache, graphCacheKey } from './graph-cache.js';
import { buildModelGraph, type ModelTask } from './index.js';
import type { Int8WeightScheme } from './layers/int8.js';

/** What a graph is built for (also its cache key's options). */
export type BuildOptions = {
  task: ModelTask;
  outputHiddenStates: boolean;
  outputAttentions: boolean;
  inputs: { attentionMask: boolean; positionIds: boolean };
  packed?: boolean;
  /** Set only for int8 (so fp32 keys stay as they were); the exclusion list is resolved (defaults filled in). */
  dtype?: 'int8';
  int8Exclude?: readonly string[];
  int8Weights?: Int8WeightScheme;
};

export interface OpenedGraph {
  session: OnnxSession;
  fromCache: boolean;
  graphPath: string | undefined;
}

let builderFingerprint: string | undefined;
/**
 * A fingerprint of the graph-building code (this folder and ../onnx with every subfolder, as .ts in development or
 * .js when built), part of the cache key so a changed builder never serves a stale graph.
 */
export function graphBuilderVersion(): string {
  if (builderFingerprint === undefined) {
    const here = dirname(fileURLToPath(import.meta.url));
    builderFingerprint = sourceTreeFingerprint([here, join(here, '..', 'onnx')]);
  }
  return builderFingerprint;
}

/** A short digest of the names and contents of every .ts/.js source under `dirs`, subfolders included. */
export function sourceTreeFingerprint(dirs: readonly string[]): string {
  const hash = createHash('sha256');
  for (const dir of dirs) hashSourceTree(hash, dir, '');
  return hash.digest('hex').slice(0, 16);
}

/** Hashes every .ts/.js file under `dir` with its path relative to the root, so a moved file changes the key. */
function hashSourceTree(hash: Hash, dir: string, prefix: string): void {
  if (!existsSync(dir)) return;
  for (const entry of readdirSync(dir, { withFileTypes: true }).sort((a, b) => (a.name < b.name ? -1 : 1))) {
    const relativePath = prefix + entry.name;
    if (entry.isDirectory()) hashSourceTree(hash, join(dir, entry.name), `${relativePath}/`);
    else if (/\.(ts|js)$/.test(entry.name) && !entry.name.endsWith('.d.ts')) {
      hash.update(`${relativePath}\0`);
      hash.update(readFileSync(join(dir, entry.name)));
    }
  }
}

/** Opens the graph of `build`: from the cache when it holds it, else built from the weights (and cached). */
export async function openGraph(
  dir: string,
  config: PretrainedConfig,
  buildOptions: BuildOptions,
  options: RuntimeOptions & { cacheDir?: string | false },
): Promise<OpenedGraph> {
  const cache =
    options.cacheDir === false ? undefined : new GraphCache(options.cacheDir ?? defaultCacheDir());
  let key: string | undefined;
  if (cache) {
    const weightFiles = weightFilesOf(dir);
    if (weightFiles) {
      key = await graphCacheKey(
        {
          configFile: config.file,
          weightFiles,
          options: buildOptions,
          builderVersion: graphBuilderVersion(),
        },
        cache.fileDigests(),
      );
      const hit = await cache.get(key);
      if (hit) {
        try {
          const session = await OnnxSession.create(hit.modelPath, options, dir);
          return { session, fromCache: true, graphPath: hit.modelPath };
        } catch (error) {
          // An entry ONNX Runtime refuses (a format it no longer reads) is rebuilt and overwritten below.
          process.emitWarning(
            `seqbatch: the cached graph ${hit.modelPath} could not be opened (${(error as Error).message}); rebuilding it`,
          );
        }
      }
    }
  }

  // int8 reads each tensor when it is quantized, so the whole fp32 checkpoint is never in memory at once.
  const weights = await loadWeights(dir, { onDemand: buildOptions.dtype === 'int8' });
  const graph = buildModelGraph(config.toJSON(), weights, buildOptions);
  let graphPath: string | undefined;
  if (cache && key) {
    try {
      graphPath = await cache.put(key, graph.bytes, {
        inputNames: graph.inputNames,
        outputNames: graph.outputNames,
        modelDir: dir,
        options: buildOptions,
      });
    } catch (error) {
      // A read-only or full cache folder must not stop the model from loading.
      process.emitWarning(
        `seqbatch: could not cache the graph in ${cache.dir} (${(error as Error).message})`,
      );
    }
  }
  // The bytes were built only to open this session: move them to the ORT thread rather than copy them.
  const session = await OnnxSession.create(graph.bytes, options, dir, { transferBytes: true });
  return { session, fromCache: false, graphPath };
}

/** The weights files whose contents key the cache, or undefined when the folder has none we can read. */
function weightFilesOf(dir: string): string[] | undefined {
  const single = join(dir, 'model.safetensors');
  if (existsSync(single)) return [single];
  const index = join(dir, 'model.safetensors.index.json');
  if (!existsSync(index)) return undefined;
  try {
    const map =
      (JSON.parse(readFileSync(index, 'utf8')) as { weight_map?: Record<string, string> }).weight_map ?? {};
    const shards = [...new Set(Object.values(map))].sort().map((f) => join(dir, f));
    // The index itself decides which tensor comes from where, so it is part of the key too.
    return shards.every((f) => typeof f === 'string' && existsSync(f)) ? [index, ...shards] : undefined;
  } catch {
    return undefined; // loadWeights will report the malformed index
  }
}
