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

/**
 * The key of a model folder (and of a tokenizer folder used instead of its own, which changes every row):
 * 16 hex digits of a SHA-256 over the files' names and bytes.
 */
export async function modelKey(modelDir: string, tokenizerDir?: string): Promise<string> {
  const hash = createHash('sha256');
  await hashFolder(hash, modelDir);
  if (tokenizerDir !== undefined) {
    hash.update('tokenizer\n');
    await hashFolder(hash, tokenizerDir);
  }
  return hash.digest('hex').slice(0, 16);
}

/** The BullMQ queue of a model's chunks. */
export function modelQueueName(key: string): string {
  return `model-${key}`;
}
