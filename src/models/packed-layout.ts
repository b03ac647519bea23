/**
 * The packed ("padding-free") layout of an encoder graph. Per-token work (embeddings, projections, feed-forward,
 * layer norms) runs on the batch's real tokens only, laid out as one sequence `[1, T, width]` (T = real tokens in
 * the batch), so every per-token block of the padded graph works unchanged. Attention is the one block that needs
 * sequences: it gathers the packed tokens into attention layouts `[rows, max_length, width]` with index tensors
 * (each row's real tokens first, in order, then filler), runs masked attention there, and gathers the context
 * vectors back to `[1, T, width]`. Self-attention uses one layout per length group (`ATTENTION_GROUPS`), so a
 * short sequence is not attended at the length of the longest one in the batch.
 *
 * The graph inputs that describe the layouts are computed in TypeScript (src/runtime/packed.ts):
 * - `group_pack_index_g`, `group_attention_mask_g` int64 [rows, max_length] for each group g: the packed token of
 *   each slot (any valid index for filler slots, which the mask hides) and 1 for real slots, 0 for filler;
 * - `unpad_index` int64 [tokens]: each packed token's slot in the groups' flattened layouts, laid end to end;
 * - `pack_index`, `attention_mask` int64 [batch, max_length]: the whole batch in one layout, row b = sequence b,
 *   from which the first-token last layer reads its keys and values;
 * - `first_index` int64 [batch]: the packed index of each sequence's first token (poolers, first-token heads).
 *
 * Masked keys get probability exactly 0 in the padded graph (their scores underflow in the softmax), so leaving
 * them out changes no real token's result.
 */
import { GraphBuilder, Value } from '../onnx/graph-builder.js';
import type { AttentionMask } from './layers/index.js';

/**
 * Length groups of the packed graph's self-attention. Attention runs in a `[rows, max_length]` layout and costs
 * rows × max_length² per layer, so in one layout every short sequence of a mixed batch pays for the longest one's
 * length. The sequences are instead cut, by length, into this many groups, each attended in a layout of its own
 * maximum length (`chooseAttentionGroups` picks the cuts). On random batches of 33 SST-2 dev sentences
 * (bert-base-uncased tokens) one layout costs 3.2× the sum of squared lengths, two groups 1.7×, three 1.4×; a
 * group left empty costs a one-slot filler row. Part of the graph's structure: the graph and `packBatch`
 * (src/runtime/packed.ts) agree on it through this constant.
 */
export const ATTENTION_GROUPS = 3;

/** The graph inputs of length group `g` (see `ATTENTION_GROUPS`). */
export function groupInputNames(g: number): { packIndex: string; mask: string } {
  return { packIndex: `group_pack_index_${g}`, mask: `group_attention_mask_${g}` };
}

/** One length group's attention layout: its `[rows, max_length]` gather indices and mask. */
export interface AttentionGroup {
  packIndex: Value;
  mask: AttentionMask;
}

export class PackedLayout {
  /**
   * Set once a layer has narrowed the sequence to its first token (`firstPosition`): from then on the hidden state
   * is [batch, 1, width] rather than packed, and first-token reads take position 0 as in the padded layout.
   */
  narrowedToFirstTokens = false;
  private readonly firstIndexColumn: Value;

  constructor(
    private readonly g: GraphBuilder,
    /** The whole batch's layout (row b = sequence b); its mask is the graph's `attention_mask`. */
    readonly packIndex: Value,
    /** The self-attention layouts, shortest sequences first. */
    readonly groups: readonly AttentionGroup[],
    readonly unpadIndex: Value,
    readonly firstIndex: Value,
  ) {
    this.firstIndexColumn = g.op(
      'Unsqueeze',
      [firstIndex, g.int64s([1])],
      {},
      { name: 'first_index_column' },
    );
  }

  private flat(x: Value): Value {
    return this.g.op('Squeeze', [x, this.g.int64s([0])]);
  }

  /** Packed [1, T, width] → the whole batch's attention layout [batch, max_length, width]. */
  toAttentionLayout(x: Value): Value {
    return this.g.op('Gather', [this.flat(x), this.packIndex], { axis: 0 }, { name: 'to_attention_layout' });
  }

  /** Packed [1, T, width] → one length group's attention layout [rows, max_length, width]. */
  toGroupLayout(x: Value, group: AttentionGroup): Value {
    return this.g.op('Gather', [this.flat(x), group.packIndex], { axis: 0 }, { name: 'to_group_layout' });
  }

  /** Every group's attention layout [rows, max_length, width], in group order → packed [1, T, width]. */
  toPacked(groups: readonly Value[], width: number): Value {
    const g = this.g;
    const parts = groups.map((x) => g.op('Reshape', [x, g.int64s([-1, width])]));
    const slots =
      parts.length === 1 ? parts[0]! : g.op('Concat', parts, { axis: 0 }, { name: 'group_slots' });
    const packed = g.op('Gather', [slots, this.unpadIndex], { axis: 0 }, { name: 'to_packed' });
    return g.op('Unsqueeze', [packed, g.int64s([0])]);
  }

  /** Each sequence's first token of a packed [1, T, width] value, as [batch, 1, width]. */
  firstPositions(x: Value): Value {
    return this.g.op(
      'Gather',
      [this.flat(x), this.firstIndexColumn],
      { axis: 0 },
      { name: 'first_position' },
    );
  }

  /** Each sequence's first token of a packed [1, T, width] value, as [batch, width]. */
  firstTokens(x: Value): Value {
    return this.g.op('Gather', [this.flat(x), this.firstIndex], { axis: 0 }, { name: 'first_token' });
  }
}
