/**
 * ModernBERT written out in float64, one sequence at a time, from transformers 4.48's modeling_modernbert.py
 * (ModernBertEmbeddings, ModernBertAttention with eager rotary attention and the `|i - j| <= local_attention // 2`
 * window, ModernBertMLP, ModernBertEncoderLayer, final_norm, ModernBertPredictionHead and the heads). It shares no
 * code with src/models: an independent reference for configurations the PyTorch fixtures do not cover (biases,
 * mean pooling, an untied decoder, other windows and thetas).
 */
import type { WeightStore } from '../../src/weights/types.js';

/** erf by its Maclaurin series, accurate to ~1e-12 for |x| ≤ 4 (|x| > 4 gives ±1 to float64 precision). */
function erf(x: number): number {
  if (Math.abs(x) > 4) return Math.sign(x);
  let term = x;
  let sum = x;
  for (let n = 1; n < 200; n++) {
    term *= (-x * x) / n;
    sum += term / (2 * n + 1);
  }
  return (2 / Math.sqrt(Math.PI)) * sum;
}

const ACTIVATIONS: Record<string, (x: number) => number> = {
  gelu: (x) => 0.5 * x * (1 + erf(x / Math.SQRT2)),
  silu: (x) => x / (1 + Math.exp(-x)),
  relu: (x) => Math.max(0, x),
};

type Vector = number[];

export interface ModernBertReference {
  /** last_hidden_state of one sequence, [length][hidden]. */
  lastHiddenState: Vector[];
  /** The head's logits: [num_labels] (sequence), [length][num_labels or vocab] (token-level), or undefined. */
  logits?: Vector | Vector[];
}

