/**
 * A graph under construction together with the checkpoint it reads from: weight access (tensors added once,
 * legacy gamma/beta names accepted, Linear weights transposed for MatMul) and the options every block reads.
 */
import { WeightsError } from '../../errors.js';
import { GraphBuilder, Value } from '../../onnx/graph-builder.js';
import type { SafetensorsDtype, WeightStore } from '../../weights/types.js';
import type { PackedLayout } from '../packed-layout.js';
import {
  excludedFromInt8,
  int8Product,
  quantizeLinearWeights,
  quantizeRows,
  type Int8Settings,
} from './int8.js';

/** `torch.finfo(torch.float32).min`, the value HF adds to (or fills into) masked attention scores. */
export const FLOAT32_MIN = -3.4028234663852886e38;
/** The op domain of ONNX Runtime's fused kernels. */
export const MS = { domain: 'com.microsoft' } as const;

export interface LayerOptions {
  /** Use com.microsoft fused kernels where ONNX Runtime provides them. */
  contribOps: boolean;
  /** Run the large matrix products in int8 (see int8.ts); null keeps every product in fp32. */
  int8?: Int8Settings | null;
}

/**
 * A graph under construction together with the checkpoint it reads from. Tensors are added to the graph the first
 * time they are used and reused afterwards (ALBERT applies one set of layer weights many times).
 */
/** The safetensors dtypes a weight may have; anything else is refused by name (see `read`). */
const FLOAT_DTYPES: ReadonlySet<SafetensorsDtype> = new Set(['F32', 'F16', 'BF16', 'F64']);

export class ModelGraph {
  readonly g = new GraphBuilder();
  private readonly tensors = new Map<string, Value>();
  private readonly int8Weights = new Map<
    string,
    { weight: Value; scales: Value; zeroPoints: Value | null }
  >();
  private readonly int8Rows = new Map<string, { rows: Value; scale: Value }>();
  /** Set when the graph runs on packed tokens (see packed-layout.ts); null for the padded [batch, seq] layout. */
  packed: PackedLayout | null = null;
  /**
   * Set in a padded multiple-choice graph: per-sequence inputs arrive as [batch, choices, sequence] and the
   * architecture sees them flattened to [batch·choices, sequence] rows, as HF's `*ForMultipleChoice` views them.
   */
  choiceInputs = false;

  constructor(
    readonly weights: WeightStore,
    readonly options: LayerOptions,
  ) {}

  /**
   * Reads a checkpoint tensor with the expected shape. Old checkpoints name LayerNorm parameters `gamma`/`beta`
   * (transformers renames them on load), so those spellings are accepted for `weight`/`bias` too.
   */
  read(name: string, shape: number[]): Float32Array {
    const resolved = this.resolveName(name);
    const dtype = this.weights.info(resolved)?.dtype;
    // Integer bytes converted to float would load and give garbage scores without a word.
    if (dtype !== undefined && !FLOAT_DTYPES.has(dtype)) {
      const file = this.weights.files.join(', ');
      throw new WeightsError(
        `${file}: tensor "${resolved}" has dtype ${dtype}, but a weight must be a float tensor (F32, F16, BF16 or F64)`,
        { file, field: resolved },
      );
    }
    return this.weights.getFloat32(resolved, shape).data;
  }

  private resolveName(name: string): string {
    if (this.weights.has(name)) return name;
    const legacy = name.replace(/\.weight$/, '.gamma').replace(/\.bias$/, '.beta');
    if (legacy !== name && this.weights.has(legacy)) return legacy;
    return name; // getFloat32 then throws WeightsError naming the tensor we expected
  }

  /** The checkpoint tensor `name` as an initializer of the same name. */
  tensor(name: string, shape: number[]): Value {
    return this.cached(name, () => this.g.initializer(name, this.read(name, shape), shape));
  }

  /**
   * A torch Linear weight ([out, in] in the file) transposed to [in, out] for MatMul. `sourceName` may differ from
   * the cache key when a weight is tied (e.g. an MLM decoder reusing the word embeddings).
   */
  linearWeight(sourceName: string, outFeatures: number, inFeatures: number): Value {
    const key = `${sourceName}:T`;
    return this.cached(key, () =>
      this.g.initializer(
        key,
        transpose(this.read(sourceName, [outFeatures, inFeatures]), outFeatures, inFeatures),
        [inFeatures, outFeatures],
      ),
    );
  }

