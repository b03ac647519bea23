/**
 * The per-position blocks of an encoder: activations by their HF names, Linear layers, LayerNorm, the post-norm
 * residual block, chunked feed-forward, and embedding lookups and pooling. With `contribOps` the hot ones use ONNX
 * Runtime's com.microsoft fused kernels (BiasGelu, FastGelu, QuickGelu); without it, standard ONNX ops that mirror
 * the PyTorch code line by line.
 */
import { ConfigError } from '../../errors.js';
import { attr, Value } from '../../onnx/graph-builder.js';
import { TensorDataType } from '../../onnx/proto.js';
import type { ActivationName, ConfigReader } from './config-reader.js';
import { MS, type ModelGraph } from './graph.js';

// ---------------------------------------------------------------------------------------------------------------
// Activations

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
        g.op('Mul', [
          input,
          g.op('Add', [g.op('Erf', [g.op('Div', [input, g.scalar(Math.SQRT2)])]), g.scalar(1)]),
        ]),
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

/** `x @ W^T` for the torch Linear `prefix` (no bias); int8 when the graph is (ModelGraph.linearProduct). */
export function matmul(
  m: ModelGraph,
  x: Value,
  prefix: string,
  inFeatures: number,
  outFeatures: number,
): Value {
  return m.linearProduct(x, [`${prefix}.weight`], outFeatures, inFeatures);
}

/** torch `nn.Linear`: `x @ W^T + b`, weights `<prefix>.weight` [out, in] and `<prefix>.bias` [out]. */
export function linear(
  m: ModelGraph,
  x: Value,
  prefix: string,
  inFeatures: number,
  outFeatures: number,
): Value {
  return m.g.op('Add', [
    matmul(m, x, prefix, inFeatures, outFeatures),
    m.tensor(`${prefix}.bias`, [outFeatures]),
  ]);
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
  return activation(
    m,
    matmul(m, x, prefix, inFeatures, outFeatures),
    act,
    m.tensor(`${prefix}.bias`, [outFeatures]),
  );
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
  const count = g.op(
    'Div',
    [g.op('Add', [length, g.int64s([chunkSize - 1])]), chunk],
    {},
    { name: 'chunk_count' },
  );
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
      const piece = g.op(
        'Slice',
        [padded, start, g.op('Add', [start, chunk]), g.int64s([1])],
        {},
        { name: 'chunk' },
      );
      return [
        { value: cond!, dtype: 'bool' },
        { value: ff(piece), dtype: 'float32' },
      ];
    },
  );
  const tripCount = g.op('Reshape', [count, g.int64s([], 'scalar_shape')]);
  const stacked = g.op('Loop', [tripCount, null], { body }, { name: 'feed_forward_chunks' }); // [n, batch, chunk, width]
  const merged = g.op('Reshape', [
    g.op('Transpose', [stacked], { perm: [1, 0, 2, 3] }),
    g.int64s([0, -1, width]),
  ]);
  return g.op('Slice', [merged, g.int64s([0]), length, g.int64s([1])], {}, { name: 'feed_forward_output' });
}

/** `chunk_size_feed_forward` (PretrainedConfig, default 0 = one piece). */
export function chunkSizeFeedForward(config: ConfigReader): number {
  const value = config.integer('chunk_size_feed_forward', 0);
  if (value < 0) {
    throw new ConfigError(
      `${config.file} chunk_size_feed_forward: expected 0 or a positive integer, got ${value}`,
      {
        file: config.file,
        field: 'chunk_size_feed_forward',
      },
    );
  }
  return value;
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
  const notPad = g.op(
    'Cast',
    [g.op('Not', [g.op('Equal', [ids, g.constant(new BigInt64Array([BigInt(padTokenId)]), [])])])],
    {
      to: TensorDataType.INT64,
    },
  );
  const counted = g.op('Mul', [g.op('CumSum', [notPad, g.constant(new BigInt64Array([1n]), [])]), notPad]);
  return g.op(
    'Add',
    [counted, g.constant(new BigInt64Array([BigInt(padTokenId)]), [])],
    {},
    { name: 'position_ids' },
  );
}

/** `hidden[:, 0:1]`: the first position kept as a length-1 sequence [batch, 1, hidden]. */
export function firstPosition(m: ModelGraph, hidden: Value): Value {
  if (m.packed) {
    m.packed.narrowedToFirstTokens = true;
    return m.packed.firstPositions(hidden);
  }
  return m.g.op(
    'Slice',
    [hidden, m.g.int64s([0]), m.g.int64s([1]), m.g.int64s([1])],
    {},
    { name: 'first_position' },
  );
}

/** `hidden[:, 0]`: the first token's vector [batch, hidden], read by poolers and sequence heads. */
export function firstToken(m: ModelGraph, hidden: Value): Value {
  if (m.packed && !m.packed.narrowedToFirstTokens) return m.packed.firstTokens(hidden);
  return m.g.op(
    'Gather',
    [hidden, m.g.constant(new BigInt64Array([0n]), [])],
    { axis: 1 },
    { name: 'first_token' },
  );
}

/** QA heads: logits [batch, seq, 2] → start_logits and end_logits [batch, seq]. */
export function splitStartEnd(m: ModelGraph, logits: Value): { start: Value; end: Value } {
  const pick = (k: bigint): Value =>
    m.g.op('Gather', [logits, m.g.constant(new BigInt64Array([k]), [])], { axis: 2 });
  return { start: pick(0n), end: pick(1n) };
}