export function modernBertReference(
  config: Record<string, unknown>,
  weights: WeightStore,
  ids: readonly number[],
  task: 'base' | 'sequence-classification' | 'token-classification' | 'masked-lm',
): ModernBertReference {
  const num = (key: string, fallback: number): number => (config[key] as number | undefined) ?? fallback;
  const flag = (key: string, fallback: boolean): boolean => (config[key] as boolean | undefined) ?? fallback;
  const hidden = num('hidden_size', 768);
  const heads = num('num_attention_heads', 12);
  const headDim = hidden / heads;
  const inner = num('intermediate_size', 1152);
  const eps = num('norm_eps', 1e-5);
  const act = ACTIVATIONS[(config.hidden_activation as string | undefined) ?? 'gelu']!;
  const headAct = ACTIVATIONS[(config.classifier_activation as string | undefined) ?? 'gelu']!;
  const globalTheta = num('global_rope_theta', 160000);
  const localTheta =
    (config.local_rope_theta as number | null | undefined) === null
      ? globalTheta
      : num('local_rope_theta', 10000);
  const base = weights.has('model.embeddings.tok_embeddings.weight') ? 'model.' : '';
  const w = (name: string): Float32Array => weights.getFloat32(name).data;
  const optional = (name: string, present: boolean): Float32Array | null => (present ? w(name) : null);

  const norm = (x: Vector, prefix: string): Vector => {
    const mean = x.reduce((a, b) => a + b, 0) / x.length;
    const variance = x.reduce((a, b) => a + (b - mean) ** 2, 0) / x.length;
    const gamma = w(`${prefix}.weight`);
    const beta = optional(`${prefix}.bias`, flag('norm_bias', false));
    return x.map((v, i) => ((v - mean) / Math.sqrt(variance + eps)) * gamma[i]! + (beta ? beta[i]! : 0));
  };
  const linear = (
    x: Vector,
    prefix: string,
    out: number,
    bias: boolean,
    weightName = `${prefix}.weight`,
  ): Vector => {
    const weight = w(weightName);
    const b = optional(`${prefix}.bias`, bias);
    return Array.from({ length: out }, (_, o) => {
      let sum = b ? b[o]! : 0;
      for (let i = 0; i < x.length; i++) sum += weight[o * x.length + i]! * x[i]!;
      return sum;
    });
  };
  const rotate = (x: Vector, position: number, theta: number): Vector =>
    x.map((v, j) => {
      const half = headDim / 2;
      const i = j % half;
      const angle = position / Math.pow(theta, (2 * i) / headDim);
      const turned = j < half ? -x[j + half]! : x[j - half]!;
      return v * Math.cos(angle) + turned * Math.sin(angle);
    });

  const table = w(`${base}embeddings.tok_embeddings.weight`);
  let states = ids.map((id) =>
    norm(Array.from(table.subarray(id * hidden, (id + 1) * hidden)), `${base}embeddings.norm`),
  );
  const layers = num('num_hidden_layers', 22);
  for (let l = 0; l < layers; l++) {
    const p = `${base}layers.${l}`;
    const local = l % num('global_attn_every_n_layers', 3) !== 0;
    const theta = local ? localTheta : globalTheta;
    const window = Math.floor(num('local_attention', 128) / 2);
    const attnBias = flag('attention_bias', false);
    const normed = l === 0 ? states : states.map((x) => norm(x, `${p}.attn_norm`));
    const qkv = normed.map((x) => linear(x, `${p}.attn.Wqkv`, 3 * hidden, attnBias));
    const context = states.map(() => new Array<number>(hidden).fill(0));
    for (let h = 0; h < heads; h++) {
      const part = (t: number, kind: number): Vector =>
        qkv[t]!.slice(kind * hidden + h * headDim, kind * hidden + (h + 1) * headDim);
      const q = states.map((_, t) => rotate(part(t, 0), t, theta));
      const k = states.map((_, t) => rotate(part(t, 1), t, theta));
      for (let i = 0; i < states.length; i++) {
        const visible = states.map((_, j) => !local || Math.abs(i - j) <= window);
        const scores = k.map((kj, j) =>
          visible[j] ? kj.reduce((a, v, d) => a + v * q[i]![d]!, 0) / Math.sqrt(headDim) : -Infinity,
        );
        const top = Math.max(...scores);
        const e = scores.map((s) => Math.exp(s - top));
        const total = e.reduce((a, b) => a + b, 0);
        for (let j = 0; j < states.length; j++) {
          const v = part(j, 2);
          for (let d = 0; d < headDim; d++) context[i]![h * headDim + d]! += (e[j]! / total) * v[d]!;
        }
      }
    }
    states = states.map((x, t) => {
      const attended = linear(context[t]!, `${p}.attn.Wo`, hidden, attnBias).map((v, i) => v + x[i]!);
      const mlpBias = flag('mlp_bias', false);
      const wide = linear(norm(attended, `${p}.mlp_norm`), `${p}.mlp.Wi`, 2 * inner, mlpBias);
      const gated = Array.from({ length: inner }, (_, i) => act(wide[i]!) * wide[inner + i]!);
      return linear(gated, `${p}.mlp.Wo`, hidden, mlpBias).map((v, i) => v + attended[i]!);
    });
  }
  const lastHiddenState = states.map((x) => norm(x, `${base}final_norm`));
  const head = (x: Vector): Vector =>
    norm(linear(x, 'head.dense', hidden, flag('classifier_bias', false)).map(headAct), 'head.norm');
  const labels = Object.keys((config.id2label as object | undefined) ?? { 0: 0, 1: 1 }).length;
  switch (task) {
    case 'base':
      return { lastHiddenState };
    case 'sequence-classification': {
      const pooled =
        config.classifier_pooling === 'mean'
          ? lastHiddenState[0]!.map(
              (_, i) => lastHiddenState.reduce((a, x) => a + x[i]!, 0) / lastHiddenState.length,
            )
          : lastHiddenState[0]!;
      return { lastHiddenState, logits: linear(head(pooled), 'classifier', labels, true) };
    }
    case 'token-classification':
      return {
        lastHiddenState,
        logits: lastHiddenState.map((x) => linear(head(x), 'classifier', labels, true)),
      };
    case 'masked-lm': {
      const vocab = num('vocab_size', 50368);
      const tied = flag('tie_word_embeddings', true);
      const decoderWeight = tied ? `${base}embeddings.tok_embeddings.weight` : 'decoder.weight';
      return {
        lastHiddenState,
        logits: lastHiddenState.map((x) =>
          linear(head(x), 'decoder', vocab, flag('decoder_bias', true), decoderWeight),
        ),
      };
    }
  }
}
