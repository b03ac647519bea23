/**
 * A safetensors reader that validates before it trusts. A file is `u64le header length N`, `N bytes of UTF-8
 * JSON`, then the data area. The header describes every tensor's dtype, shape and [begin, end) byte span in the
 * data area; spans must tile the data area exactly (sorted, no overlap, no gap, nothing left over), like the
 * Rust `safetensors` crate requires. Every failure is a WeightsError naming the file and, when known, the tensor.
 *
 * The file is read once into a single Buffer; F32 tensors whose bytes are 4-aligned are returned as views into it,
 * so loading costs one copy of the checkpoint. Only unaligned or non-F32 tensors are copied (converted).
 * `readSafetensorsOnDemand` reads only the header, and each tensor from the file when it is asked for (the int8
 * build quantizes tensors one at a time, so it never holds the whole fp32 checkpoint).
 */
import { closeSync, openSync, readSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { WeightsError } from '../errors.js';
import { DTYPE_BYTES, isSafetensorsDtype, littleEndianHost, toFloat32 } from './dtype.js';
import type { SafetensorsDtype, TensorInfo, WeightStore } from './types.js';

/** The same cap as the Rust crate: a header over 100 MB is refused before it is parsed. */
export const MAX_HEADER_BYTES = 100_000_000;

/** One tensor's place in a loaded file. */
export interface TensorEntry extends TensorInfo {
  name: string;
  /** The file it came from. */
  file: string;
  /** The whole file's bytes, or null when the tensor is read from `file` on demand. */
  bytes: Uint8Array | null;
  /** Absolute byte offset of the tensor in `bytes` (in the file, when read on demand). */
  byteOffset: number;
  byteLength: number;
  /** Number of elements (product of the shape). */
  size: number;
}

export interface SafetensorsFile {
  file: string;
  /** `__metadata__` (string → string), empty when absent. */
  metadata: Record<string, string>;
  /** Tensors in header order. */
  tensors: TensorEntry[];
}

function fail(file: string, message: string, tensor?: string): never {
  throw new WeightsError(`${file}: ${tensor === undefined ? '' : `tensor "${tensor}": `}${message}`, {
    file,
    field: tensor,
  });
}

/** A validated header: tensors with spans relative to the data area, which starts at `dataStart`. */
export interface SafetensorsHeader {
  metadata: Record<string, string>;
  tensors: Array<TensorInfo & { name: string; begin: number; end: number; size: number }>;
  /** Byte offset of the data area in the file (8 + header length). */
  dataStart: number;
}

/** Parses and validates a whole safetensors file held in memory. `file` names it in errors. */
export function parseSafetensors(bytes: Uint8Array, file: string): SafetensorsFile {
  if (bytes.byteLength < 8) {
    fail(file, `file is ${bytes.byteLength} bytes, too short to hold the 8-byte header length (truncated?)`);
  }
  const n = headerLength(bytes.subarray(0, 8), bytes.byteLength, file);
  return fileOf(parseHeader(bytes.subarray(8, 8 + n), bytes.byteLength - 8 - n, file), file, bytes);
}

/** The tensors of a validated header, over the file's bytes (or read on demand when `bytes` is null). */
function fileOf(header: SafetensorsHeader, file: string, bytes: Uint8Array | null): SafetensorsFile {
  return {
    file,
    metadata: header.metadata,
    tensors: header.tensors.map(({ name, dtype, shape, begin, end, size }) => ({
      name,
      dtype,
      shape,
      file,
      bytes,
      byteOffset: header.dataStart + begin,
      byteLength: end - begin,
      size,
    })),
  };
}

/** Reads the 8-byte header length and checks it against the cap and the file size. */
function headerLength(prefix: Uint8Array, fileSize: number, file: string): number {
  const length = new DataView(prefix.buffer, prefix.byteOffset, 8).getBigUint64(0, true);
  if (length > BigInt(MAX_HEADER_BYTES)) {
    fail(
      file,
      `header length ${length} exceeds the ${MAX_HEADER_BYTES}-byte limit (corrupt or not safetensors)`,
    );
  }
  const n = Number(length);
  if (8 + n > fileSize) {
    fail(file, `header length ${n} runs past the end of the ${fileSize}-byte file (truncated?)`);
  }
  return n;
}

/** Validates the JSON header against a data area of `dataLength` bytes. */
export function parseHeader(headerBytes: Uint8Array, dataLength: number, file: string): SafetensorsHeader {
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(headerBytes);
  } catch {
    fail(file, 'header is not valid UTF-8');
  }
  let header: unknown;
  try {
    header = JSON.parse(text);
  } catch (error) {
    fail(file, `header is not valid JSON (${(error as Error).message})`);
  }
  if (header === null || typeof header !== 'object' || Array.isArray(header)) {
    fail(file, 'header must be a JSON object mapping tensor names to {dtype, shape, data_offsets}');
  }

  let metadata: Record<string, string> = {};
  const tensors: SafetensorsHeader['tensors'] = [];

  for (const [name, value] of Object.entries(header as Record<string, unknown>)) {
    if (name === '__metadata__') {
      metadata = readMetadata(value, file);
      continue;
    }
    if (value === null || typeof value !== 'object' || Array.isArray(value)) {
      fail(file, 'expected an object {dtype, shape, data_offsets}', name);
    }
    const { dtype, shape, data_offsets: offsets } = value as Record<string, unknown>;
    if (!isSafetensorsDtype(dtype)) {
      fail(
        file,
        `unknown dtype ${JSON.stringify(dtype)} (supported: ${Object.keys(DTYPE_BYTES).join(', ')})`,
        name,
      );
    }
    if (!Array.isArray(shape) || !shape.every((d) => Number.isSafeInteger(d) && (d as number) >= 0)) {
      fail(file, `shape must be an array of non-negative integers, got ${JSON.stringify(shape)}`, name);
    }
    if (
      !Array.isArray(offsets) ||
      offsets.length !== 2 ||
      !offsets.every((o) => Number.isSafeInteger(o) && (o as number) >= 0)
    ) {
      fail(
        file,
        `data_offsets must be [begin, end] non-negative integers, got ${JSON.stringify(offsets)}`,
        name,
      );
    }
    const [begin, end] = offsets as [number, number];
    if (end < begin) fail(file, `data_offsets [${begin}, ${end}] end before they begin`, name);
    if (end > dataLength) {
      fail(
        file,
        `data_offsets [${begin}, ${end}] run past the ${dataLength}-byte data area (truncated?)`,
        name,
      );
    }
    let size = 1;
    for (const d of shape as number[]) {
      size *= d;
      if (!Number.isSafeInteger(size))
        fail(file, `shape ${JSON.stringify(shape)} has too many elements`, name);
    }
    const expectedBytes = size * DTYPE_BYTES[dtype];
    if (expectedBytes !== end - begin) {
      fail(
        file,
        `shape ${JSON.stringify(shape)} × ${dtype} (${DTYPE_BYTES[dtype]} bytes) needs ${expectedBytes} bytes ` +
          `but data_offsets [${begin}, ${end}] span ${end - begin}`,
        name,
      );
    }
    tensors.push({ name, dtype, shape: [...(shape as number[])], begin, end, size });
  }

  // The spans must tile the data area: sorted by begin, each starting where the previous one ended.
  const spans = [...tensors].sort((a, b) => a.begin - b.begin || a.end - b.end);
  let cursor = 0;
  for (const span of spans) {
    if (span.begin < cursor) {
      fail(
        file,
        `data_offsets [${span.begin}, ${span.end}] overlap the previous tensor (ending at ${cursor})`,
        span.name,
      );
    }
    if (span.begin > cursor) {
      fail(
        file,
        `data_offsets [${span.begin}, ${span.end}] leave a gap after byte ${cursor} of the data area`,
        span.name,
      );
    }
    cursor = span.end;
  }
  if (cursor !== dataLength) {
    fail(
      file,
      `tensors cover ${cursor} bytes but the data area holds ${dataLength} (trailing or missing bytes)`,
    );
  }
  return { metadata, tensors, dataStart: 8 + headerBytes.byteLength };
}

