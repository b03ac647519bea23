/**
 * A model's identity for the queue: a digest of the files seqbatch reads from its folder, so that a worker takes
 * only chunks of the model it has. The digest is of content, not of a name or path: the same checkpoint
 * mounted at another path on another machine gives the same key, while a different checkpoint under the same
 * name does not.
 */
import { createHash, type Hash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { PipelineOptions } from '../pipelines/index.js';

/** Weight formats seqbatch never reads (it loads safetensors only): left out so they cost no hashing. */
const UNREAD = /\.(bin|onnx|h5|msgpack|ot|pt|pth|ckpt|gguf)$/i;

/** Files of a folder, recursively, in a fixed order (paths relative to it), hidden ones left out. */
async function modelFiles(dir: string, prefix = ''): Promise<string[]> {
  const names = (await readdir(join(dir, prefix))).filter((name) => !name.startsWith('.')).sort();
  const files: string[] = [];
  for (const name of names) {
    const relative = prefix === '' ? name : `${prefix}/${name}`;
    const info = await stat(join(dir, relative)); // follows the Hub cache's symlinks into its blobs
    if (info.isDirectory()) files.push(...(await modelFiles(dir, relative)));
    else if (info.isFile() && !UNREAD.test(name)) files.push(relative);
  }
  return files;
}

async function hashFolder(hash: Hash, dir: string): Promise<void> {
  for (const file of await modelFiles(dir)) {
    hash.update(`${file}\n`);
    for await (const chunk of createReadStream(join(dir, file))) hash.update(chunk as Buffer);
    hash.update('\n');
  }
}

/** Loading options that only say how a model runs (results equal up to float rounding), or where it comes from. */
const RUN_ONLY_LOAD_OPTIONS = new Set([
  'threads',
  'cacheDir',
  'packed',
  'allowHeadMismatch',
  'tokenizer',
  'runOn',
]);

/**
 * The loading options that change what the model computes (a quantized dtype, say): part of the key, so a worker
 * loading the model another way never takes the job's chunks. Whatever option is not known to be run-only counts.
 */
export function modelVariant(load: PipelineOptions): Record<string, unknown> {
  const variant: Record<string, unknown> = {};
  for (const key of Object.keys(load).sort()) {
    const value = (load as Record<string, unknown>)[key];
    if (!RUN_ONLY_LOAD_OPTIONS.has(key) && value !== undefined) variant[key] = value;
  }
  return variant;
}

/**
 * The key of a model folder, loaded with `variant` (modelVariant), and of a tokenizer folder used instead of its
 * own (which changes every row): 16 hex digits of a SHA-256 over the files' names and bytes and the variant.
 */
export async function modelKey(
  modelDir: string,
  tokenizerDir?: string,
  variant: Record<string, unknown> = {},
): Promise<string> {
  const hash = createHash('sha256');
  await hashFolder(hash, modelDir);
  if (tokenizerDir !== undefined) {
    hash.update('tokenizer\n');
    await hashFolder(hash, tokenizerDir);
  }
  if (Object.keys(variant).length > 0) hash.update(`variant\n${JSON.stringify(variant)}\n`);
  return hash.digest('hex').slice(0, 16);
}

/** The BullMQ queue of a model's chunks. */
export function modelQueueName(key: string): string {
  return `model-${key}`;
}
