/**
 * A checkpoint folder converted to F16 or BF16 (what `model.half()` / `model.to(torch.bfloat16)` then
 * `save_pretrained` write), tensor by tensor, plus its "twin": the same narrowed values widened back and stored as
 * F32. A loader that widens correctly gives the narrowed checkpoint exactly the twin's outputs.
 */
import { copyFileSync, existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { halfToFloat } from '../../src/weights/dtype.js';
import { loadWeights } from '../../src/weights/load.js';
import { writeSafetensorsFile, type LazyTensorToWrite } from '../../src/weights/write.js';

export type NarrowDtype = 'F16' | 'BF16';

const word = new Float32Array(1);
const bits = new Uint32Array(word.buffer);

/** float32 → IEEE binary16 bits, rounded to nearest even (subnormals, overflow to ±Infinity, NaN kept). */
export function float32ToHalfBits(value: number): number {
  word[0] = value;
  const x = bits[0]!;
  const sign = (x >>> 16) & 0x8000;
  const exponent = (x >>> 23) & 0xff;
  let mantissa = x & 0x7fffff;
  if (exponent === 0xff) return sign | 0x7c00 | (mantissa ? 0x200 : 0);
  const e = exponent - 127 + 15;
  if (e >= 0x1f) return sign | 0x7c00;
  if (e <= 0) {
    if (e < -10) return sign; // below half the smallest subnormal
    mantissa |= 0x800000;
    const shift = 14 - e;
    let half = mantissa >>> shift;
    const rest = mantissa & ((1 << shift) - 1);
    const halfway = 1 << (shift - 1);
    if (rest > halfway || (rest === halfway && half & 1)) half++;
    return sign | half;
  }
  let half = (e << 10) | (mantissa >>> 13);
  const rest = mantissa & 0x1fff;
  if (rest > 0x1000 || (rest === 0x1000 && half & 1)) half++; // a carry rounds up into the exponent, as it should
  return sign | half;
}

/** float32 → bfloat16 bits (the upper half), rounded to nearest even. */
export function float32ToBfloat16Bits(value: number): number {
  word[0] = value;
  const x = bits[0]!;
  return ((x + 0x7fff + ((x >>> 16) & 1)) >>> 16) & 0xffff;
}

/** The narrowed bits of `values` and the same values widened back to float32. */
function narrow(values: Float32Array, dtype: NarrowDtype): { bits: Uint16Array; widened: Float32Array } {
  const out = new Uint16Array(values.length);
  const widened = new Float32Array(values.length);
  const wide = new Uint32Array(widened.buffer);
  for (let i = 0; i < values.length; i++) {
    if (dtype === 'F16') {
      out[i] = float32ToHalfBits(values[i]!);
      widened[i] = halfToFloat(out[i]!);
    } else {
      out[i] = float32ToBfloat16Bits(values[i]!);
      wide[i] = out[i]! << 16;
    }
  }
  return { bits: out, widened };
}

const CONFIG_FILES = [
  'config.json',
  'tokenizer.json',
  'tokenizer_config.json',
  'special_tokens_map.json',
  'vocab.txt',
];

/**
 * Writes `dir`'s float32 checkpoint narrowed to `dtype` into `narrowDir` and the widened-back values as F32
 * into `twinDir` (config and tokenizer files copied to both). One tensor at a time.
 */
export async function writeNarrowedCheckpoint(
  dir: string,
  dtype: NarrowDtype,
  narrowDir: string,
  twinDir: string,
): Promise<void> {
  const store = await loadWeights(dir, { onDemand: true });
  const targets = [narrowDir, twinDir];
  for (const target of targets) {
    mkdirSync(target, { recursive: true });
    for (const file of CONFIG_FILES)
      if (existsSync(join(dir, file))) copyFileSync(join(dir, file), join(target, file));
  }
  const tensors = (twin: boolean): LazyTensorToWrite[] =>
    store.names().map((name) => {
      const info = store.info(name)!;
      if (info.dtype !== 'F32') {
        // Integer buffers (position ids) stay as they are.
        return { name, dtype: info.dtype, shape: info.shape, data: () => store.getRaw(name).bytes };
      }
      return {
        name,
        dtype: twin ? 'F32' : dtype,
        shape: info.shape,
        data: () => {
          const { bits, widened } = narrow(store.getFloat32(name).data, dtype);
          return twin ? widened : new Uint8Array(bits.buffer);
        },
      };
    });
  await writeSafetensorsFile(join(narrowDir, 'model.safetensors'), tensors(false), { format: 'pt' });
  await writeSafetensorsFile(join(twinDir, 'model.safetensors'), tensors(true), { format: 'pt' });
}
