/**
 * A float32 output tensor: flat row-major data plus dims, with helpers to index it and to turn it into nested
 * arrays (what JSON output and HF-style `.tolist()` comparisons need).
 */
export class FloatTensor {
  constructor(
    readonly data: Float32Array,
    readonly dims: number[],
  ) {}

  get size(): number {
    return this.data.length;
  }

  /** The value at a full index, e.g. `logits.at(0, 1)`. */
  at(...index: number[]): number {
    if (index.length !== this.dims.length) {
      throw new RangeError(`index has ${index.length} coordinates, tensor has ${this.dims.length} dims`);
    }
    let flat = 0;
    for (let i = 0; i < index.length; i++) {
      const d = this.dims[i]!;
      const k = index[i]!;
      if (!Number.isInteger(k) || k < 0 || k >= d)
        throw new RangeError(`index ${k} out of range for dim ${i} (${d})`);
      flat = flat * d + k;
    }
    return this.data[flat]!;
  }

  /** Nested arrays (a number for a 0-d tensor). */
  toArray(): unknown {
    if (this.dims.length === 0) return this.data[0];
    const build = (depth: number, offset: number): unknown[] => {
      const d = this.dims[depth]!;
      if (depth === this.dims.length - 1) return Array.from(this.data.subarray(offset, offset + d));
      const stride = this.dims.slice(depth + 1).reduce((a, b) => a * b, 1);
      return Array.from({ length: d }, (_, i) => build(depth + 1, offset + i * stride));
    };
    return build(0, 0);
  }

  toJSON(): unknown {
    return this.toArray();
  }
}
