/**
 * The packed ("padding-free") layout of an encoder graph. Per-token work (embeddings, projections, feed-forward,
 * layer norms) runs on the batch's real tokens only, laid out as one sequence `[1, T, width]` (T = real tokens in
 * the batch), so every per-token block of the padded graph works unchanged. Attention is the one block that needs
 * sequences: it gathers the packed tokens into a `[batch, max_length, width]` attention layout with an index tensor
 * (each row's real tokens first, in order, then filler), runs masked attention there, and gathers the context
 * vectors back to `[1, T, width]`.
 *
 * The graph inputs that describe the layout are computed in TypeScript (src/runtime/packed.ts):
 * - `pack_index` int64 [batch, max_length]: packed token index of each attention-layout slot (any valid index for
 *   filler slots, which the mask hides);
 * - `attention_mask` int64 [batch, max_length]: 1 for real slots, 0 for filler;
 * - `unpad_index` int64 [tokens]: the flat attention-layout slot `b · max_length + j` of each packed token;
 * - `first_index` int64 [batch]: the packed index of each sequence's first token (poolers, first-token heads).
 *
 * Masked keys get probability exactly 0 in the padded graph (their scores underflow in the softmax), so leaving
 * them out changes no real token's result.
 */
import { GraphBuilder, Value } from '../onnx/graph-builder.js';

export class PackedLayout {
  /**
   * Set once a layer has narrowed the sequence to its first token (`firstPosition`): from then on the hidden state
   * is [batch, 1, width] rather than packed, and first-token reads take position 0 as in the padded layout.
   */
  narrowedToFirstTokens = false;
  private readonly firstIndexColumn: Value;

  constructor(
    private readonly g: GraphBuilder,
    readonly packIndex: Value,
    readonly unpadIndex: Value,
    readonly firstIndex: Value,
  ) {
    this.firstIndexColumn = g.op('Unsqueeze', [firstIndex, g.int64s([1])], {}, { name: 'first_index_column' });
  }

  private flat(x: Value): Value {
    return this.g.op('Squeeze', [x, this.g.int64s([0])]);
  }

  /** Packed [1, T, width] → attention layout [batch, max_length, width]. */
  toAttentionLayout(x: Value): Value {
    return this.g.op('Gather', [this.flat(x), this.packIndex], { axis: 0 }, { name: 'to_attention_layout' });
  }

  /** Attention layout [batch, max_length, width] → packed [1, T, width]. */
  toPacked(x: Value, width: number): Value {
    const g = this.g;
    const rows = g.op('Reshape', [x, g.int64s([-1, width])]);
    const packed = g.op('Gather', [rows, this.unpadIndex], { axis: 0 }, { name: 'to_packed' });
    return g.op('Unsqueeze', [packed, g.int64s([0])]);
  }

  /** Each sequence's first token of a packed [1, T, width] value, as [batch, 1, width]. */
  firstPositions(x: Value): Value {
    return this.g.op('Gather', [this.flat(x), this.firstIndexColumn], { axis: 0 }, { name: 'first_position' });
  }

  /** Each sequence's first token of a packed [1, T, width] value, as [batch, width]. */
  firstTokens(x: Value): Value {
    return this.g.op('Gather', [this.flat(x), this.firstIndex], { axis: 0 }, { name: 'first_token' });
  }
}
