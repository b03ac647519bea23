/**
 * An on-disk cache of built ONNX graphs, so loading the same checkpoint again skips reading the weights into a
 * WeightStore and building the graph. The key is a sha256 over everything that decides the graph's bytes: the
 * config.json contents, the contents of every weights file, the build options and the builder version. Editing
 * any of them gives a new key; stale entries are simply never read again.
 *
 * Layout: `<cacheDir>/graphs/<key>/model.onnx` and `meta.json` (what was built, from where, and the graph's
 * sha256, checked at every read). Entries are written to a temporary name and renamed into place, so a concurrent
 * reader never sees half a file. `file-digests.json` (remembered weight digests) carries its own checksum.
 */
import { createHash } from 'node:crypto';
import { createReadStream, existsSync, realpathSync } from 'node:fs';
import { mkdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { basename, dirname, join, resolve } from 'node:path';
import { WeightsError } from '../errors.js';

/** Bump when anything about cached entries changes (layout, meta fields). 2: meta records the graph's sha256. */
export const GRAPH_CACHE_FORMAT = 2;

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

export async function sha256OfFile(file: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(file, { highWaterMark: 4 << 20 })) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

/** What identifies a file's current version without reading it. */
interface FileStamp {
  size: number;
  mtimeNs: string;
  ctimeNs: string;
  ino: number;
}

async function stampOf(file: string): Promise<FileStamp> {
  const st = await stat(file, { bigint: true });
  return {
    size: Number(st.size),
    mtimeNs: String(st.mtimeNs),
    ctimeNs: String(st.ctimeNs),
    ino: Number(st.ino),
  };
}

/** Digests are remembered only for files unchanged for this long, so a write in the same clock tick is never missed. */
const SETTLED_NS = 2_000_000_000n;

/**
 * Content digests of files, remembered by (path, size, mtime, ctime, inode) in a JSON file, like git's index:
 * hashing a 268 MB checkpoint takes about a second, and a cache hit should not pay it every time. Any write to a
 * file changes its ctime, so a changed file is always hashed again.
 */
export class FileDigests {
  private entries: Record<string, FileStamp & { sha256: string }> | undefined;
  private dirty = false;

  constructor(readonly memoFile: string | undefined) {}

  private async load(): Promise<Record<string, FileStamp & { sha256: string }>> {
    if (this.entries) return this.entries;
    this.entries = {};
    if (this.memoFile && existsSync(this.memoFile)) {
      let memo: { entries?: unknown; sha256?: unknown } | undefined;
      try {
        memo = JSON.parse(await readFile(this.memoFile, 'utf8')) as typeof memo;
      } catch {
        // An unreadable memo only costs re-hashing.
      }
      const entries = memo?.entries;
      if (entries && typeof entries === 'object' && !Array.isArray(entries)) {
        if (memo?.sha256 === memoDigest(entries))
          this.entries = entries as Record<string, FileStamp & { sha256: string }>;
        else {
          // A remembered digest that is wrong would give a wrong cache key; the memo is dropped, not trusted.
          process.emitWarning(
            `seqbatch: ${this.memoFile} is damaged (its checksum does not match); hashing files again`,
          );
        }
      }
    }
    return this.entries;
  }

  /**
   * The file's sha256. A file that is a Hugging Face cache blob named by its sha256 (`blobs/<sha256>`, what an LFS
   * download is stored as) must hash to its name: a damaged blob is a WeightsError, never a model built from it.
   */
  async digest(file: string): Promise<string> {
    const sha256 = await this.contentDigest(file);
    const real = realpathSync(file);
    const name = basename(real);
    if (/^[0-9a-f]{64}$/.test(name) && basename(dirname(real)) === 'blobs' && name !== sha256) {
      throw new WeightsError(
        `${file}: the Hugging Face cache blob ${real} is damaged (its sha256 is ${sha256}, its name says ${name}); ` +
          'delete it and download the model again',
        { file },
      );
    }
    return sha256;
  }

  private async contentDigest(file: string): Promise<string> {
    const path = resolve(file);
    const entries = await this.load();
    const before = await stampOf(path);
    const known = entries[path];
    if (
      known &&
      known.size === before.size &&
      known.mtimeNs === before.mtimeNs &&
      known.ctimeNs === before.ctimeNs &&
      known.ino === before.ino &&
      /^[0-9a-f]{64}$/.test(known.sha256)
    ) {
      return known.sha256;
    }
    const sha256 = await sha256OfFile(path);
    const after = await stampOf(path);
    const now = BigInt(Date.now()) * 1_000_000n;
    const unchanged = JSON.stringify(before) === JSON.stringify(after);
    if (
      this.memoFile &&
      unchanged &&
      now - BigInt(after.ctimeNs) > SETTLED_NS &&
      now - BigInt(after.mtimeNs) > SETTLED_NS
    ) {
      entries[path] = { ...after, sha256 };
      this.dirty = true;
    }
    return sha256;
  }

  /** Writes the memo (atomically) if anything was added. Failures are ignored: the memo is only a speed-up. */
  async save(): Promise<void> {
    if (!this.memoFile || !this.dirty || !this.entries) return;
    const tmp = `${this.memoFile}.tmp-${process.pid}-${Date.now()}`;
    try {
      await mkdir(dirname(this.memoFile), { recursive: true });
      await writeFile(tmp, JSON.stringify({ entries: this.entries, sha256: memoDigest(this.entries) }));
      await rename(tmp, this.memoFile);
      this.dirty = false;
    } catch {
      await rm(tmp, { force: true }).catch(() => undefined);
    }
  }
}

/** The checksum stored beside the memo's entries (over their JSON as written; parsing keeps the order). */
export function memoDigest(entries: object): string {
  return createHash('sha256').update(JSON.stringify(entries)).digest('hex');
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

/**
 * The cache key (hex sha256) over the options, the builder version and the sha256 of each file's content (digests
 * of fixed length, so files cannot run together). `digests` may remember file digests between runs.
 */
export async function graphCacheKey(
  parts: GraphKeyParts,
  digests = new FileDigests(undefined),
): Promise<string> {
  const hash = createHash('sha256');
  hash.update(
    `seqbatch-graph-cache ${GRAPH_CACHE_FORMAT}\n${parts.builderVersion}\n${stableJson(parts.options)}\n`,
  );
  for (const file of [parts.configFile, ...parts.weightFiles]) hash.update(`${await digests.digest(file)}\n`);
  await digests.save();
  return hash.digest('hex');
}

export interface CachedGraphMeta {
  format: number;
  /** sha256 of model.onnx as written, checked at every read: a damaged graph would load and answer wrongly. */
  modelSha256: string;
  inputNames: string[];
  outputNames: string[];
  modelDir: string;
  options: Record<string, unknown>;
  createdAt: string;
}

export class GraphCache {
  constructor(readonly dir: string = defaultCacheDir()) {}

  /** File digests remembered in this cache folder (see FileDigests). */
  fileDigests(): FileDigests {
    return new FileDigests(join(this.dir, 'file-digests.json'));
  }

  entryDir(key: string): string {
    return join(this.dir, 'graphs', key);
  }

  /**
   * The cached graph's path and meta, or undefined when absent, unreadable or damaged (then it is rebuilt). The
   * graph's bytes are hashed and compared with the digest recorded when it was written: a graph damaged in place
   * (same size, other bytes) still loads in ONNX Runtime and gives wrong numbers. Hashing costs a fraction of
   * opening the session (which reads the same bytes). A damaged graph is reported through `onDamaged`.
   */
  async get(
    key: string,
    onDamaged: (message: string) => void = (message) => process.emitWarning(message),
  ): Promise<{ modelPath: string; meta: CachedGraphMeta } | undefined> {
    const dir = this.entryDir(key);
    const modelPath = join(dir, 'model.onnx');
    if (!existsSync(modelPath)) return undefined;
    let meta: CachedGraphMeta;
    try {
      meta = JSON.parse(await readFile(join(dir, 'meta.json'), 'utf8')) as CachedGraphMeta;
      if (meta.format !== GRAPH_CACHE_FORMAT || !Array.isArray(meta.inputNames)) return undefined;
    } catch {
      return undefined;
    }
    const actual = await sha256OfFile(modelPath).catch(() => undefined);
    if (actual !== meta.modelSha256) {
      onDamaged(
        `seqbatch: the cached graph ${modelPath} is damaged (its sha256 is not the one recorded in meta.json); rebuilding it`,
      );
      return undefined;
    }
    return { modelPath, meta };
  }

  /** Stores a graph; returns the path of the stored model.onnx. */
  async put(
    key: string,
    bytes: Uint8Array,
    meta: Omit<CachedGraphMeta, 'format' | 'createdAt' | 'modelSha256'>,
  ): Promise<string> {
    const dir = this.entryDir(key);
    await mkdir(dir, { recursive: true });
    const suffix = `.tmp-${process.pid}-${Date.now()}`;
    const modelPath = join(dir, 'model.onnx');
    const metaPath = join(dir, 'meta.json');
    const full: CachedGraphMeta = {
      format: GRAPH_CACHE_FORMAT,
      createdAt: new Date().toISOString(),
      modelSha256: createHash('sha256').update(bytes).digest('hex'),
      ...meta,
    };
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
