/**
 * safetensors dtypes: their byte sizes and the widening of each to float32 for compute. Kept apart from the
 * reader so the conversions can be tested against hand-computed values on their own.
 */
import type { SafetensorsDtype } from './types.js';

export const DTYPE_BYTES: Readonly<Record<SafetensorsDtype, number>> = {
  F64: 8,
  F32: 4,
  F16: 2,
  BF16: 2,
  I64: 8,
  I32: 4,
  I8: 1,
  U8: 1,
  BOOL: 1,
};

export function isSafetensorsDtype(value: unknown): value is SafetensorsDtype {
  return typeof value === 'string' && Object.prototype.hasOwnProperty.call(DTYPE_BYTES, value);
}

/** IEEE 754 binary16 bits → number (exact: every half is representable in float32). */
export function halfToFloat(bits: number): number {
  const sign = bits & 0x8000 ? -1 : 1;
  const exponent = (bits >> 10) & 0x1f;
  const fraction = bits & 0x3ff;
  if (exponent === 0) return sign * fraction * 2 ** -24; // zero and subnormals
  if (exponent === 0x1f) return fraction === 0 ? sign * Infinity : NaN;
  return sign * (1 + fraction / 1024) * 2 ** (exponent - 15);
}

/**
 * Converts `count` elements of `dtype`, little-endian, starting at `byteOffset` of `bytes`, to float32.
 * F32 goes through here only when its bytes are not 4-aligned (otherwise the reader returns a view).
 */
export function toFloat32(
  bytes: Uint8Array,
  byteOffset: number,
  count: number,
  dtype: SafetensorsDtype,
): Float32Array {
  const view = new DataView(bytes.buffer, bytes.byteOffset + byteOffset, count * DTYPE_BYTES[dtype]);
  const out = new Float32Array(count);
  switch (dtype) {
    case 'F32':
      for (let i = 0; i < count; i++) out[i] = view.getFloat32(i * 4, true);
      break;
    case 'F64':
      for (let i = 0; i < count; i++) out[i] = view.getFloat64(i * 8, true);
      break;
    case 'F16': {
      // A 64 Ki-entry table makes the conversion a lookup; built once on first use.
      const table = halfTable();
      for (let i = 0; i < count; i++) out[i] = table[view.getUint16(i * 2, true)]!;
      break;
    }
    case 'BF16': {
      // bfloat16 is the upper half of a float32: shift the bits into place and reinterpret. Uint32Array and
      // Float32Array share the host byte order, so this holds on any host.
      const bits = new Uint32Array(out.buffer);
      for (let i = 0; i < count; i++) bits[i] = view.getUint16(i * 2, true) << 16;
      break;
    }
    case 'I64':
      for (let i = 0; i < count; i++) out[i] = Number(view.getBigInt64(i * 8, true));
      break;
    case 'I32':
      for (let i = 0; i < count; i++) out[i] = view.getInt32(i * 4, true);
      break;
    case 'I8':
      for (let i = 0; i < count; i++) out[i] = view.getInt8(i);
      break;
    case 'U8':
    case 'BOOL':
      for (let i = 0; i < count; i++) out[i] = view.getUint8(i);
      break;
  }
  return out;
}

let halfLookup: Float32Array | undefined;
function halfTable(): Float32Array {
  if (!halfLookup) {
    halfLookup = new Float32Array(65536);
    for (let bits = 0; bits < 65536; bits++) halfLookup[bits] = halfToFloat(bits);
  }
  return halfLookup;
}

let hostIsLittleEndian: boolean | undefined;
/** Typed-array views are in host byte order; safetensors is little-endian. */
export function littleEndianHost(): boolean {
  if (hostIsLittleEndian === undefined) {
    hostIsLittleEndian = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;
  }
  return hostIsLittleEndian;
}
