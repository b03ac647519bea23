/**
 * Checks a downloaded blob against the ETag that names it. The Hub's ETags are content hashes: the sha256 of an
 * LFS file (`X-Linked-Etag`), or the git blob sha1 of a regular file, i.e. sha1("blob <size>\0" + bytes).
 */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';

export type EtagKind = 'sha256' | 'git-sha1' | 'opaque';

export function etagKind(etag: string): EtagKind {
  if (/^[0-9a-f]{64}$/.test(etag)) return 'sha256';
  if (/^[0-9a-f]{40}$/.test(etag)) return 'git-sha1';
  return 'opaque';
}

/**
 * The digest the ETag claims, computed over the file; undefined when the ETag is not a hash we know (a mirror
 * may send opaque ETags, in which case only the size can be checked).
 */
export async function digestForEtag(path: string, etag: string, size: number): Promise<string | undefined> {
  const kind = etagKind(etag);
  if (kind === 'opaque') return undefined;
  const hash = createHash(kind === 'sha256' ? 'sha256' : 'sha1');
  if (kind === 'git-sha1') hash.update(`blob ${size}\0`);
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}
