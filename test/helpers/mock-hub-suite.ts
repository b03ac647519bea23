/**
 * The mock Hub as a hub test file uses it: started before the file's tests, closed after them with its temporary
 * folder removed, and a fresh cache per test whose environment keeps the machine's own HF settings out.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before } from 'node:test';
import type { ResolveModelOptions } from '../../src/hub/resolve-model.js';
import { startMockHub, type MockHub, type MockHubOptions } from './mock-hub.js';

export interface MockHubSuite {
  /** The running mock Hub (set once the file's `before` hook has run). */
  readonly hub: MockHub;
  /** A temporary folder removed after the file's tests. */
  readonly tempRoot: string;
  /** Options for resolveModel against the mock Hub with a new, empty cache under its own HF_HOME. */
  freshOptions(extra?: ResolveModelOptions): ResolveModelOptions & { cacheDir: string };
}

/** Registers the file's before/after hooks; `tempPrefix` names the temporary folder (`seqbatch-hub-…-`). */
export function mockHubSuite(options: MockHubOptions, tempPrefix: string): MockHubSuite {
  let hub: MockHub | undefined;
  let tempRoot: string | undefined;
  let caches = 0;
  before(async () => {
    hub = await startMockHub(options);
    tempRoot = await mkdtemp(join(tmpdir(), tempPrefix));
  });
  after(async () => {
    await hub?.close();
    if (tempRoot !== undefined) await rm(tempRoot, { recursive: true, force: true });
  });
  const started = <T>(value: T | undefined, what: string): T => {
    if (value === undefined) throw new Error(`mockHubSuite: ${what} is used before the before() hook ran`);
    return value;
  };
  return {
    get hub() {
      return started(hub, 'hub');
    },
    get tempRoot() {
      return started(tempRoot, 'tempRoot');
    },
    freshOptions(extra = {}) {
      const home = join(started(tempRoot, 'tempRoot'), `home-${caches++}`);
      return {
        endpoint: started(hub, 'hub').endpoint,
        cacheDir: join(home, 'hub'),
        env: { HF_HOME: home },
        progressBar: false,
        ...extra,
      };
    },
  };
}
