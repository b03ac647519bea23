/** The messages between src/runtime/ort-thread.ts (main thread) and src/runtime/ort-worker.ts (worker thread). */
import type * as ort from 'onnxruntime-node';

/** A tensor as it crosses the thread boundary (typed arrays are copied or moved by postMessage). */
export type WireTensor =
  | { type: 'int64'; data: BigInt64Array; dims: number[] }
  | { type: 'float32'; data: Float32Array; dims: number[] };

export type OrtRequest =
  | { kind: 'open'; id: number; model: Uint8Array | string; options: ort.InferenceSession.SessionOptions }
  | { kind: 'run'; id: number; sessionId: number; feeds: Record<string, WireTensor>; outputs?: string[] }
  | { kind: 'release'; id: number; sessionId: number };

export interface OpenedSession {
  sessionId: number;
  inputNames: readonly string[];
  outputNames: readonly string[];
}

/** `halted`: the request was refused because the process is exiting (see haltOrtWork in ort-thread.ts). */
export type OrtReply =
  { id: number; ok: true; result: unknown } | { id: number; ok: false; error: string; halted?: boolean };

/**
 * Indices into the Int32Array over the SharedArrayBuffer every ORT worker of a process receives as
 * `workerData.gate`: HALTED is set (by the main thread) once no new native work may start; RUNNING counts the
 * native calls (session creation, runs, releases) in progress across all workers.
 */
export const GATE_HALTED = 0;
export const GATE_RUNNING = 1;
