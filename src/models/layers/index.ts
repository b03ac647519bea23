/**
 * Building blocks shared by the encoder graphs, one concern per file: `graph.ts` (the graph and its checkpoint),
 * `ops.ts` (activations, Linear, LayerNorm, embeddings, pooling), `attention.ts` (self-attention lowerings),
 * `config-reader.ts` (typed config.json fields), `encoder-stack.ts` (inputs, outputs and the layer loop).
 *
 * Two lowerings exist for the hot blocks. With `contribOps` (the default) they use ONNX Runtime's com.microsoft
 * kernels (Attention, MultiHeadAttention, BiasGelu, FastGelu, QuickGelu), which run each block as one fused
 * kernel; without it they use standard ONNX ops only and mirror the PyTorch code line by line. Both are tested
 * against the same fixtures. Attention probabilities are only observable in the standard lowering, so
 * `outputAttentions` switches attention to it.
 */
export * from './attention.js';
export * from './config-reader.js';
export * from './encoder-stack.js';
export * from './graph.js';
export * from './ops.js';
