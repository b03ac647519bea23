/**
 * An on-disk cache of built ONNX graphs, so loading the same checkpoint again skips reading the weights into a
 * WeightStore and building the graph. The key is a sha256 over everything that decides the graph's bytes: the
 * config.json contents, the contents of every weights file, the build options and the builder version. Editing
 * any of them gives a new key; stale entries are simply never read again.
 *
 * Layout: `<cacheDir>/graphs/<key>/model.onnx` and `meta.json` (what was built, from where). Entries are written
 * to a temporary name and renamed into place, so a concurrent reader never sees half a file.
 */
import { createHash } from 'node:crypto';
import { createReadStream, existsSync } from 'node:fs';
import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join } from 'node:path';

/** Bump when anything about cached entries changes (layout, meta fields). */
export const GRAPH_CACHE_FORMAT = 1;

/** `SEQBATCH_CACHE`, else `~/.cache/seqbatch`. */
export function defaultCacheDir(): string {
  const fromEnv = process.env.SEQBATCH_CACHE;
  return fromEnv && fromEnv.length > 0 ? fromEnv : join(homedir(), '.cache', 'seqbatch');
}

export interface GraphKeyParts {
  configFile: string;
  weightFiles: readonly string[];
  /** Build options; serialised with sorted keys so property order does not change the key. */
  options: Record<string, unknown>;
  builderVersion: string;
}

async function hashFile(hash: ReturnType<typeof createHash>, file: string): Promise<void> {
  for await (const chunk of createReadStream(file, { highWaterMark: 4 << 20 })) hash.update(chunk as Buffer);
}

function stableJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(stableJson).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${stableJson(v)}`).join(',')}}`;
  }
  return JSON.stringify(value) ?? 'null';
}

/** The cache key (hex sha256). Files are hashed by content, each prefixed by its length so they cannot run together. */
export async function graphCacheKey(parts: GraphKeyParts): Promise<string> {
  const hash = createHash('sha256');
  hash.update(`seqbatch-graph-cache ${GRAPH_CACHE_FORMAT}\n${parts.builderVersion}\n${stableJson(parts.options)}\n`);
  for (const file of [parts.configFile, ...parts.weightFiles]) {
    const digest = createHash('sha256');
    await hashFile(digest, file);
    hash.update(digest.digest());
  }
  return hash.digest('hex');
}

export interface CachedGraphMeta {
  format: number;
  inputNames: string[];
  outputNames: string[];
  modelDir: string;
  options: Record<string, unknown>;
  createdAt: string;
}

export class GraphCache {
  constructor(readonly dir: string = defaultCacheDir()) {}

  entryDir(key: string): string {
    return join(this.dir, 'graphs', key);
  }

  /** The cached graph's path and meta, or undefined when absent or unreadable (then it is rebuilt). */
  async get(key: string): Promise<{ modelPath: string; meta: CachedGraphMeta } | undefined> {
    const dir = this.entryDir(key);
    const modelPath = join(dir, 'model.onnx');
    if (!existsSync(modelPath)) return undefined;
    try {
      const meta = JSON.parse(await readFile(join(dir, 'meta.json'), 'utf8')) as CachedGraphMeta;
      if (meta.format !== GRAPH_CACHE_FORMAT || !Array.isArray(meta.inputNames)) return undefined;
      return { modelPath, meta };
    } catch {
      return undefined;
    }
  }

  /** Stores a graph; returns the path of the stored model.onnx. */
  async put(key: string, bytes: Uint8Array, meta: Omit<CachedGraphMeta, 'format' | 'createdAt'>): Promise<string> {
    const dir = this.entryDir(key);
    await mkdir(dir, { recursive: true });
    const suffix = `.tmp-${process.pid}-${Date.now()}`;
    const modelPath = join(dir, 'model.onnx');
    const metaPath = join(dir, 'meta.json');
    const full: CachedGraphMeta = { format: GRAPH_CACHE_FORMAT, createdAt: new Date().toISOString(), ...meta };
    try {
      await writeFile(modelPath + suffix, bytes);
      await rename(modelPath + suffix, modelPath);
      // meta.json last: an entry counts as present only once both files are in place.
      await writeFile(metaPath + suffix, JSON.stringify(full, null, 2));
      await rename(metaPath + suffix, metaPath);
    } catch (error) {
      await rm(modelPath + suffix, { force: true });
      await rm(metaPath + suffix, { force: true });
      throw error;
    }
    return modelPath;
  }
}
