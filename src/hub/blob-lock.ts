/**
 * A cross-process lock around one blob download, so two seqbatch processes (say the server and a CLI run) never
 * append to the same `.incomplete` file at once. Node has no flock(), so the lock is a file created with
 * O_EXCL holding `<pid>@<host>`; a lock whose process is gone (same host) is taken over. It lives beside
 * Python's lock files in `<cache>/.locks/models--org--name/` under its own name, because Python's FileLock
 * leaves its (flock-based) files in place and they would look held forever to an O_EXCL lock.
 */
import { mkdir, open, readFile, rm, stat } from 'node:fs/promises';
import { hostname } from 'node:os';
import { dirname } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

const POLL_MS = 100;
/** A lock file still empty after this long was left by a process that died while creating it. */
const EMPTY_LOCK_STALE_MS = 10_000;

function processIsAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

async function isStale(lockPath: string): Promise<boolean> {
  let owner: string;
  try {
    owner = (await readFile(lockPath, 'utf8')).trim();
  } catch {
    return false; // Released meanwhile: the next attempt to create it will tell.
  }
  const match = /^(\d+)@(.*)$/.exec(owner);
  if (match === null) {
    try {
      return Date.now() - (await stat(lockPath)).mtimeMs > EMPTY_LOCK_STALE_MS;
    } catch {
      return false;
    }
  }
  // A lock from another host (shared network cache) cannot be checked: wait for it.
  return match[2] === hostname() && !processIsAlive(Number(match[1]));
}

/** Runs `fn` holding the lock at `lockPath`, waiting (abortably) while another live process holds it. */
export async function withFileLock<T>(
  lockPath: string,
  fn: () => Promise<T>,
  signal?: AbortSignal,
): Promise<T> {
  await mkdir(dirname(lockPath), { recursive: true });
  for (;;) {
    signal?.throwIfAborted();
    try {
      const handle = await open(lockPath, 'wx');
      try {
        await handle.writeFile(`${process.pid}@${hostname()}`);
      } finally {
        await handle.close();
      }
      break;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    }
    if (await isStale(lockPath)) await rm(lockPath, { force: true });
    else
      await sleep(POLL_MS, undefined, { signal }).catch((error: unknown) => {
        throw signal?.aborted ? signal.reason : error;
      });
  }
  try {
    return await fn();
  } finally {
    await rm(lockPath, { force: true });
  }
}
