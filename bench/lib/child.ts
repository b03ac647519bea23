/**
 * Runs one benchmark peer in a fresh Node process, so peers never share a heap, a JIT profile, a thread pool or
 * the peak-RSS counter. The worker prints one `RESULT_PREFIX` line holding its JSON result; everything else it
 * writes is passed through (stderr) or ignored (stdout).
 */
import { spawn } from 'node:child_process';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const RESULT_PREFIX = '@@bench-result ';
/** bench/ of the sources (or of the compiled copy when this file runs from .cache/bench/build). */
export const BENCH_DIR = resolve(dirname(fileURLToPath(import.meta.url)), '..');
/** The repository; compiled workers are told it through SEQBATCH_REPO_ROOT since they run from a copy. */
export const REPO_ROOT = process.env.SEQBATCH_REPO_ROOT ?? resolve(BENCH_DIR, '..');

/** Set by prepareWorkers: the folder holding the tsc-compiled bench/ and src/, or null for tsx. */
let buildDir: string | null = null;
export function setWorkerBuild(dir: string | null): void {
  buildDir = dir;
}

export interface WorkerRun {
  /** Worker file under bench/workers/, e.g. 'tokenizers-peer.ts'. */
  worker: string;
  args: string[];
  /** Extra Node flags, e.g. ['--cpu-prof', '--cpu-prof-dir', dir]. */
  nodeFlags?: string[];
  env?: Record<string, string>;
  timeoutMs?: number;
}

export class WorkerFailure extends Error {}

/** The node arguments that run a worker file (compiled JavaScript, or the TypeScript source through tsx). */
export function workerCommand(worker: string): string[] {
  if (buildDir !== null) return [join(buildDir, 'bench', 'workers', worker.replace(/\.ts$/, '.js'))];
  return ['--import', 'tsx', join(BENCH_DIR, 'workers', worker)];
}

/** Spawns node on bench/workers/<worker> with `args` and resolves with the worker's JSON result. */
export function runWorker<T>(run: WorkerRun): Promise<T> {
  const argv = [...(run.nodeFlags ?? []), ...workerCommand(run.worker), ...run.args];
  return new Promise<T>((resolvePromise, reject) => {
    const child = spawn(process.execPath, argv, {
      cwd: REPO_ROOT,
      env: { ...process.env, SEQBATCH_REPO_ROOT: REPO_ROOT, ...run.env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    const timer =
      run.timeoutMs === undefined
        ? undefined
        : setTimeout(() => {
            child.kill('SIGKILL');
            reject(
              new WorkerFailure(`${run.worker} ${run.args.join(' ')}: timed out after ${run.timeoutMs} ms`),
            );
          }, run.timeoutMs);
    child.on('error', reject);
    child.on('close', (code, signal) => {
      if (timer) clearTimeout(timer);
      const line = stdout.split('\n').find((l) => l.startsWith(RESULT_PREFIX));
      if (code !== 0 || !line) {
        reject(
          new WorkerFailure(
            `${run.worker} ${run.args.join(' ')} exited with ${signal ?? code}` +
              `${line ? '' : ' without a result'}\n${stderr.trim().split('\n').slice(-20).join('\n')}`,
          ),
        );
        return;
      }
      resolvePromise(JSON.parse(line.slice(RESULT_PREFIX.length)) as T);
    });
  });
}