function readMetadata(value: unknown, file: string): Record<string, string> {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    fail(file, '__metadata__ must be an object of strings', '__metadata__');
  }
  const out: Record<string, string> = {};
  for (const [key, v] of Object.entries(value as Record<string, unknown>)) {
    if (typeof v !== 'string')
      fail(file, `__metadata__.${key} must be a string, got ${typeof v}`, '__metadata__');
    out[key] = v;
  }
  return out;
}

/** Validates a file's header and returns its tensors, whose bytes are read from the file when asked for. */
export async function readSafetensorsOnDemand(file: string): Promise<SafetensorsFile> {
  return fileOf(await readSafetensorsHeader(file), file, null);
}

/** A tensor's bytes read from its file into a fresh buffer (offset 0 of its own memory, so F32 data is aligned). */
function readTensorBytes(entry: TensorEntry): Buffer {
  const bytes = Buffer.allocUnsafeSlow(entry.byteLength);
  let fd: number;
  try {
    fd = openSync(entry.file, 'r');
  } catch (error) {
    throw new WeightsError(`${entry.file}: cannot open (${(error as Error).message})`, {
      file: entry.file,
      cause: error,
    });
  }
  try {
    let filled = 0;
    while (filled < entry.byteLength) {
      const read = readSync(fd, bytes, filled, entry.byteLength - filled, entry.byteOffset + filled);
      if (read === 0) fail(entry.file, 'file shrank since its header was read', entry.name);
      filled += read;
    }
  } finally {
    closeSync(fd);
  }
  return bytes;
}

/**
 * Reads a file into one freshly allocated Buffer of exactly its size (its own ArrayBuffer, offset 0, so
 * alignment in the file is alignment in memory), then validates it.
 */
