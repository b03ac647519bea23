/**
 * Writes safetensors files (used to make random checkpoints and to build test files). The header is padded with
 * spaces to a multiple of 8 bytes, as the Python `safetensors` library does, so the data area starts aligned and
 * float32 tensors can be read as views.
 */
import { open } from 'node:fs/promises';
import { DTYPE_BYTES, littleEndianHost } from './dtype.js';
import type { SafetensorsDtype } from './types.js';

export interface TensorToWrite {
  name: string;
  dtype: SafetensorsDtype;
  shape: number[];
  /** Little-endian bytes of the tensor, or float32 values when dtype is F32. */
  data: Uint8Array | Float32Array;
}

/** Serialises tensors (in the given order) and optional `__metadata__` into safetensors bytes. */
export function serializeSafetensors(
  tensors: TensorToWrite[],
  metadata?: Record<string, string>,
): Uint8Array {
  const header: Record<string, unknown> = {};
  if (metadata) header.__metadata__ = metadata;
  let offset = 0;
  const chunks: Uint8Array[] = [];
  for (const t of tensors) {
    const bytes = t.data instanceof Float32Array ? float32Bytes(t.data) : t.data;
    const expected = t.shape.reduce((a, b) => a * b, 1) * DTYPE_BYTES[t.dtype];
    if (bytes.byteLength !== expected) {
      throw new RangeError(
        `tensor ${t.name}: ${bytes.byteLength} bytes given, shape and dtype need ${expected}`,
      );
    }
    header[t.name] = { dtype: t.dtype, shape: t.shape, data_offsets: [offset, offset + bytes.byteLength] };
    offset += bytes.byteLength;
    chunks.push(bytes);
  }
  let json = JSON.stringify(header);
  const encoder = new TextEncoder();
  const padding = (8 - (encoder.encode(json).byteLength % 8)) % 8;
  json += ' '.repeat(padding);
  const headerBytes = encoder.encode(json);
  const out = new Uint8Array(8 + headerBytes.byteLength + offset);
  new DataView(out.buffer).setBigUint64(0, BigInt(headerBytes.byteLength), true);
  out.set(headerBytes, 8);
  let cursor = 8 + headerBytes.byteLength;
  for (const chunk of chunks) {
    out.set(chunk, cursor);
    cursor += chunk.byteLength;
  }
  return out;
}

function float32Bytes(values: Float32Array): Uint8Array {
  // On little-endian hosts the array's own bytes are already in file order.
  if (littleEndianHost()) return new Uint8Array(values.buffer, values.byteOffset, values.byteLength);
  const out = new Uint8Array(values.length * 4);
  const view = new DataView(out.buffer);
  for (let i = 0; i < values.length; i++) view.setFloat32(i * 4, values[i]!, true);
  return out;
}

/** A tensor whose bytes are produced only when it is written (so a large checkpoint never sits in memory whole). */
export interface LazyTensorToWrite {
  name: string;
  dtype: SafetensorsDtype;
  shape: number[];
  data: () => Uint8Array | Float32Array;
}

/**
 * Writes a safetensors file tensor by tensor: the header first (sizes come from shapes), then each tensor's bytes
 * as it is produced. Peak memory is one tensor, not the checkpoint.
 */
export async function writeSafetensorsFile(
  path: string,
  tensors: LazyTensorToWrite[],
  metadata?: Record<string, string>,
): Promise<void> {
  const header: Record<string, unknown> = {};
  if (metadata) header.__metadata__ = metadata;
  let offset = 0;
  for (const t of tensors) {
    const length = t.shape.reduce((a, b) => a * b, 1) * DTYPE_BYTES[t.dtype];
    header[t.name] = { dtype: t.dtype, shape: t.shape, data_offsets: [offset, offset + length] };
    offset += length;
  }
  const encoder = new TextEncoder();
  let json = JSON.stringify(header);
  json += ' '.repeat((8 - (encoder.encode(json).byteLength % 8)) % 8);
  const headerBytes = encoder.encode(json);
  const prefix = new Uint8Array(8);
  new DataView(prefix.buffer).setBigUint64(0, BigInt(headerBytes.byteLength), true);

  const handle = await open(path, 'w');
  try {
    await handle.write(prefix);
    await handle.write(headerBytes);
    for (const t of tensors) {
      const produced = t.data();
      const bytes = produced instanceof Float32Array ? float32Bytes(produced) : produced;
      const expected = t.shape.reduce((a, b) => a * b, 1) * DTYPE_BYTES[t.dtype];
      if (bytes.byteLength !== expected) {
        throw new RangeError(
          `tensor ${t.name}: ${bytes.byteLength} bytes produced, shape and dtype need ${expected}`,
        );
      }
      await handle.write(bytes);
    }
  } finally {
    await handle.close();
  }
}
