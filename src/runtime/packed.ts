/**
 * The TypeScript side of packed execution (src/models/packed-layout.ts): turns a padded batch into the packed
 * graph's inputs, maps per-token outputs back to the padded [batch, seq, …] shape, and says when a batch cannot be
 * packed.
 *
 * A token is real when its attention mask is 1. Packed tokens are the real tokens in row order; each row's real
 * tokens keep their own position ids, type ids and relative order, so every real position sees exactly what it
 * sees in the padded graph (masked keys have probability 0 there). Padding positions of per-token outputs are 0
 * in the packed result, where the padded graph returns values computed from padding that nothing should read.
 */
import { InputError } from '../errors.js';
import { ATTENTION_GROUPS, groupInputNames } from '../models/packed-layout.js';
import type { IntMatrix } from './inputs.js';
import type { NamedTensor } from './session.js';

/**
 * The `packed` option: true runs every batch on the packed graph, false on the padded one, and 'auto' chooses per
 * batch (see "Packed execution" in docs/models.md; src/models/auto.ts decides).
 */
export type PackedMode = 'auto' | boolean;

/**
 * Padding share above which `packed: 'auto'` runs a batch packed. On batches with (almost) no padding the packed
 * graph measured about 4% slower than the padded one (its gathers, MultiHeadAttention instead of the fused
 * Attention kernel, and ORT's slower fused SkipLayerNormalization, since turned off; docs/models.md), so packing
 * paid once padding cost more than that. Without that fusion the two measured level on sorted batches; the
 * threshold stays, as the padded graph is the one open at load.
 */
export const PACKED_AUTO_PADDING_SHARE = 0.05;

/**
 * Padding positions a batch must waste before `packed: 'auto'` opens the packed graph for it. Opening it loads a
 * second copy of the weights (a second ONNX Runtime session) and takes seconds; a batch that wastes a few dozen
 * positions (the last, shortest batch of a sorted run) would save a few milliseconds for that. Once the packed
 * graph is open, every batch above `PACKED_AUTO_PADDING_SHARE` uses it.
 */
export const PACKED_AUTO_OPEN_PADDING = 256;

export interface PackedBatch {
  feeds: Record<string, NamedTensor>;
  batch: number;
  sequence: number;
  /** Real tokens in the batch (T). */
  tokens: number;
  /** Flat padded index (b · sequence + p) of each packed token. */
  sourceIndex: Int32Array;
}

/** The fraction of the batch's [batch, seq] positions that are padding (mask 0). */
export function paddingShare(mask: IntMatrix): number {
  const total = mask.data.length;
  if (total === 0) return 0;
  let real = 0;
  for (let i = 0; i < total; i++) if (mask.data[i] === 1n) real++;
  return 1 - real / total;
}

/**
 * Why this mask cannot be packed, or null when it can. Every row needs a real first position: poolers and
 * first-token heads read position 0, which in a left-padded row is padding, and the packed graph reads a row's
 * first real token instead.
 */
export function packingBlocker(mask: IntMatrix): string | null {
  const [batch, seq] = mask.dims as [number, number];
  if (seq === 0) return 'the batch has no positions';
  for (let b = 0; b < batch; b++) {
    if (mask.data[b * seq] !== 1n) return `row ${b} starts with padding (attention_mask[${b}][0] is 0)`;
  }
  return null;
}

/**
 * Cuts sequences sorted by length (ascending) into at most `groups` consecutive runs so that the sum over runs of
 * rows × (longest length)² is smallest. Returns each run's row count, `groups` entries, empty runs as 0. Only cuts
 * between different lengths are considered: moving a row of the same length into the shorter run never costs more.
 */
export function chooseAttentionGroups(sortedLengths: ArrayLike<number>, groups: number): number[] {
  const n = sortedLengths.length;
  // Candidate cut positions: 0, the end of every run of equal lengths.
  const cuts = [0];
  for (let i = 1; i <= n; i++) if (i === n || sortedLengths[i] !== sortedLengths[i - 1]) cuts.push(i);
  const k = cuts.length;
  const cost = (from: number, to: number): number => {
    const longest = sortedLengths[cuts[to]! - 1]!;
    return (cuts[to]! - cuts[from]!) * longest * longest;
  };
  // best[c] = cheapest cost of covering rows [0, cuts[c]) with the runs so far; choice[g][c] = where run g starts.
  let best = cuts.map((_, c) => (c === 0 ? 0 : cost(0, c)));
  const choice: Int32Array[] = [new Int32Array(k)];
  for (let g = 1; g < groups; g++) {
    const next = best.slice();
    const from = new Int32Array(k).map((_, c) => c);
    for (let c = 1; c < k; c++) {
      for (let b = 1; b < c; b++) {
        const total = best[b]! + cost(b, c);
        if (total < next[c]!) {
          next[c] = total;
          from[c] = b;
        }
      }
    }
    choice.push(from);
    best = next;
  }
  const sizes = new Array<number>(groups).fill(0);
  let end = k - 1;
  for (let g = groups - 1; g >= 0 && end > 0; g--) {
    const start = g === 0 ? 0 : choice[g]![end]!;
    sizes[g] = cuts[end]! - cuts[start]!;
    end = start;
  }
  return sizes;
}

/**
 * The packed graph's feeds for a padded batch. `positions` are the full [batch, seq] position ids (given or HF's
 * defaults); `tokenTypeIds` is left out for models without token types.
 */
