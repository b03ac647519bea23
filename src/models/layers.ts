/**
 * Building blocks shared by the encoder graphs: weight access, linear layers, layer norm, activations by their HF
 * names, multi-head self-attention with HF's mask semantics, embeddings and pooling.
 *
 * Two lowerings exist for the hot blocks. With `contribOps` (the default) they use ONNX Runtime's com.microsoft
 * kernels (Attention, MultiHeadAttention, BiasGelu, FastGelu, QuickGelu), which run each block as one fused
 * kernel; without it they use standard ONNX ops only and mirror the PyTorch code line by line. Both are tested
 * against the same fixtures. Attention probabilities are only observable in the standard lowering, so
 * `outputAttentions` switches attention to it.
 */
import { ConfigError, WeightsError } from '../errors.js';
import { attr, GraphBuilder, Value } from '../onnx/graph-builder.js';
import { TensorDataType } from '../onnx/proto.js';
import type { SafetensorsDtype, WeightStore } from '../weights/types.js';
import type { PackedLayout } from './packed-layout.js';

/** `torch.finfo(torch.float32).min`, the value HF adds to (or fills into) masked attention scores. */
export const FLOAT32_MIN = -3.4028234663852886e38;
const MS = { domain: 'com.microsoft' } as const;

export interface LayerOptions {
  /** Use com.microsoft fused kernels where ONNX Runtime provides them. */
  contribOps: boolean;
}

/**
 * A graph under construction together with the checkpoint it reads from. Tensors are added to the graph the first
 * time they are used and reused afterwards (ALBERT applies one set of layer weights many times).
 */
const FLOAT_DTYPES: ReadonlySet<SafetensorsDtype> = new Set(['F32', 'F16', 'BF16', 'F64']);

