/**
 * The worker-thread side of src/runtime/ort-thread.ts: owns ONNX Runtime sessions and runs them when asked.
 *
 * onnxruntime-node's `run` is synchronous native code (its promise only defers the call with setImmediate), so a
 * run on the main thread blocks the event loop for the whole batch: no HTTP request is read, no timer fires, no
 * progress bar moves. Here it blocks this thread instead. Messages are handled in arrival order, so runs from one
 * process never overlap: each session already uses every intra-op thread, and two at once would only fight over
 * the cores.
 */
import { parentPort, workerData } from 'node:worker_threads';
import * as ort from 'onnxruntime-node';
import {
  GATE_HALTED,
  GATE_RUNNING,
  type OrtReply,
  type OrtRequest,
  type WireTensor,
} from './ort-protocol.js';

if (!parentPort) throw new Error('ort-worker.ts must be started as a worker thread (see ort-thread.ts)');
const port = parentPort;
const gate = (workerData as { gate: Int32Array }).gate;

class HaltedError extends Error {}

/**
 * Runs native ORT work unless the process is exiting. A process that exits while this thread is inside ORT dies
 * of a native abort (ORT's binding throws a C++ Napi::Error into a tearing-down environment), so the main thread
 * halts the gate and waits for RUNNING to reach 0 before it exits. Counting in before checking the flag (the
 * main thread sets the flag before reading the count) means one of the two always sees the other.
 */
async function gated<T>(work: () => Promise<T>): Promise<T> {
  Atomics.add(gate, GATE_RUNNING, 1);
  try {
    if (Atomics.load(gate, GATE_HALTED) !== 0) throw new HaltedError('the process is exiting');
    return await work();
  } finally {
    Atomics.sub(gate, GATE_RUNNING, 1);
  }
}

const sessions = new Map<number, ort.InferenceSession>();
let nextSessionId = 1;

port.on('message', (request: OrtRequest) => {
  void handle(request).then(
    ({ result, transfer }) =>
      port.postMessage({ id: request.id, ok: true, result } satisfies OrtReply, transfer),
    (error: unknown) =>
      port.postMessage({
        id: request.id,
        ok: false,
        error: error instanceof Error ? error.message : String(error),
        ...(error instanceof HaltedError ? { halted: true } : {}),
      } satisfies OrtReply),
  );
});

async function handle(request: OrtRequest): Promise<{ result: unknown; transfer: ArrayBuffer[] }> {
  switch (request.kind) {
    case 'open': {
      const model = request.model;
      const session = await gated(() =>
        typeof model === 'string'
          ? ort.InferenceSession.create(model, request.options)
          : ort.InferenceSession.create(model, request.options),
      );
      const sessionId = nextSessionId++;
      sessions.set(sessionId, session);
      return {
        result: { sessionId, inputNames: session.inputNames, outputNames: session.outputNames },
        transfer: [],
      };
    }
    case 'run': {
      const session = sessionById(request.sessionId);
      const feeds: Record<string, ort.Tensor> = {};
      for (const [name, t] of Object.entries(request.feeds))
        feeds[name] = new ort.Tensor(t.type, t.data, t.dims);
      const outputs = request.outputs;
      const results = await gated(() => (outputs ? session.run(feeds, outputs) : session.run(feeds)));
      const out: Record<string, WireTensor> = {};
      const transfer: ArrayBuffer[] = [];
      for (const [name, tensor] of Object.entries(results)) {
        if (tensor.type !== 'float32' && tensor.type !== 'int64') {
          throw new Error(`output ${name} has unexpected type ${tensor.type}`);
        }
        const data = ownedCopy(tensor.data as Float32Array | BigInt64Array);
        transfer.push(data.buffer as ArrayBuffer);
        out[name] = { type: tensor.type, data, dims: [...tensor.dims] } as WireTensor;
      }
      return { result: out, transfer };
    }
    case 'release': {
      const session = sessions.get(request.sessionId);
      sessions.delete(request.sessionId);
      // Once halted the process is about to exit, which frees the session anyway.
      if (Atomics.load(gate, GATE_HALTED) === 0) await gated(async () => session?.release());
      return { result: null, transfer: [] };
    }
  }
}

function sessionById(id: number): ort.InferenceSession {
  const session = sessions.get(id);
  if (!session) throw new Error(`session ${id} was released`);
  return session;
}

/** The array itself when it owns its whole buffer (so the buffer can be moved, not copied), else a copy that does. */
function ownedCopy<T extends Float32Array | BigInt64Array>(data: T): T {
  if (data.byteOffset === 0 && data.byteLength === data.buffer.byteLength) return data;
  return data.slice() as T;
}