export function packBatch(
  inputIds: IntMatrix,
  mask: IntMatrix,
  positions: IntMatrix,
  tokenTypeIds: IntMatrix | null,
): PackedBatch {
  const blocker = packingBlocker(mask);
  if (blocker)
    throw new InputError(`attention_mask: cannot run packed: ${blocker}`, { argument: 'attention_mask' });
  const [batch, seq] = inputIds.dims as [number, number];
  const lengths = new Int32Array(batch);
  const starts = new Int32Array(batch);
  let tokens = 0;
  let maxLength = 0;
  for (let b = 0; b < batch; b++) {
    let n = 0;
    for (let p = 0; p < seq; p++) if (mask.data[b * seq + p] === 1n) n++;
    lengths[b] = n;
    starts[b] = tokens;
    tokens += n;
    maxLength = Math.max(maxLength, n);
  }
  const ids = new BigInt64Array(tokens);
  const types = tokenTypeIds ? new BigInt64Array(tokens) : null;
  const pos = new BigInt64Array(tokens);
  const sourceIndex = new Int32Array(tokens);
  // The whole batch in one attention layout, row b = sequence b (the first-token layer reads keys from it).
  const attention = new BigInt64Array(batch * maxLength);
  const pack = new BigInt64Array(batch * maxLength); // filler slots point at token 0, hidden by the mask
  const first = new BigInt64Array(batch);
  let t = 0;
  for (let b = 0; b < batch; b++) {
    first[b] = BigInt(t);
    let j = 0;
    for (let p = 0; p < seq; p++) {
      const source = b * seq + p;
      if (mask.data[source] !== 1n) continue;
      ids[t] = inputIds.data[source]!;
      if (types) types[t] = tokenTypeIds!.data[source]!;
      pos[t] = positions.data[source]!;
      sourceIndex[t] = source;
      const slot = b * maxLength + j;
      pack[slot] = BigInt(t);
      attention[slot] = 1n;
      j++;
      t++;
    }
  }
  const feeds: Record<string, NamedTensor> = {
    input_ids: { type: 'int64', data: ids, dims: [tokens] },
    position_ids: { type: 'int64', data: pos, dims: [tokens] },
    attention_mask: { type: 'int64', data: attention, dims: [batch, maxLength] },
    pack_index: { type: 'int64', data: pack, dims: [batch, maxLength] },
    first_index: { type: 'int64', data: first, dims: [batch] },
  };
  if (types) feeds.token_type_ids = { type: 'int64', data: types, dims: [tokens] };
  Object.assign(feeds, groupedLayout(lengths, starts, tokens));
  return { feeds, batch, sequence: seq, tokens, sourceIndex };
}

/**
 * The self-attention layouts of the length groups: per group g, `group_pack_index_g` and `group_attention_mask_g`
 * [rows, its longest length] (sequences shortest first), and `unpad_index` [T], each token's slot in the groups'
 * flattened layouts laid end to end. A group left empty gets one filler row of one slot (token 0, unmasked) that no
 * token reads back, since the graph's shapes must be non-empty.
 */
function groupedLayout(lengths: Int32Array, starts: Int32Array, tokens: number): Record<string, NamedTensor> {
  const order = Array.from(lengths.keys()).sort((a, b) => lengths[a]! - lengths[b]! || a - b);
  const sizes = chooseAttentionGroups(
    order.map((b) => lengths[b]!),
    ATTENTION_GROUPS,
  );
  const feeds: Record<string, NamedTensor> = {};
  const unpad = new BigInt64Array(tokens);
  let row = 0;
  let offset = 0;
  sizes.forEach((rows, g) => {
    const names = groupInputNames(g);
    if (rows === 0) {
      feeds[names.packIndex] = { type: 'int64', data: new BigInt64Array(1), dims: [1, 1] };
      feeds[names.mask] = { type: 'int64', data: new BigInt64Array([1n]), dims: [1, 1] };
      offset += 1;
      return;
    }
    const width = lengths[order[row + rows - 1]!]!;
    const pack = new BigInt64Array(rows * width);
    const attention = new BigInt64Array(rows * width);
    for (let r = 0; r < rows; r++, row++) {
      const b = order[row]!;
      for (let j = 0; j < lengths[b]!; j++) {
        const slot = r * width + j;
        const token = starts[b]! + j;
        pack[slot] = BigInt(token);
        attention[slot] = 1n;
        unpad[token] = BigInt(offset + slot);
      }
    }
    feeds[names.packIndex] = { type: 'int64', data: pack, dims: [rows, width] };
    feeds[names.mask] = { type: 'int64', data: attention, dims: [rows, width] };
    offset += rows * width;
  });
  feeds.unpad_index = { type: 'int64', data: unpad, dims: [tokens] };
  return feeds;
}

/**
 * A per-token output of the packed graph ([1, tokens, …rest] or [tokens, …rest]) in the padded layout
 * [batch, seq, …rest], 0 at padding positions.
 */
export function unpackTokens(
  data: Float32Array,
  dims: readonly number[],
  packed: PackedBatch,
): { data: Float32Array; dims: number[] } {
  const rest = dims[0] === 1 && dims.length >= 2 && dims[1] === packed.tokens ? dims.slice(2) : dims.slice(1);
  const width = rest.reduce((a, b) => a * b, 1);
  if (data.length !== packed.tokens * width) {
    throw new RangeError(`unpackTokens: ${data.length} values for ${packed.tokens} tokens of width ${width}`);
  }
  const out = new Float32Array(packed.batch * packed.sequence * width);
  for (let t = 0; t < packed.tokens; t++) {
    out.set(data.subarray(t * width, (t + 1) * width), packed.sourceIndex[t]! * width);
  }
  return { data: out, dims: [packed.batch, packed.sequence, ...rest] };
}