export async function readSafetensors(file: string): Promise<SafetensorsFile> {
  let handle;
  try {
    handle = await open(file, 'r');
  } catch (error) {
    throw new WeightsError(`${file}: cannot open (${(error as Error).message})`, { file, cause: error });
  }
  try {
    const { size } = await handle.stat();
    const bytes = Buffer.allocUnsafeSlow(size);
    let filled = 0;
    while (filled < size) {
      const { bytesRead } = await handle.read(bytes, filled, Math.min(size - filled, 1 << 30), filled);
      if (bytesRead === 0) fail(file, `file shrank while being read (${filled} of ${size} bytes)`);
      filled += bytesRead;
    }
    return parseSafetensors(bytes, file);
  } finally {
    await handle.close();
  }
}

/**
 * Reads and validates only the header of a file (its data is never read): names, dtypes, shapes and metadata, for
 * summaries such as `seqbatch inspect`.
 */
export async function readSafetensorsHeader(file: string): Promise<SafetensorsHeader> {
  let handle;
  try {
    handle = await open(file, 'r');
  } catch (error) {
    throw new WeightsError(`${file}: cannot open (${(error as Error).message})`, { file, cause: error });
  }
  try {
    const { size } = await handle.stat();
    if (size < 8)
      fail(file, `file is ${size} bytes, too short to hold the 8-byte header length (truncated?)`);
    const prefix = Buffer.alloc(8);
    await handle.read(prefix, 0, 8, 0);
    const n = headerLength(prefix, size, file);
    const headerBytes = Buffer.alloc(n);
    await handle.read(headerBytes, 0, n, 8);
    return parseHeader(headerBytes, size - 8 - n, file);
  } finally {
    await handle.close();
  }
}

/** A WeightStore over the tensors of one or more validated files (several for sharded checkpoints). */
export class SafetensorsWeightStore implements WeightStore {
  private readonly entries = new Map<string, TensorEntry>();
  readonly files: string[];
  /** `__metadata__` of each file, in `files` order. */
  readonly metadata: Record<string, string>[];

  constructor(parsed: SafetensorsFile[]) {
    this.files = parsed.map((p) => p.file);
    this.metadata = parsed.map((p) => p.metadata);
    for (const { tensors } of parsed) {
      for (const entry of tensors) {
        const previous = this.entries.get(entry.name);
        if (previous) {
          throw new WeightsError(
            `tensor "${entry.name}" is stored in both ${previous.file} and ${entry.file}`,
            { file: entry.file, field: entry.name },
          );
        }
        this.entries.set(entry.name, entry);
      }
    }
  }

  names(): string[] {
    return [...this.entries.keys()];
  }

  has(name: string): boolean {
    return this.entries.has(name);
  }

  info(name: string): TensorInfo | undefined {
    const entry = this.entries.get(name);
    return entry && { dtype: entry.dtype, shape: [...entry.shape] };
  }

  /** Total number of elements over all tensors (the parameter count, counting stored tensors once). */
  parameterCount(): number {
    let total = 0;
    for (const entry of this.entries.values()) total += entry.size;
    return total;
  }

  /**
   * The tensor's raw little-endian bytes as stored: a view into the file's bytes, or, read on demand, a buffer of
   * its own (dropped after use).
   */
  getRaw(name: string): { dtype: SafetensorsDtype; shape: number[]; bytes: Uint8Array } {
    const entry = this.require(name);
    return { dtype: entry.dtype, shape: [...entry.shape], bytes: tensorBytes(entry) };
  }

  getFloat32(name: string, expectedShape?: number[]): { shape: number[]; data: Float32Array } {
    const entry = this.require(name);
    if (expectedShape && !sameShape(expectedShape, entry.shape)) {
      throw new WeightsError(
        `${entry.file}: tensor "${name}" has shape [${entry.shape.join(', ')}], expected [${expectedShape.join(', ')}] ` +
          '(does config.json match these weights?)',
        { file: entry.file, field: name },
      );
    }
    // On demand, the tensor's bytes come alone into a buffer of their own (aligned, dropped after use).
    const bytes = tensorBytes(entry);
    const data =
      entry.dtype === 'F32' && bytes.byteOffset % 4 === 0 && littleEndianHost()
        ? new Float32Array(bytes.buffer, bytes.byteOffset, entry.size)
        : toFloat32(bytes, 0, entry.size, entry.dtype);
    return { shape: [...entry.shape], data };
  }

  private require(name: string): TensorEntry {
    const entry = this.entries.get(name);
    if (!entry) {
      const file = this.files.length === 1 ? this.files[0]! : this.files.join(', ');
      throw new WeightsError(`${file}: tensor "${name}" not found in the checkpoint`, { file, field: name });
    }
    return entry;
  }
}

/** The tensor's bytes: a view into the whole file's bytes, or read from the file now. */
function tensorBytes(entry: TensorEntry): Uint8Array {
  return entry.bytes === null
    ? readTensorBytes(entry)
    : entry.bytes.subarray(entry.byteOffset, entry.byteOffset + entry.byteLength);
}

function sameShape(a: number[], b: number[]): boolean {
  return a.length === b.length && a.every((d, i) => d === b[i]);
}
