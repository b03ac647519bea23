/**
 * The on-disk cache layout of Python's `huggingface_hub`, so either side reuses what the other downloaded:
 *
 *   <cacheDir>/models--org--name/
 *     blobs/<etag>                      file contents, named by git sha1 (small files) or sha256 (LFS files)
 *     blobs/<etag>.incomplete           a download in progress, resumed with a Range request
 *     refs/<revision>                   the commit hash a branch or tag pointed to when last resolved
 *     snapshots/<commit>/<file>         relative symlinks into blobs (../../blobs/<etag>)
 *   <cacheDir>/.locks/models--org--name/ download locks
 */
import { constants } from 'node:fs';
import { copyFile, mkdir, readFile, readdir, readlink, rm, stat, symlink, writeFile } from 'node:fs/promises';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { HubError } from '../errors.js';
import { repoFolderName } from './repo-id.js';

/** Repo file names come from the network: refuse anything that could escape the snapshot folder. */
export function assertSafeRepoPath(file: string, repoId: string): void {
  const parts = file.split('/');
  if (
    file === '' ||
    file.startsWith('/') ||
    file.includes('\\') ||
    parts.some((p) => p === '' || p === '.' || p === '..')
  ) {
    throw new HubError(`Hub listed an unsafe file name "${file}" in ${repoId}; refusing to write it`, {
      file,
    });
  }
}

/** Etags name blob files: refuse anything that is not a plain file name. */
export function assertSafeEtag(etag: string, repoId: string, file: string): void {
  if (!/^[\w.-]+$/.test(etag) || etag === '.' || etag === '..') {
    throw new HubError(`Hub sent an unusable ETag "${etag}" for ${file} in ${repoId}`, { file });
  }
}

async function isFile(path: string): Promise<boolean> {
  try {
    return (await stat(path)).isFile();
  } catch {
    return false;
  }
}

export class RepoCache {
  readonly root: string;

  constructor(
    readonly cacheDir: string,
    readonly repoId: string,
  ) {
    this.root = join(cacheDir, repoFolderName(repoId));
  }

  blobPath(etag: string): string {
    return join(this.root, 'blobs', etag);
  }

  incompletePath(etag: string): string {
    return `${this.blobPath(etag)}.incomplete`;
  }

  snapshotDir(commit: string): string {
    return join(this.root, 'snapshots', commit);
  }

  snapshotFile(commit: string, file: string): string {
    return join(this.snapshotDir(commit), ...file.split('/'));
  }

  /** Our lock for downloading a blob; Python's own lock is `<etag>.lock` in the same folder. */
  lockPath(etag: string): string {
    return join(this.cacheDir, '.locks', repoFolderName(this.repoId), `${etag}.seqbatch.lock`);
  }

  refPath(revision: string): string {
    return join(this.root, 'refs', ...revision.split('/'));
  }

  /** The commit a branch or tag pointed to, as last recorded (Python writes it without a newline). */
  async readRef(revision: string): Promise<string | undefined> {
    try {
      const commit = (await readFile(this.refPath(revision), 'utf8')).trim();
      return commit === '' ? undefined : commit;
    } catch {
      return undefined;
    }
  }

  /** Records `revision → commit` unless the revision already is that commit or the ref is up to date. */
  async writeRef(revision: string, commit: string): Promise<void> {
    if (revision === commit || (await this.readRef(revision)) === commit) return;
    const path = this.refPath(revision);
    await mkdir(dirname(path), { recursive: true });
    await writeFile(path, commit);
  }

  /** True when the snapshot entry exists and resolves to a regular file (a dangling link does not count). */
  hasSnapshotFile(commit: string, file: string): Promise<boolean> {
    return isFile(this.snapshotFile(commit, file));
  }

  hasBlob(etag: string): Promise<boolean> {
    return isFile(this.blobPath(etag));
  }

  /**
   * Points `snapshots/<commit>/<file>` at `blobs/<etag>` with a relative symlink, as Python does, so the cache
   * survives being moved. Where symlinks are not allowed (Windows without developer mode) the blob is copied,
   * which is also Python's fallback.
   */
  async linkSnapshotFile(commit: string, file: string, etag: string): Promise<string> {
    const pointer = this.snapshotFile(commit, file);
    const blob = this.blobPath(etag);
    await mkdir(dirname(pointer), { recursive: true });
    const target = relative(dirname(pointer), blob);
    try {
      if ((await readlink(pointer)) === target) return pointer;
    } catch {
      // Not a symlink yet (or not at all): (re)create it below.
    }
    await rm(pointer, { force: true });
    try {
      await symlink(target, pointer);
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code === 'EEXIST') {
        // Another process linked it between our rm and symlink; fine if it points at the same blob.
        if (resolve(dirname(pointer), await readlink(pointer)) === blob) return pointer;
      }
      if (code !== 'EPERM' && code !== 'EACCES' && code !== 'ENOTSUP') throw error;
      await copyFile(blob, pointer, constants.COPYFILE_FICLONE);
    }
    return pointer;
  }

  /** Every regular file reachable in a snapshot, as repo paths with `/` separators. */
  async listSnapshotFiles(commit: string): Promise<string[]> {
    const root = this.snapshotDir(commit);
    const found: string[] = [];
    const walk = async (dir: string): Promise<void> => {
      let entries;
      try {
        entries = await readdir(dir, { withFileTypes: true });
      } catch {
        return;
      }
      for (const entry of entries) {
        const path = join(dir, entry.name);
        if (entry.isDirectory()) await walk(path);
        else if (await isFile(path)) found.push(relative(root, path).split(sep).join('/'));
      }
    };
    await walk(root);
    return found.sort();
  }
}
