/**
 * What an architecture builds from and returns: the graph inputs it reads, its named outputs, and the layer loop
 * shared by the BERT-style encoders (hidden states and attentions traced as HF returns them, the first-token
 * shortcut for the last layer).
 */
import type { Value } from '../../onnx/graph-builder.js';
import type { AttentionMask } from './attention.js';

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
    (request.task === 'sequence-classification' || request.task === 'multiple-choice') &&
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
  layer: (
    x: Value,
    index: number,
    options: LayerRunOptions,
  ) => { output: Value; probabilities: Value | null },
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