export class ModelGraph {
  readonly g = new GraphBuilder();
  private readonly tensors = new Map<string, Value>();
  /** Set when the graph runs on packed tokens (see packed-layout.ts); null for the padded [batch, seq] layout. */
  packed: PackedLayout | null = null;

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
      this.g.initializer(key, transpose(this.read(sourceName, [outFeatures, inFeatures]), outFeatures, inFeatures), [
        inFeatures,
        outFeatures,
      ]),
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

// ---------------------------------------------------------------------------------------------------------------
// Activations

/** HF `ACT2FN` names we implement (transformers/activations.py). */
export const ACTIVATIONS = [
  'gelu',
  'gelu_python',
  'gelu_new',
  'gelu_pytorch_tanh',
  'gelu_fast',
  'quick_gelu',
  'relu',
  'silu',
  'swish',
  'tanh',
  'sigmoid',
  'linear',
] as const;
export type ActivationName = (typeof ACTIVATIONS)[number];

/** Validates a config activation name; `field` is the config key it came from (e.g. `hidden_act`). */
export function activationFromConfig(value: unknown, field: string, file = 'config.json'): ActivationName {
  if (typeof value === 'string' && (ACTIVATIONS as readonly string[]).includes(value)) return value as ActivationName;
  throw new ConfigError(
    `${file} ${field}: unsupported activation ${JSON.stringify(value)} (supported: ${ACTIVATIONS.join(', ')})`,
    { file, field },
  );
}

/** Applies `act` to `x`. `bias`, when given, is added first (fused into the activation kernel when possible). */
export function activation(m: ModelGraph, x: Value, act: ActivationName, bias: Value | null = null): Value {
  const g = m.g;
  if (m.options.contribOps && bias) {
    if (act === 'gelu' || act === 'gelu_python') return g.op('BiasGelu', [x, bias], {}, MS);
    if (act === 'gelu_new' || act === 'gelu_pytorch_tanh' || act === 'gelu_fast') {
      return g.op('FastGelu', [x, bias], {}, MS);
    }
  }
  const input = bias ? g.op('Add', [x, bias]) : x;
  switch (act) {
    case 'gelu':
    case 'gelu_python':
      if (m.options.contribOps) return g.op('Gelu', [input], {}, MS);
      // 0.5·x·(1 + erf(x/√2)), torch's exact GELU.
      return g.op('Mul', [
        g.op('Mul', [input, g.op('Add', [g.op('Erf', [g.op('Div', [input, g.scalar(Math.SQRT2)])]), g.scalar(1)])]),
        g.scalar(0.5),
      ]);
    case 'gelu_new':
    case 'gelu_pytorch_tanh':
    case 'gelu_fast': {
      if (m.options.contribOps) return g.op('FastGelu', [input], {}, MS);
      // 0.5·x·(1 + tanh(√(2/π)·(x + 0.044715·x³))); gelu_fast is the same polynomial, factored differently.
      const cube = g.op('Mul', [g.op('Mul', [input, input]), input]);
      const inner = g.op('Add', [input, g.op('Mul', [cube, g.scalar(0.044715)])]);
      const t = g.op('Tanh', [g.op('Mul', [inner, g.scalar(Math.sqrt(2 / Math.PI))])]);
      return g.op('Mul', [g.op('Mul', [input, g.scalar(0.5)]), g.op('Add', [t, g.scalar(1)])]);
    }
    case 'quick_gelu':
      if (m.options.contribOps) return g.op('QuickGelu', [input], { alpha: attr.float(1.702) }, MS);
      return g.op('Mul', [input, g.op('Sigmoid', [g.op('Mul', [input, g.scalar(1.702)])])]);
    case 'relu':
      return g.op('Relu', [input]);
    case 'silu':
    case 'swish':
      return g.op('Mul', [input, g.op('Sigmoid', [input])]);
    case 'tanh':
      return g.op('Tanh', [input]);
    case 'sigmoid':
      return g.op('Sigmoid', [input]);
    case 'linear':
      return input;
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Linear and normalisation

/** `x @ W^T` for the torch Linear `prefix` (no bias). */
export function matmul(m: ModelGraph, x: Value, prefix: string, inFeatures: number, outFeatures: number): Value {
  return m.g.op('MatMul', [x, m.linearWeight(`${prefix}.weight`, outFeatures, inFeatures)]);
}

/** torch `nn.Linear`: `x @ W^T + b`, weights `<prefix>.weight` [out, in] and `<prefix>.bias` [out]. */
export function linear(m: ModelGraph, x: Value, prefix: string, inFeatures: number, outFeatures: number): Value {
  return m.g.op('Add', [matmul(m, x, prefix, inFeatures, outFeatures), m.tensor(`${prefix}.bias`, [outFeatures])]);
}

/** A Linear followed by an activation, e.g. BERT's intermediate dense + gelu (one kernel with contrib ops). */
export function linearActivation(
  m: ModelGraph,
  x: Value,
  prefix: string,
  inFeatures: number,
  outFeatures: number,
  act: ActivationName,
): Value {
  return activation(m, matmul(m, x, prefix, inFeatures, outFeatures), act, m.tensor(`${prefix}.bias`, [outFeatures]));
}

/** torch `nn.LayerNorm(size, eps)` over the last axis with `<prefix>.weight` / `<prefix>.bias`. */
export function layerNorm(m: ModelGraph, x: Value, prefix: string, size: number, eps: number): Value {
  return m.g.op(
    'LayerNormalization',
    [x, m.tensor(`${prefix}.weight`, [size]), m.tensor(`${prefix}.bias`, [size])],
    { axis: -1, epsilon: attr.float(eps) },
  );
}

/**
 * `LayerNorm(Linear(x) + residual)`, the post-norm residual block of BERT-family layers. Both lowerings use two
 * Adds and the standard LayerNormalization: ONNX Runtime 1.30's fused com.microsoft SkipLayerNormalization CPU
 * kernel measured about 4× slower than that trio on [700, 768] (and 2.6% of a DistilBERT-base forward pass with
 * one thread), so fusing here cost time. ORT's optimiser would fuse the packed layout's trio back; sessions turn
 * that rewrite off (DISABLED_ORT_OPTIMIZERS in src/runtime/session.ts).
 */
export function linearResidualLayerNorm(
  m: ModelGraph,
  x: Value,
  residual: Value,
  linearPrefix: string,
  inFeatures: number,
  outFeatures: number,
  normPrefix: string,
  eps: number,
): Value {
  const projected = matmul(m, x, linearPrefix, inFeatures, outFeatures);
  const bias = m.tensor(`${linearPrefix}.bias`, [outFeatures]);
  const gamma = m.tensor(`${normPrefix}.weight`, [outFeatures]);
  const beta = m.tensor(`${normPrefix}.bias`, [outFeatures]);
  const sum = m.g.op('Add', [m.g.op('Add', [projected, bias]), residual]);
  return m.g.op('LayerNormalization', [sum, gamma, beta], { axis: -1, epsilon: attr.float(eps) });
}

/**
 * HF's `apply_chunking_to_forward(ff, chunk_size, 1, x)`: `ff` (a per-position block) applied to `chunkSize`
 * positions of axis 1 at a time, results concatenated. The per-position numbers are those of one piece; what
 * changes is the peak memory of the intermediate activations ([batch, chunk, intermediate] instead of
 * [batch, seq, intermediate]). 0 computes `ff(x)` in one piece. In the graph it is a Loop over
 * ⌈seq / chunk⌉ chunks (the sequence is zero-padded to a whole number of chunks so every iteration has the same
 * shape, and the padded rows are dropped afterwards). `width` is the size of ff's output's last axis.
 */
export function chunkedFeedForward(
  m: ModelGraph,
  x: Value,
  chunkSize: number,
  width: number,
  ff: (chunk: Value) => Value,
): Value {
  if (chunkSize <= 0) return ff(x);
  const g = m.g;
  const chunk = g.int64s([chunkSize], 'chunk_size');
  const length = g.op('Shape', [x], { start: 1, end: 2 }, { name: 'chunked_length' });
  const count = g.op('Div', [g.op('Add', [length, g.int64s([chunkSize - 1])]), chunk], {}, { name: 'chunk_count' });
  const extra = g.op('Sub', [g.op('Mul', [count, chunk]), length]);
  const pads = g.op('Concat', [g.int64s([0, 0, 0, 0]), extra, g.int64s([0])], { axis: 0 });
  const padded = g.op('Pad', [x, pads], {}, { name: 'chunk_padded' });
  const body = g.subgraph(
    'feed_forward_chunk',
    [
      { name: 'chunk_index', dtype: 'int64', dims: [] },
      { name: 'chunk_cond', dtype: 'bool', dims: [] },
    ],
    ([index, cond]) => {
      const start = g.op('Mul', [g.op('Unsqueeze', [index!, g.int64s([0])]), chunk]);
      const piece = g.op('Slice', [padded, start, g.op('Add', [start, chunk]), g.int64s([1])], {}, { name: 'chunk' });
      return [
        { value: cond!, dtype: 'bool' },
        { value: ff(piece), dtype: 'float32' },
      ];
    },
  );
  const tripCount = g.op('Reshape', [count, g.int64s([], 'scalar_shape')]);
  const stacked = g.op('Loop', [tripCount, null], { body }, { name: 'feed_forward_chunks' }); // [n, batch, chunk, width]
  const merged = g.op('Reshape', [g.op('Transpose', [stacked], { perm: [1, 0, 2, 3] }), g.int64s([0, -1, width])]);
  return g.op('Slice', [merged, g.int64s([0]), length, g.int64s([1])], {}, { name: 'feed_forward_output' });
}

/** `chunk_size_feed_forward` (PretrainedConfig, default 0 = one piece). */
export function chunkSizeFeedForward(config: ConfigReader): number {
  const value = config.integer('chunk_size_feed_forward', 0);
  if (value < 0) {
    throw new ConfigError(`${config.file} chunk_size_feed_forward: expected 0 or a positive integer, got ${value}`, {
      file: config.file,
      field: 'chunk_size_feed_forward',
    });
  }
  return value;
}

// ---------------------------------------------------------------------------------------------------------------
// Attention

/**
 * The attention mask of a batch in the forms the attention lowerings need, each computed once per graph.
 * `mask` is the int64 [batch, seq] graph input (1 = attend, 0 = padding), or null when the graph has no mask
 * input, which HF treats as all ones: then nothing is added to the scores (adding zeros would change nothing).
 */
export class AttentionMask {
  private additive?: Value;
  private keep?: Value;
  private int32?: Value;

  constructor(
    private readonly m: ModelGraph,
    readonly mask: Value | null,
  ) {}

  /** `(1 - mask) · finfo(float32).min` shaped [batch, 1, 1, seq], added to the scores (BERT and most models). */
  additiveBias(): Value | null {
    if (!this.mask) return null;
    if (!this.additive) {
      const g = this.m.g;
      const maskFloat = g.op('Cast', [this.mask], { to: TensorDataType.FLOAT });
      const inverted = g.op('Sub', [g.scalar(1), maskFloat]);
      const bias = g.op('Mul', [inverted, g.scalar(FLOAT32_MIN)]);
      this.additive = g.op('Unsqueeze', [bias, g.int64s([1, 2])], {}, { name: 'extended_attention_mask' });
    }
    return this.additive;
  }

  /** `mask != 0` shaped [batch, 1, 1, seq], for DistilBERT's `masked_fill(mask == 0, finfo.min)`. */
  keepMask(): Value | null {
    if (!this.mask) return null;
    if (!this.keep) {
      const g = this.m.g;
      const isPad = g.op('Equal', [this.mask, g.constant(new BigInt64Array([0n]), [])]);
      this.keep = g.op('Unsqueeze', [g.op('Not', [isPad]), g.int64s([1, 2])], {}, { name: 'keep_mask' });
    }
    return this.keep;
  }

  /** The raw 0/1 mask as int32 [batch, seq], the `mask_index` form of com.microsoft Attention. */
  maskIndex(): Value | null {
    if (!this.mask) return null;
    this.int32 ??= this.m.g.op('Cast', [this.mask], { to: TensorDataType.INT32 }, { name: 'mask_index' });
    return this.int32;
  }
}

export interface SelfAttentionSpec {
  /** Linear layer prefixes of the query, key and value projections. */
  query: string;
  key: string;
  value: string;
  hidden: number;
  heads: number;
  /**
   * How masked keys are excluded, as in the HF source: 'add' adds `(1-mask)·finfo.min` (BERT, RoBERTa, ALBERT,
   * ELECTRA); 'fill' replaces their scores with finfo.min (DistilBERT). Either way their probability is exactly 0.
   */
  maskStyle: 'add' | 'fill';
  /** DistilBERT scales the query by 1/√d before the product; BERT scales the scores after it. */
  scaleQueryFirst: boolean;
  /** Emit the post-softmax probabilities [batch, heads, seq, seq] (forces the standard-op lowering). */
  outputProbabilities: boolean;
  /**
   * Compute outputs for these query positions only (e.g. the first token, [batch, 1, hidden]; in the packed layout
   * each row's first token from `firstPosition`) while keys and values still come from every position of `x`.
   * The rows equal those of the full computation up to float rounding: see `fewQueryAttention`, which never
   * projects the keys and values of every position. Not with `outputProbabilities`.
   */
  queries?: Value;
  /**
   * A term added to the scores before the mask that depends only on where query and key sit in their sequence
   * (MPNet's relative position bias). With `queries`, those must be the first position of each row.
   */
  positionBias?: PositionBias;
}

/**
 * A position-dependent attention-score term. Called with an attention layout's mask and its states
 * [rows, L, hidden], it returns [1, heads, L, L]: the term for query i and key j at positions 0..L-1 of every row.
 * The padded layout numbers the padded row (as HF does); packed layouts put each row's real tokens first and in
 * order, so there the positions are each sequence's own. Every layer asks again; one mask stands for one layout,
 * so an implementation can build each layout's term once and return it for that mask thereafter.
 */
export type PositionBias = (mask: AttentionMask, states: Value) => Value;

export interface SelfAttentionResult {
  /** The per-token context vectors [batch, seq, hidden], before the output projection. */
  context: Value;
  probabilities: Value | null;
}

/** Multi-head scaled dot-product self-attention: softmax(QKᵀ/√d + mask)·V, heads concatenated. */
export function selfAttention(m: ModelGraph, x: Value, mask: AttentionMask, spec: SelfAttentionSpec): SelfAttentionResult {
  const { hidden, heads } = spec;
  if (hidden % heads !== 0) throw new RangeError(`selfAttention: hidden ${hidden} is not a multiple of heads ${heads}`);
  if (spec.outputProbabilities && (m.packed || spec.queries)) {
    throw new RangeError('selfAttention: attention probabilities need the padded layout and every query position');
  }
  if (spec.queries) {
    // Keys and values come from every position of each sequence: the attention layout when packed.
    const keysFrom = m.packed ? m.packed.toAttentionLayout(x) : x;
    return { context: fewQueryAttention(m, keysFrom, spec.queries, mask, spec), probabilities: null };
  }
  // Packed, `mask` is the whole batch's layout (read by the few-query path above); full self-attention runs in the
  // layout's length groups, each under its own mask.
  if (m.packed) return packedSelfAttention(m, m.packed, x, spec);
  if (m.options.contribOps && !spec.outputProbabilities) {
    return { context: fusedAttention(m, x, mask, spec), probabilities: null };
  }
  const project = (input: Value, prefix: string): Value => linear(m, input, prefix, hidden, hidden);
  return attendProjected(m, project(x, spec.query), project(x, spec.key), project(x, spec.value), mask, spec);
}

/**
 * Attention of a few query positions (`queries` [batch, q, hidden], e.g. the first token) over every position of
 * `x` [batch, seq, hidden], without projecting keys and values for every position. Per head h (size k), with
 * W_K,h / W_V,h the head's rows of the torch weights and p_h the probabilities:
 * - scores: q_h·(x W_K,hᵀ + b_K,h) = x·(W_K,hᵀ q_h) + q_h·b_K,h. The last term is the same for every key of a
 *   query, and softmax is unchanged by adding a constant to a row, so it is left out (masked keys still get
 *   exactly 0: finfo.min absorbs any finite score).
 * - context: p_hᵀ(x W_V,hᵀ + b_V,h) = (p_hᵀ x) W_V,hᵀ + b_V,h, because p_h sums to 1.
 * So a sequence costs O(heads·q·seq·hidden + q·hidden²) instead of O(seq·hidden²) for the two projections. The
 * scaling and the masking are those of `attendProjected`. Both lowerings use these standard ops (ONNX Runtime has
 * no fused kernel for this form; its cost is small either way).
 */
function fewQueryAttention(m: ModelGraph, x: Value, queries: Value, mask: AttentionMask, spec: SelfAttentionSpec): Value {
  const g = m.g;
  const { hidden, heads } = spec;
  const headSize = hidden / heads;
  const scale = Math.sqrt(headSize);
  // The torch key weight [out, in] is already [heads, headSize, hidden] row-major: W_K,h for each head.
  const keyHeads = m.derived(`${spec.key}.weight:heads`, [heads, headSize, hidden], () =>
    m.read(`${spec.key}.weight`, [hidden, hidden]),
  );
  // W_V,hᵀ for each head: [heads, hidden, headSize].
  const valueHeadsT = m.derived(`${spec.value}.weight:heads:T`, [heads, hidden, headSize], () => {
    const w = m.read(`${spec.value}.weight`, [hidden, hidden]);
    const out = new Float32Array(hidden * hidden);
    for (let h = 0; h < heads; h++) {
      for (let j = 0; j < headSize; j++) {
        const row = (h * headSize + j) * hidden;
        for (let i = 0; i < hidden; i++) out[(h * hidden + i) * headSize + j] = w[row + i]!;
      }
    }
    return out;
  });

  let query = linear(m, queries, spec.query, hidden, hidden); // [batch, q, hidden]
  if (spec.scaleQueryFirst) query = g.op('Div', [query, g.scalar(scale)]);
  const queryHeads = g.op('Transpose', [g.op('Reshape', [query, g.int64s([0, 0, heads, headSize])])], {
    perm: [0, 2, 1, 3],
  }); // [batch, heads, q, headSize]
  // u = W_K,hᵀ q_h per head and query, as rows [batch, heads·q, hidden] (head-major), then columns for the product.
  const keyDirections = g.op('Reshape', [g.op('MatMul', [queryHeads, keyHeads]), g.int64s([0, -1, hidden])]);
  const columns = g.op('Transpose', [keyDirections], { perm: [0, 2, 1] }); // [batch, hidden, heads·q]
  // One [seq, hidden] × [hidden, heads·q] product per sequence, turned to [batch, heads·q, seq].
  let scores = g.op('Transpose', [g.op('MatMul', [x, columns])], { perm: [0, 2, 1] }, { name: 'few_query_scores' });
  if (!spec.scaleQueryFirst) scores = g.op('Div', [scores, g.scalar(scale)]);
  if (spec.positionBias) {
    // The first query row of the layout's [1, heads, L, L] term, as [1, heads, L] (heads·q with q = 1).
    const firstRow = g.op('Slice', [spec.positionBias(mask, x), g.int64s([0]), g.int64s([1]), g.int64s([2])]);
    scores = g.op('Add', [scores, g.op('Squeeze', [firstRow, g.int64s([2])])], {}, { name: 'few_query_position_bias' });
  }
  // The masks are [batch, 1, 1, seq]; these scores have no separate head axis, so [batch, 1, seq] broadcasts.
  const dropHeadAxis = (v: Value): Value => g.op('Squeeze', [v, g.int64s([1])]);
  if (spec.maskStyle === 'add') {
    const bias = mask.additiveBias();
    if (bias) scores = g.op('Add', [scores, dropHeadAxis(bias)]);
  } else {
    const keep = mask.keepMask();
    if (keep) scores = g.op('Where', [dropHeadAxis(keep), scores, g.scalar(FLOAT32_MIN)]);
  }
  const probabilities = g.op('Softmax', [scores], { axis: -1 });
  // p_hᵀ x: [batch, heads·q, hidden] → [batch, heads, q, hidden] → times W_V,hᵀ → [batch, heads, q, headSize].
  const mixed = g.op('Reshape', [g.op('MatMul', [probabilities, x]), g.int64s([0, heads, -1, hidden])]);
  const contextHeads = g.op('MatMul', [mixed, valueHeadsT]);
  const merged = g.op('Reshape', [
    g.op('Transpose', [contextHeads], { perm: [0, 2, 1, 3] }),
    g.int64s([0, 0, hidden], 'merge_heads_shape'),
  ]);
  return g.op('Add', [merged, m.tensor(`${spec.value}.bias`, [hidden])], {}, { name: 'few_query_context' });
}

/** The query, key and value projections side by side (weights [hidden, 3·hidden], bias [3·hidden]), built once. */
export function packedProjection(
  m: ModelGraph,
  spec: Pick<SelfAttentionSpec, 'query' | 'key' | 'value' | 'hidden'>,
): { weight: Value; bias: Value } {
  const { hidden } = spec;
  const prefixes = [spec.query, spec.key, spec.value];
  const weight = m.derived(`${spec.query}+key+value.weight:T`, [hidden, 3 * hidden], () => {
    const packed = new Float32Array(hidden * 3 * hidden);
    prefixes.forEach((prefix, p) => {
      const w = m.read(`${prefix}.weight`, [hidden, hidden]); // [out, in]
      for (let o = 0; o < hidden; o++) {
        for (let i = 0; i < hidden; i++) packed[i * 3 * hidden + p * hidden + o] = w[o * hidden + i]!;
      }
    });
    return packed;
  });
  const bias = m.derived(`${spec.query}+key+value.bias`, [3 * hidden], () => {
    const packed = new Float32Array(3 * hidden);
    prefixes.forEach((prefix, p) => packed.set(m.read(`${prefix}.bias`, [hidden]), p * hidden));
    return packed;
  });
  return { weight, bias };
}

function fusedAttention(m: ModelGraph, x: Value, mask: AttentionMask, spec: SelfAttentionSpec): Value {
  const { weight, bias } = packedProjection(m, spec);
  // Inputs 4 and 5 are `past` (none here) and `attention_bias`, added to the scores like HF's position bias.
  const positionBias = spec.positionBias ? [null, spec.positionBias(mask, x)] : [];
  return m.g.op(
    'Attention',
    [x, weight, bias, mask.maskIndex(), ...positionBias],
    { num_heads: spec.heads, mask_filter_value: attr.float(FLOAT32_MIN) },
    MS,
  );
}

/**
 * Attention on packed tokens: the projections run on the T real tokens, then for each length group Q, K and V are
 * gathered into the group's attention layout [rows, max_length, hidden] and attended there under the group's mask;
 * the groups' context vectors are gathered back to packed [1, T, hidden]. (Query subsets take
 * `fewQueryAttention`, over the whole batch's layout.)
 */
function packedSelfAttention(m: ModelGraph, layout: PackedLayout, x: Value, spec: SelfAttentionSpec): SelfAttentionResult {
  const g = m.g;
  const { hidden } = spec;
  if (m.options.contribOps) {
    const { weight, bias } = packedProjection(m, spec);
    // Split on the T packed tokens, then gather each part: splitting after the gather would copy the filler slots
    // of the attention layouts too. ORT's CPU MultiHeadAttention does not take packed QKV
    // ([batch, length, heads, 3, head]), so the split itself cannot be avoided.
    const packedQkv = g.opMulti('Split', [g.op('MatMul', [x, weight]), g.int64s([hidden, hidden, hidden])], 3, {
      axis: 2,
    });
    const contexts = layout.groups.map((group) => {
      const [q, k, v] = packedQkv.map((part) => layout.toGroupLayout(part, group));
      // MultiHeadAttention adds the [3·hidden] bias to Q, K and V itself and hides masked keys (key_padding_mask);
      // input 5 is `attention_bias`, the group's position bias.
      const positionBias = spec.positionBias ? [spec.positionBias(group.mask, q!)] : [];
      return g.op(
        'MultiHeadAttention',
        [q!, k!, v!, bias, group.mask.maskIndex(), ...positionBias],
        { num_heads: spec.heads, mask_filter_value: attr.float(FLOAT32_MIN) },
        MS,
      );
    });
    return { context: layout.toPacked(contexts, hidden), probabilities: null };
  }
  const [query, key, value] = [spec.query, spec.key, spec.value].map((prefix) => linear(m, x, prefix, hidden, hidden));
  const contexts = layout.groups.map((group) => {
    const [q, k, v] = [query!, key!, value!].map((states) => layout.toGroupLayout(states, group));
    return attendProjected(m, q!, k!, v!, group.mask, spec).context;
  });
  return { context: layout.toPacked(contexts, hidden), probabilities: null };
}

/** Standard-op attention on projected query [batch, q, hidden] and key/value [batch, seq, hidden]. */
function attendProjected(
  m: ModelGraph,
  queryStates: Value,
  keyStates: Value,
  valueStates: Value,
  mask: AttentionMask,
  spec: SelfAttentionSpec,
): SelfAttentionResult {
  const g = m.g;
  const { hidden, heads } = spec;
  const headSize = hidden / heads;
  const splitHeads = g.int64s([0, 0, heads, headSize], 'split_heads_shape');
  // [batch, seq, hidden] → [batch, heads, seq, headSize] (or [batch, heads, headSize, seq] for the keys).
  const split = (states: Value, perm: number[]): Value =>
    g.op('Transpose', [g.op('Reshape', [states, splitHeads])], { perm });
  let query = split(queryStates, [0, 2, 1, 3]);
  const keyT = split(keyStates, [0, 2, 3, 1]);
  const value = split(valueStates, [0, 2, 1, 3]);

  const scale = Math.sqrt(headSize);
  if (spec.scaleQueryFirst) query = g.op('Div', [query, g.scalar(scale)]);
  let scores = g.op('MatMul', [query, keyT]);
  if (!spec.scaleQueryFirst) scores = g.op('Div', [scores, g.scalar(scale)]);
  if (spec.positionBias) scores = g.op('Add', [scores, spec.positionBias(mask, keyStates)]);
  if (spec.maskStyle === 'add') {
    const bias = mask.additiveBias();
    if (bias) scores = g.op('Add', [scores, bias]);
  } else {
    const keep = mask.keepMask();
    if (keep) scores = g.op('Where', [keep, scores, g.scalar(FLOAT32_MIN)]);
  }
  const probabilities = g.op('Softmax', [scores], { axis: -1 });
  const context = g.op('MatMul', [probabilities, value]);
  const merged = g.op('Reshape', [
    g.op('Transpose', [context], { perm: [0, 2, 1, 3] }),
    g.int64s([0, 0, hidden], 'merge_heads_shape'),
  ]);
  return { context: merged, probabilities: spec.outputProbabilities ? probabilities : null };
}

// ---------------------------------------------------------------------------------------------------------------
// Embeddings and pooling

/** The sequence length of a [batch, seq] tensor as a 1-element int64 tensor. */
export function sequenceLength(m: ModelGraph, ids: Value): Value {
  return m.g.op('Shape', [ids], { start: 1, end: 2 }, { name: 'sequence_length' });
}

/** Rows 0..seq-1 of an embedding table [rows, dim] → [seq, dim]: the lookup for default positions 0..L-1. */
export function leadingRows(m: ModelGraph, table: Value, ids: Value): Value {
  return m.g.op('Slice', [table, m.g.int64s([0]), sequenceLength(m, ids), m.g.int64s([0])]);
}

/** An embedding lookup: `table[ids]`. */
export function embed(m: ModelGraph, table: Value, ids: Value): Value {
  return m.g.op('Gather', [table, ids], { axis: 0 });
}

/**
 * RoBERTa's `create_position_ids_from_input_ids`: `cumsum(ids != pad) · (ids != pad) + pad`, so real tokens get
 * pad+1, pad+2, … and padding gets pad, wherever the padding sits.
 */
export function positionIdsFromInputIds(m: ModelGraph, ids: Value, padTokenId: number): Value {
  const g = m.g;
  const notPad = g.op('Cast', [g.op('Not', [g.op('Equal', [ids, g.constant(new BigInt64Array([BigInt(padTokenId)]), [])])])], {
    to: TensorDataType.INT64,
  });
  const counted = g.op('Mul', [g.op('CumSum', [notPad, g.constant(new BigInt64Array([1n]), [])]), notPad]);
  return g.op('Add', [counted, g.constant(new BigInt64Array([BigInt(padTokenId)]), [])], {}, { name: 'position_ids' });
}

/** `hidden[:, 0:1]`: the first position kept as a length-1 sequence [batch, 1, hidden]. */
export function firstPosition(m: ModelGraph, hidden: Value): Value {
  if (m.packed) {
    m.packed.narrowedToFirstTokens = true;
    return m.packed.firstPositions(hidden);
  }
  return m.g.op('Slice', [hidden, m.g.int64s([0]), m.g.int64s([1]), m.g.int64s([1])], {}, { name: 'first_position' });
}

/** `hidden[:, 0]`: the first token's vector [batch, hidden], read by poolers and sequence heads. */
export function firstToken(m: ModelGraph, hidden: Value): Value {
  if (m.packed && !m.packed.narrowedToFirstTokens) return m.packed.firstTokens(hidden);
  return m.g.op('Gather', [hidden, m.g.constant(new BigInt64Array([0n]), [])], { axis: 1 }, { name: 'first_token' });
}

/** QA heads: logits [batch, seq, 2] → start_logits and end_logits [batch, seq]. */
export function splitStartEnd(m: ModelGraph, logits: Value): { start: Value; end: Value } {
  const pick = (k: bigint): Value => m.g.op('Gather', [logits, m.g.constant(new BigInt64Array([k]), [])], { axis: 2 });
  return { start: pick(0n), end: pick(1n) };
}

// ---------------------------------------------------------------------------------------------------------------
// Config fields

/**
 * Reads typed fields from a checkpoint's config.json with the defaults of the transformers config class, throwing
 * ConfigError naming the field when a value has the wrong type.
 */
export class ConfigReader {
  constructor(
    readonly json: Record<string, unknown>,
    readonly file = 'config.json',
  ) {}

  private fail(key: string, expected: string): never {
    const got = this.json[key];
    throw new ConfigError(`${this.file} ${key}: expected ${expected}, got ${JSON.stringify(got)}`, {
      file: this.file,
      field: key,
    });
  }

  /** A positive integer (sizes, counts). */
  size(key: string, fallback?: number): number {
    const v = this.json[key] ?? fallback;
    if (typeof v !== 'number' || !Number.isInteger(v) || v <= 0) this.fail(key, 'a positive integer');
    return v;
  }

  /** An integer that may be 0 or negative (token ids). */
  integer(key: string, fallback?: number): number {
    const v = this.json[key] ?? fallback;
    if (typeof v !== 'number' || !Number.isInteger(v)) this.fail(key, 'an integer');
    return v;
  }

  number(key: string, fallback?: number): number {
    const v = this.json[key] ?? fallback;
    if (typeof v !== 'number' || !Number.isFinite(v)) this.fail(key, 'a number');
    return v;
  }

  boolean(key: string, fallback?: boolean): boolean {
    const v = this.json[key] ?? fallback;
    if (typeof v !== 'boolean') this.fail(key, 'true or false');
    return v;
  }

  string(key: string, fallback?: string): string {
    const v = this.json[key] ?? fallback;
    if (typeof v !== 'string') this.fail(key, 'a string');
    return v;
  }

  activation(key: string, fallback: ActivationName): ActivationName {
    return activationFromConfig(this.json[key] ?? fallback, key, this.file);
  }

  /** `num_labels` as transformers derives it: the size of `id2label` when present, else `num_labels`, else 2. */
  numLabels(): number {
    const id2label = this.json.id2label;
    if (id2label !== undefined && id2label !== null) {
      if (typeof id2label !== 'object' || Array.isArray(id2label)) this.fail('id2label', 'an object');
      const n = Object.keys(id2label).length;
      if (n === 0) this.fail('id2label', 'at least one label');
      return n;
    }
    return this.size('num_labels', 2);
  }

  /** Only absolute learned position embeddings are implemented (relative_key variants change the attention math). */
  requireAbsolutePositions(key = 'position_embedding_type'): void {
    const type = this.string(key, 'absolute');
    if (type !== 'absolute') {
      throw new ConfigError(`${this.file} ${key}: "${type}" position embeddings are not supported (only "absolute")`, {
        file: this.file,
        field: key,
      });
    }
  }

  /** Attention splits the hidden size evenly over the heads (`headsKey` names the config field). */
  requireDivisibleHeads(hidden: number, heads: number, headsKey: string): void {
    if (hidden % heads !== 0) {
      throw new ConfigError(`${this.file} ${headsKey}: hidden size ${hidden} is not a multiple of ${heads} heads`, {
        file: this.file,
        field: headsKey,
      });
    }
  }

  /** Encoder-decoder or causal use of an encoder checkpoint changes the attention; we only build encoders. */
  requireEncoderOnly(): void {
    for (const key of ['is_decoder', 'add_cross_attention']) {
      if (this.json[key] === true) {
        throw new ConfigError(`${this.file} ${key}: decoder use of an encoder model is not supported`, {
          file: this.file,
          field: key,
        });
      }
    }
  }
}

// ---------------------------------------------------------------------------------------------------------------
// What an architecture builds

/** The graph inputs an architecture reads. Absent optional inputs take HF's defaults inside the graph. */
export interface EncoderInputs {
  /** int64 [batch, sequence]. */
  inputIds: Value;
  mask: AttentionMask;
  /** int64 [batch, sequence], or null for all zeros. */
  tokenTypeIds: Value | null;
  /** int64 [batch, sequence], or null for the architecture's default positions. */
  positionIds: Value | null;
}

/** One graph output: its name, value and declared shape. */
export interface NamedOutput {
  name: string;
  value: Value;
  dims: (number | string)[];
}

/** What the encoder stack produced: the final states plus what `output_hidden_states`/`output_attentions` return. */
export interface EncoderTrace {
  lastHiddenState: Value;
  /** Embedding output (after any projection to the hidden size) and every layer's output. */
  hiddenStates: Value[];
  /** Post-softmax probabilities of every layer, when requested. */
  attentions: Value[];
}

/** Per-layer switches of an encoder layer. */
export interface LayerRunOptions {
  outputProbabilities: boolean;
  /** Compute position 0 only (the last layer of a graph whose outputs read nothing else). */
  firstTokenOnly: boolean;
}

/** What decides whether the last layer may compute the first token alone (a subset of `GraphRequest`). */
export interface FirstTokenRequest {
  task: string;
  outputHiddenStates: boolean;
  outputAttentions: boolean;
  /** The build option `firstTokenOnly` (default true): false computes every position of every layer, as HF does. */
  firstTokenOnly?: boolean;
}

/**
 * Whether every requested output depends on the last layer's first token only: sequence classification reads
 * `hidden[:, 0]` (through a pooler or directly), so the last layer's other positions would be computed for
 * nothing. Saves most of one layer's work; requested hidden states or attentions need every position, and
 * `firstTokenOnly: false` asks for the full computation.
 */
export function firstTokenSuffices(request: FirstTokenRequest): boolean {
  return (
    request.firstTokenOnly !== false &&
    request.task === 'sequence-classification' &&
    !request.outputHiddenStates &&
    !request.outputAttentions
  );
}

/**
 * Runs `count` layers one after the other (BertEncoder, DistilBERT's Transformer): each layer reads the previous
 * output; the trace keeps every hidden state and, when asked, every layer's attention probabilities. When the
 * request only reads the first token, the last layer computes that token alone.
 */
export function stackLayers(
  x: Value,
  count: number,
  request: FirstTokenRequest,
  layer: (x: Value, index: number, options: LayerRunOptions) => { output: Value; probabilities: Value | null },
): EncoderTrace {
  const trace: EncoderTrace = { lastHiddenState: x, hiddenStates: [x], attentions: [] };
  for (let i = 0; i < count; i++) {
    const result = layer(trace.lastHiddenState, i, {
      outputProbabilities: request.outputAttentions,
      firstTokenOnly: i === count - 1 && firstTokenSuffices(request),
    });
    trace.lastHiddenState = result.output;
    trace.hiddenStates.push(result.output);
    if (result.probabilities) trace.attentions.push(result.probabilities);
  }
  return trace;
}

/** `hidden_states.<i>` and `attentions.<i>` outputs, in HF's order, as requested. */
export function traceOutputs(
  trace: EncoderTrace,
  hidden: number,
  heads: number,
  request: { outputHiddenStates: boolean; outputAttentions: boolean },
): NamedOutput[] {
  const outputs: NamedOutput[] = [];
  if (request.outputHiddenStates) {
    trace.hiddenStates.forEach((value, i) =>
      outputs.push({ name: `hidden_states.${i}`, value, dims: ['batch', 'sequence', hidden] }),
    );
  }
  if (request.outputAttentions) {
    trace.attentions.forEach((value, i) =>
      outputs.push({ name: `attentions.${i}`, value, dims: ['batch', heads, 'sequence', 'sequence'] }),
    );
  }
  return outputs;
}
