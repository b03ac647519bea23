/**
 * A graph under construction together with the checkpoint it reads from: weight access (tensors added once,
 * legacy gamma/beta names accepted, Linear weights transposed for MatMul) and the options every block reads.
 */
import { WeightsError } from '../../errors.js';
import { GraphBuilder, Value } from '../../onnx/graph-builder.js';
import type { SafetensorsDtype, WeightStore } from '../../weights/types.js';
import type { PackedLayout } from '../packed-layout.js';

/** `torch.finfo(torch.float32).min`, the value HF adds to (or fills into) masked attention scores. */
export const FLOAT32_MIN = -3.4028234663852886e38;
/** The op domain of ONNX Runtime's fused kernels. */
export const MS = { domain: 'com.microsoft' } as const;

export interface LayerOptions {
  /** Use com.microsoft fused kernels where ONNX Runtime provides them. */
  contribOps: boolean;
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

  /** A derived initializer computed once from checkpoint data (e.g. the packed QKV weight). */
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
