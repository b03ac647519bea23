/**
 * MPNet, following transformers' modeling_mpnet.py (4.40) top to bottom: config → embeddings → relative position
 * bias → encoder layers → pooler → heads.
 *
 * What sets it apart from BERT: no token types; positions counted from the padding id like RoBERTa's; and every
 * layer adds one bucketed relative position bias (`encoder.relative_attention_bias`, [buckets, heads]) to its
 * attention scores, the T5 scheme. The bias depends only on the distance between query and key, so it is built
 * once per attention layout; in the packed graph each sequence gets it in its own coordinates (its real tokens come
 * first in every layout), and a row of a packed batch equals the sequence run alone. The heads are RoBERTa's.
 */
import type { Architecture, GraphRequest } from './architecture.js';
import { bertLayer, type PostNormLayerNames } from './bert.js';
import { robertaHeads } from './roberta.js';
import {
  embed,
  layerNorm,
  ModelGraph,
  positionIdsFromInputIds,
  stackLayers,
  traceOutputs,
  type ActivationName,
  type AttentionMask,
  type ConfigReader,
  type EncoderInputs,
  type EncoderTrace,
  type NamedOutput,
  type PositionBias,
} from './layers/index.js';
import type { Value } from '../onnx/graph-builder.js';
import { ConfigError } from '../errors.js';

// ----------------------------------------------------------------------------------------------- config

/** The MPNetConfig fields that change the math (defaults as in transformers' MPNetConfig). */
export interface MpnetConfig {
  vocabSize: number;
  hiddenSize: number;
  numHiddenLayers: number;
  numAttentionHeads: number;
  intermediateSize: number;
  hiddenAct: ActivationName;
  maxPositionEmbeddings: number;
  layerNormEps: number;
  /** Rows of `encoder.relative_attention_bias`; the bucketing itself always uses `BUCKETS` of them (see there). */
  relativeAttentionNumBuckets: number;
  tieWordEmbeddings: boolean;
  /** Always 0: MPNetLayer runs its feed-forward in one piece, whatever `chunk_size_feed_forward` says. */
  chunkSizeFeedForward: 0;
}

/**
 * MPNetEmbeddings fixes `padding_idx = 1` whatever `pad_token_id` says: positions are counted from it and the
 * position table loses its first two rows.
 */
const PADDING_IDX = 1;

/**
 * The bucket count of the bias. MPNetEncoder.compute_position_bias calls relative_position_bucket with its default
 * of 32 buckets, not with `relative_attention_num_buckets`, which only sizes the embedding table.
 */
const BUCKETS = 32;
/** relative_position_bucket's `max_distance`: distances from here on share the last bucket of their direction. */
const MAX_DISTANCE = 128;

export function readMpnetConfig(c: ConfigReader): MpnetConfig {
  const hiddenSize = c.size('hidden_size', 768);
  const numAttentionHeads = c.size('num_attention_heads', 12);
  c.requireDivisibleHeads(hiddenSize, numAttentionHeads, 'num_attention_heads');
  const relativeAttentionNumBuckets = c.size('relative_attention_num_buckets', 32);
  if (relativeAttentionNumBuckets < BUCKETS) {
    // transformers would index past the end of the table for any sequence of two or more tokens.
    throw new ConfigError(
      `${c.file} relative_attention_num_buckets: expected at least ${BUCKETS} (MPNet's attention bias always uses ` +
        `${BUCKETS} buckets), got ${relativeAttentionNumBuckets}`,
      { file: c.file, field: 'relative_attention_num_buckets' },
    );
  }
  return {
    vocabSize: c.size('vocab_size', 30527),
    hiddenSize,
    numHiddenLayers: c.size('num_hidden_layers', 12),
    numAttentionHeads,
    intermediateSize: c.size('intermediate_size', 3072),
    hiddenAct: c.activation('hidden_act', 'gelu'),
    maxPositionEmbeddings: c.size('max_position_embeddings', 512),
    layerNormEps: c.number('layer_norm_eps', 1e-12),
    relativeAttentionNumBuckets,
    tieWordEmbeddings: c.boolean('tie_word_embeddings', true),
    chunkSizeFeedForward: 0,
  };
}

