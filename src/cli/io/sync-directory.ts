/**
 * `--fsync` for names, not just bytes. fsync on a file makes its data durable, but a new file's name and a rename
 * live in the directory: until the directory itself is synced, power loss can bring back the old name (the
 * output still called `labels.jsonl.partial`, or the previous manifest). POSIX syncs a directory by opening it
 * read-only and calling fsync on that descriptor.
 */
import { open } from 'node:fs/promises';
import { dirname } from 'node:path';

/**
 * Error codes of platforms where a directory cannot be opened or synced this way (Windows: EISDIR or EPERM on
 * open; some file systems: EINVAL on fsync). There the rename is as durable as the platform makes it.
 */
const UNSUPPORTED = new Set(['EISDIR', 'EPERM', 'EACCES', 'EINVAL', 'ENOTSUP', 'EBADF']);

/** fsyncs the directory holding `file`, so the names created or renamed in it survive power loss. */
export async function syncDirectoryOf(file: string): Promise<void> {
  let handle;
  try {
    handle = await open(dirname(file), 'r');
  } catch (error) {
    if (UNSUPPORTED.has((error as NodeJS.ErrnoException).code ?? '')) return;
    throw error;
  }
  try {
    await handle.sync();
  } catch (error) {
    if (!UNSUPPORTED.has((error as NodeJS.ErrnoException).code ?? '')) throw error;
  } finally {
    await handle.close();
  }
}

/**
 * The directory sync the writers call, reachable as a property so tests can watch the calls (ES module bindings
 * cannot be replaced from outside).
 */
export const durability = { syncDirectoryOf };
