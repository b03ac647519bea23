/**
 * The worker-thread side of src/runtime/ort-thread.ts: owns ONNX Runtime sessions and runs them when asked.
 *
 * onnxruntime-node's `run` is synchronous native code (its promise only defers the call with setImmediate), so a
 * run on the main thread blocks the event loop for the whole batch: no HTTP request is read, no timer fires, no
 * progress bar moves. Here it blocks this thread instead. Messages are handled in arrival order, so runs from one
 * process never overlap: each session already uses every intra-op thread, and two at once would only fight over
 * the cores.
 */
import { parentPort } from 'node:worker_threads';
import * as ort from 'onnxruntime-node';
import type { OrtReply, OrtRequest, WireTensor } from './ort-protocol.js';

if (!parentPort) throw new Error('ort-worker.ts must be started as a worker thread (see ort-thread.ts)');
const port = parentPort;

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
      } satisfies OrtReply),
  );
});

async function handle(request: OrtRequest): Promise<{ result: unknown; transfer: ArrayBuffer[] }> {
  switch (request.kind) {
    case 'open': {
      const session =
        typeof request.model === 'string'
          ? await ort.InferenceSession.create(request.model, request.options)
          : await ort.InferenceSession.create(request.model, request.options);
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
      const results = request.outputs ? await session.run(feeds, request.outputs) : await session.run(feeds);
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
      await session?.release();
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