// ----------------------------------------------------------------------------------------------- embeddings

/** MPNetEmbeddings: `LayerNorm(word[ids] + position[pos])`; absent positions count real tokens from `PADDING_IDX`. */
function mpnetEmbeddings(m: ModelGraph, prefix: string, config: MpnetConfig, inputs: EncoderInputs): Value {
  const h = config.hiddenSize;
  const words = embed(
    m,
    m.tensor(`${prefix}.word_embeddings.weight`, [config.vocabSize, h]),
    inputs.inputIds,
  );
  const positionTable = m.tensor(`${prefix}.position_embeddings.weight`, [config.maxPositionEmbeddings, h]);
  const positionIds = inputs.positionIds ?? positionIdsFromInputIds(m, inputs.inputIds, PADDING_IDX);
  const summed = m.g.op('Add', [words, embed(m, positionTable, positionIds)]);
  return layerNorm(m, summed, `${prefix}.LayerNorm`, h, config.layerNormEps);
}

// ----------------------------------------------------------------------------------------------- position bias

/**
 * MPNetEncoder.relative_position_bucket for `relative = key position − query position`: keys after the query take
 * the upper half of the buckets; distances below a quarter of the buckets get one bucket each, longer ones share
 * log-spaced buckets up to `MAX_DISTANCE`. torch evaluates the logarithm part in float32 and truncates it; this
 * rounds each step to float32 the same way. For the default 32 buckets the result equals the exact bucket
 * `8 + ⌊2·log2(n / 8)⌋` at every distance (the tests check it in integer arithmetic).
 */
export function relativePositionBucket(
  relative: number,
  numBuckets = BUCKETS,
  maxDistance = MAX_DISTANCE,
): number {
  const f = Math.fround;
  const half = Math.floor(numBuckets / 2);
  const direction = relative > 0 ? half : 0;
  const n = Math.abs(relative);
  const maxExact = Math.floor(half / 2);
  if (n < maxExact) return direction + n;
  const logRatio = f(Math.log(f(n / maxExact)));
  const scaled = f(f(logRatio / f(Math.log(maxDistance / maxExact))) * (half - maxExact));
  return direction + Math.min(maxExact + Math.trunc(scaled), half - 1);
}

/**
 * MPNetEncoder.compute_position_bias as a `PositionBias`: for a layout of length L, `bias[0, h, i, j]` is
 * `relative_attention_bias[bucket(j − i), h]`. The bucket of every distance in [−MAX_DISTANCE, MAX_DISTANCE] is
 * looked up once, here, into a [2·MAX_DISTANCE + 1, heads] table (longer distances fall in the same bucket as
 * ±MAX_DISTANCE, so the graph clamps to that range); the graph only gathers rows of it.
 */