  /**
   * `x @ Wᵀ` for the torch Linear weights `sources` ([out, in] each; several are stacked side by side as one
   * product's output channels, e.g. the fused Q/K/V projection). In int8 (unless `int8Exclude` names one of the
   * layers) the weights are quantized per output channel and `x` per row (int8.ts); `x`'s quantization is shared by
   * every product that reads it.
   */
  linearProduct(x: Value, sources: readonly string[], outFeatures: number, inFeatures: number): Value {
    const int8 = this.options.int8;
    if (!int8 || !this.int8For(sources)) {
      return this.g.op('MatMul', [x, this.stackedLinearWeight(sources, outFeatures, inFeatures)]);
    }
    const key = `${sources.join('+')}:int8`;
    let quantized = this.int8Weights.get(key);
    if (!quantized) {
      const { weight, scales, zeroPoints } = quantizeLinearWeights(
        sources.map((name) => ({ outFeatures, read: () => this.read(name, [outFeatures, inFeatures]) })),
        inFeatures,
        int8.weights,
      );
      const total = outFeatures * sources.length;
      quantized = {
        weight: this.g.initializer(key, weight, [inFeatures, total]),
        scales: this.g.initializer(`${key}_scales`, scales, [total]),
        zeroPoints: zeroPoints && this.g.initializer(`${key}_zero_points`, zeroPoints, [total]),
      };
      this.int8Weights.set(key, quantized);
    }
    const zeroPoint = this.cached('int8_zero_point', () =>
      this.g.constant(new Uint8Array([128]), [], 'int8_zero_point'),
    );
    let rows = this.int8Rows.get(x.name);
    if (!rows) {
      rows = quantizeRows(this.g, x, zeroPoint);
      this.int8Rows.set(x.name, rows);
    }
    return int8Product(this.g, rows, quantized, zeroPoint);
  }

  /** Whether the product of these Linear weights runs in int8 (dtype int8 and none of them in `int8Exclude`). */
  int8For(sources: readonly string[]): boolean {
    const int8 = this.options.int8;
    return !!int8 && !sources.some((name) => excludedFromInt8(name.replace(/\.weight$/, ''), int8.exclude));
  }

  /** The fp32 right operand of `linearProduct`: the weights transposed and side by side, [in, out · count]. */
  stackedLinearWeight(sources: readonly string[], outFeatures: number, inFeatures: number): Value {
    if (sources.length === 1) return this.linearWeight(sources[0]!, outFeatures, inFeatures);
    const total = outFeatures * sources.length;
    return this.derived(`${sources.join('+')}:T`, [inFeatures, total], () => {
      const stacked = new Float32Array(inFeatures * total);
      sources.forEach((name, p) => {
        const w = this.read(name, [outFeatures, inFeatures]);
        for (let o = 0; o < outFeatures; o++) {
          for (let i = 0; i < inFeatures; i++)
            stacked[i * total + p * outFeatures + o] = w[o * inFeatures + i]!;
        }
      });
      return stacked;
    });
  }

  /** A derived initializer computed once from checkpoint data (e.g. MPNet's relative-position table). */
  derived(key: string, dims: number[], compute: () => Float32Array): Value {
    return this.cached(key, () => this.g.initializer(key, compute(), dims));
  }

  private cached(key: string, make: () => Value): Value {
    let value = this.tensors.get(key);
    if (!value) {
      value = make();
      this.tensors.set(key, value);
    }
    return value;
  }

  /**
   * Declares an int64 graph input with one value per token of each sequence: [batch, sequence], or in a
   * multiple-choice graph [batch, choices, sequence] flattened to [batch·choices, sequence] rows.
   */
  rowInput(name: string): Value {
    if (!this.choiceInputs) return this.g.input(name, 'int64', ['batch', 'sequence']);
    const perChoice = this.g.input(name, 'int64', ['batch', 'choices', 'sequence']);
    return this.g.op('Flatten', [perChoice], { axis: 2 }, { name: `${name}_rows` });
  }

  /** Whether the checkpoint holds `name` (or its legacy gamma/beta spelling). */
  has(name: string): boolean {
    return this.weights.has(this.resolveName(name));
  }
}

function transpose(data: Float32Array, rows: number, cols: number): Float32Array {
  const out = new Float32Array(rows * cols);
  for (let r = 0; r < rows; r++) {
    const base = r * cols;
    for (let c = 0; c < cols; c++) out[c * rows + r] = data[base + c]!;
  }
  return out;
}

/**
 * The prefix under which a checkpoint stores the base model (`bert.`, `roberta.`, …) or '' when it stores a bare
 * base model. transformers accepts both layouts for every head, and so do we.
 */
export function basePrefix(weights: WeightStore, prefix: string, probe: string): string {
  return weights.has(`${prefix}.${probe}`) ? `${prefix}.` : '';
}
