/**
 * Opening a model's graph: from the on-disk graph cache when it holds it (keyed by the config, the weights, the
 * build options and a fingerprint of the builder's own code), else built from the safetensors weights, cached,
 * and handed to an ONNX Runtime session.
 */
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { OnnxSession, type RuntimeOptions } from '../runtime/session.js';
import { loadWeights } from '../weights/load.js';
import type { PretrainedConfig } from './config.js';
import { defaultCacheDir, GraphCache, graphCacheKey } from './graph-cache.js';
import { buildModelGraph, type ModelTask } from './index.js';

/** What a graph is built for (also its cache key's options). */
export type BuildOptions = {
  task: ModelTask;
  outputHiddenStates: boolean;
  outputAttentions: boolean;
  inputs: { attentionMask: boolean; positionIds: boolean };
  packed?: boolean;
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
    const hash = createHash('sha256');
    const here = dirname(fileURLToPath(import.meta.url));
    for (const root of [here, join(here, '..', 'onnx')]) {
      for (const file of sourceFilesUnder(root)) {
        // The path relative to its root, so a file moved between subfolders changes the key too.
        hash.update(relative(root, file));
        hash.update(readFileSync(file));
      }
    }
    builderFingerprint = hash.digest('hex').slice(0, 16);
  }
  return builderFingerprint;
}

/** The .ts / .js files under `dir` (recursively, declaration files excluded), in a stable order. */
function sourceFilesUnder(dir: string): string[] {
  if (!existsSync(dir)) return [];
  const files: string[] = [];
  for (const entry of readdirSync(dir, { withFileTypes: true }).sort((a, b) => (a.name < b.name ? -1 : 1))) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) files.push(...sourceFilesUnder(path));
    else if (/\.(ts|js)$/.test(entry.name) && !entry.name.endsWith('.d.ts')) files.push(path);
  }
  return files;
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
        } catch {
          // A damaged entry (disk full mid-write, manual edits) is rebuilt and overwritten below.
        }
      }
    }
  }

  const weights = await loadWeights(dir);
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
