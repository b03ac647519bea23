/**
 * Real `seqbatch jobs ...` processes for the queue tests: the CLI compiled once (helpers/compiled-cli.ts), each
 * child pointed at the test's own Redis (REDIS_URL) and graph cache.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Redis } from 'ioredis';
import { jobStatus, type JobStatus } from '../../src/jobs/index.js';
import { compileCli } from './compiled-cli.js';
import { sharedPath } from './shared.js';

export interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

export interface Started {
  child: ChildProcess;
  stderr: () => string;
  exited: Promise<Exit>;
}

export class JobsCli {
  private constructor(
    private readonly nodeArgs: (args: readonly string[]) => string[],
    readonly env: NodeJS.ProcessEnv,
  ) {}

  /** Compiles the CLI into `work` and returns a runner using `redisUrl`. */
  static async create(work: string, redisUrl: string): Promise<JobsCli> {
    const nodeArgs = await compileCli(join(work, 'cli'));
    const env = { ...process.env, REDIS_URL: redisUrl, SEQBATCH_CACHE: join(work, 'graph-cache') };
    return new JobsCli(nodeArgs, env);
  }

  /** Starts `seqbatch <args>` (in the folder `cwd`, default this process's). */
  start(args: readonly string[], env: NodeJS.ProcessEnv = {}, cwd?: string): Started {
    const child = spawn(process.execPath, this.nodeArgs(args), {
      cwd,
      env: { ...this.env, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout!.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const exited = once(child, 'exit').then(([code, signal]) => ({
      code: code as number | null,
      signal: signal as NodeJS.Signals | null,
      stdout,
      stderr,
    }));
    return { child, stderr: () => stderr, exited };
  }

  /** Runs `seqbatch <args>` to its end. */
  run(args: readonly string[], env: NodeJS.ProcessEnv = {}, cwd?: string): Promise<Exit> {
    return this.start(args, env, cwd).exited;
  }

  /** Starts a worker and resolves once it is listening on its queue. */
  async worker(args: readonly string[] = []): Promise<Started> {
    const started = this.start(['jobs', 'worker', ...args]);
    while (!started.stderr().includes(' on queue ')) {
      const exit = await Promise.race([started.exited, new Promise((done) => setTimeout(done, 50))]);
      if (exit !== undefined) throw new Error(`worker exited early: ${(exit as Exit).stderr}`);
    }
    return started;
  }
}

/** Stops a worker with SIGTERM (it finishes its chunk) and waits for it. */
export async function stopWorker(worker: Started): Promise<Exit> {
  if (worker.child.exitCode === null && worker.child.signalCode === null) worker.child.kill('SIGTERM');
  return worker.exited;
}

/** Polls the job's status until `done` holds (or fails after `timeoutMs`, naming `what` and the last status). */
export async function untilStatus(
  redis: Redis,
  url: string,
  job: string,
  done: (status: JobStatus) => boolean,
  what: string,
  timeoutMs = 240_000,
): Promise<JobStatus> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const status = await jobStatus(redis, job, url);
    if (done(status)) return status;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}: ${JSON.stringify(status)}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** Writes the header and the first `rows` rows of SST-2's train.tsv (shared data) to `file`; returns its lines. */
export function writeSst2Train(file: string, rows: number): string[] {
  const lines = readFileSync(sharedPath('datasets', 'sst2', 'train.tsv'), 'utf8').split('\n');
  writeFileSync(file, lines.slice(0, rows + 1).join('\n') + '\n');
  return lines;
}
