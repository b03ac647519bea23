/**
 * One worker thread per process that owns every ONNX Runtime session opened with `runOn: 'worker'` (the default)
 * and runs them in request order (see ort-worker.ts for why runs must leave the main thread). A session opened
 * with `runOn: 'own-worker'` gets a thread of its own instead, which stops when the session is released.
 *
 * The worker does not keep the process alive while nothing is pending: it is unref'd when idle and ref'd while
 * a request waits. If the thread dies (an uncaught error, `terminate`), every waiting request is rejected, the
 * sessions it held are gone (using one again says so), and the next session opened starts a fresh thread.
 */
import { Worker } from 'node:worker_threads';
import type * as ort from 'onnxruntime-node';
import {
  GATE_HALTED,
  GATE_RUNNING,
  type OpenedSession,
  type OrtReply,
  type OrtRequest,
} from './ort-protocol.js';

/** Distributes a request's fields without its id, for each request kind. */
type RequestBody = OrtRequest extends infer R ? (R extends OrtRequest ? Omit<R, 'id'> : never) : never;

interface Waiting {
  resolve: (result: unknown) => void;
  reject: (error: Error) => void;
}

export class OrtThreadStoppedError extends Error {
  constructor(reason: string) {
    super(`the ONNX Runtime worker thread stopped (${reason})`);
    this.name = 'OrtThreadStoppedError';
  }
}

/** Refused because haltOrtWork() was called: the process is about to exit. */
export class OrtHaltedError extends Error {
  constructor() {
    super('ONNX Runtime work was halted because the process is exiting');
    this.name = 'OrtHaltedError';
  }
}

/** Shared with every ORT worker of this process (see GATE_HALTED / GATE_RUNNING in ort-protocol.ts). */
const gate = new Int32Array(new SharedArrayBuffer(2 * Int32Array.BYTES_PER_ELEMENT));

/**
 * Stops every ORT thread of the process from starting native work (session creation, runs, releases) and
 * resolves once none is inside ONNX Runtime: a run in progress finishes; requests still queued are refused with
 * OrtHaltedError. Call it before `process.exit` while sessions may be running (a second SIGTERM): exiting while
 * a worker is inside ORT aborts the process natively (`terminate called after throwing an instance of
 * 'Napi::Error'`, exit 134). Irreversible: the process is expected to exit next.
 */
export async function haltOrtWork(pollMs = 2): Promise<void> {
  Atomics.store(gate, GATE_HALTED, 1);
  while (Atomics.load(gate, GATE_RUNNING) !== 0) await new Promise((resolve) => setTimeout(resolve, pollMs));
}

export class OrtThread {
  private readonly worker: Worker;
  private readonly waiting = new Map<number, Waiting>();
  private nextId = 1;
  /** Why the thread stopped; set once, after which every request fails at once. */
  private stopped: string | null = null;

  private static current: OrtThread | null = null;

  /** The process's ORT thread, started on first use (and again after the previous one stopped). */
  static shared(): OrtThread {
    if (!OrtThread.current || OrtThread.current.stopped !== null) OrtThread.current = new OrtThread();
    return OrtThread.current;
  }

  /** A thread for one session alone (`runOn: 'own-worker'`), so its runs never wait behind another session's. */
  static dedicated(): OrtThread {
    return new OrtThread();
  }

  private constructor() {
    this.worker = startWorker();
    this.worker.unref();
    this.worker.on('message', (reply: OrtReply) => this.settle(reply));
    this.worker.on('error', (error) => this.stop(error.message));
    this.worker.on('exit', (code) => this.stop(`exit code ${code}`));
  }

  get alive(): boolean {
    return this.stopped === null;
  }

  async open(
    model: Uint8Array | string,
    options: ort.InferenceSession.SessionOptions,
    transferBytes = false,
  ): Promise<OpenedSession> {
    const transfer =
      transferBytes && typeof model !== 'string' && ownsWholeBuffer(model)
        ? [model.buffer as ArrayBuffer]
        : [];
    return (await this.request({ kind: 'open', model, options }, transfer)) as OpenedSession;
  }

  request(body: RequestBody, transfer: ArrayBuffer[] = []): Promise<unknown> {
    if (this.stopped !== null) return Promise.reject(new OrtThreadStoppedError(this.stopped));
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      if (this.waiting.size === 0) this.worker.ref();
      this.waiting.set(id, { resolve, reject });
      this.worker.postMessage({ ...body, id } as OrtRequest, transfer);
    });
  }

  /** Stops the thread (a session's own thread when it is released; tests). Sessions it held are lost. */
  async terminate(): Promise<void> {
    await this.worker.terminate();
  }

  private settle(reply: OrtReply): void {
    const waiting = this.waiting.get(reply.id);
    if (!waiting) return;
    this.waiting.delete(reply.id);
    if (this.waiting.size === 0) this.worker.unref();
    if (reply.ok) waiting.resolve(reply.result);
    else waiting.reject(reply.halted ? new OrtHaltedError() : new Error(reply.error));
  }

  private stop(reason: string): void {
    if (this.stopped !== null) return;
    this.stopped = reason;
    const waiting = [...this.waiting.values()];
    this.waiting.clear();
    for (const w of waiting) w.reject(new OrtThreadStoppedError(reason));
  }
}

function ownsWholeBuffer(bytes: Uint8Array): boolean {
  return (
    bytes.byteOffset === 0 &&
    bytes.byteLength === bytes.buffer.byteLength &&
    !(bytes.buffer instanceof SharedArrayBuffer)
  );
}

/**
 * Starts ort-worker. From compiled JavaScript (the package, `npm run build`) that is ort-worker.js beside this
 * file. From the TypeScript sources (tests and scripts run through tsx) the worker would not inherit tsx's module
 * hooks, so it registers them itself before importing ort-worker.ts.
 */
function startWorker(): Worker {
  const here = import.meta.url;
  const workerData = { gate };
  if (!here.endsWith('.ts')) return new Worker(new URL('./ort-worker.js', here), { workerData });
  const tsxApi = import.meta.resolve('tsx/esm/api');
  const entry = new URL('./ort-worker.ts', here).href;
  const boot = `import(${JSON.stringify(tsxApi)}).then((api) => { api.register(); return import(${JSON.stringify(entry)}); });`;
  return new Worker(boot, { eval: true, workerData });
}