function relativePositionBias(m: ModelGraph, prefix: string, config: MpnetConfig): PositionBias {
  const g = m.g;
  const heads = config.numAttentionHeads;
  const name = `${prefix}.relative_attention_bias.weight`;
  const table = m.derived(`${name}:by_distance`, [2 * MAX_DISTANCE + 1, heads], () => {
    const weight = m.read(name, [config.relativeAttentionNumBuckets, heads]);
    const rows = new Float32Array((2 * MAX_DISTANCE + 1) * heads);
    for (let r = -MAX_DISTANCE; r <= MAX_DISTANCE; r++) {
      const bucket = relativePositionBucket(r);
      rows.set(weight.subarray(bucket * heads, (bucket + 1) * heads), (r + MAX_DISTANCE) * heads);
    }
    return rows;
  });
  const scalar = (v: number): Value => g.constant(new BigInt64Array([BigInt(v)]), []);
  const built = new Map<AttentionMask, Value>();
  return (mask, states) => {
    const known = built.get(mask);
    if (known) return known;
    const bias = g.scope('relative_position_bias', () => {
      const length = g.op('Squeeze', [g.op('Shape', [states], { start: 1, end: 2 })]);
      const positions = g.op('Range', [scalar(0), length, scalar(1)]);
      // memory_position − context_position: [query, key].
      const relative = g.op('Sub', [
        g.op('Unsqueeze', [positions, g.int64s([0])]),
        g.op('Unsqueeze', [positions, g.int64s([1])]),
      ]);
      const clamped = g.op('Clip', [relative, scalar(-MAX_DISTANCE), scalar(MAX_DISTANCE)]);
      const rows = g.op('Gather', [table, g.op('Add', [clamped, scalar(MAX_DISTANCE)])], { axis: 0 }); // [L, L, heads]
      const perHead = g.op('Transpose', [rows], { perm: [2, 0, 1] });
      return g.op('Unsqueeze', [perHead, g.int64s([0])], {}, { name: 'position_bias' }); // [1, heads, L, L]
    });
    built.set(mask, bias);
    return bias;
  };
}

// ----------------------------------------------------------------------------------------------- encoder

/** MPNetLayer's weight names: MPNetAttention (`attn.{q,k,v,o}`, LayerNorm), MPNetIntermediate, MPNetOutput. */
const MPNET_LAYER_NAMES: PostNormLayerNames = {
  query: 'attention.attn.q',
  key: 'attention.attn.k',
  value: 'attention.attn.v',
  attentionOutput: 'attention.attn.o',
  attentionNorm: 'attention.LayerNorm',
  intermediate: 'intermediate.dense',
  output: 'output.dense',
  outputNorm: 'output.LayerNorm',
};

/**
 * MPNetEncoder: the position bias, computed once, shared by `num_hidden_layers` layers `<prefix>.layer.<i>`. An
 * MPNetLayer is BERT's post-norm layer under other weight names, with the bias added to its attention scores.
 */
function mpnetEncoder(
  m: ModelGraph,
  x: Value,
  prefix: string,
  config: MpnetConfig,
  mask: AttentionMask,
  request: GraphRequest,
): EncoderTrace {
  const positionBias = relativePositionBias(m, prefix, config);
  return stackLayers(x, config.numHiddenLayers, request, (hidden, i, options) =>
    bertLayer(m, hidden, `${prefix}.layer.${i}`, config, mask, options, {
      names: MPNET_LAYER_NAMES,
      positionBias,
    }),
  );
}

// ----------------------------------------------------------------------------------------------- model and heads

function build(m: ModelGraph, c: ConfigReader, inputs: EncoderInputs, request: GraphRequest): NamedOutput[] {
  const config = readMpnetConfig(c);
  const base = m.weights.has('mpnet.embeddings.word_embeddings.weight') ? 'mpnet.' : '';
  const embeddings = mpnetEmbeddings(m, `${base}embeddings`, config, inputs);
  const trace = mpnetEncoder(m, embeddings, `${base}encoder`, config, inputs.mask, request);
  const traced = traceOutputs(trace, config.hiddenSize, config.numAttentionHeads, request);
  // MPNetPooler, MPNetClassificationHead and MPNetLMHead are RoBERTa's heads under the same weight names.
  return robertaHeads(m, c, config, base, trace.lastHiddenState, request, traced);
}

export const mpnetArchitecture: Architecture = {
  modelTypes: ['mpnet'],
  packed: { supported: true },
  accepts: { tokenTypeIds: false, positionIds: true },
  checkConfig: (c) => void readMpnetConfig(c),
  positions: () => ({ kind: 'from-input-ids', padTokenId: PADDING_IDX }),
  typeVocabSize: () => 0,
  build,
};
