/**
 * The benchmark helpers whose mistakes would silently skew BENCHMARKS.md: the analytic FLOP count, the padded
 * batches fed to every model peer, the statistics, and the claim that the three tokenizer peers return the same
 * padded ids (the comparison is only fair if they do the same work).
 */
import assert from 'node:assert/strict';
import test from 'node:test';
import {
  batchFlops,
  debertaRelativeRows,
  debertaSequenceFlops,
  firstTokenSequenceFlops,
  modernBertSequenceFlops,
  sequenceFlops,
  usefulFlops,
} from '../bench/lib/flops.js';
import { chunkedBatches, paddingTotals, sortedBatches } from '../bench/lib/id-batches.js';
import { relativeIndex } from '../src/models/deberta-v2-attention.js';
import { markdownTable, median, ratio } from '../bench/lib/stats.js';
import { digestRows, loadTokenizer, TOKENIZER_PEERS } from '../bench/lib/tokenizer-peers.js';
import { sharedPath, skipUnlessShared } from './helpers/shared.js';

const shape = {
  dim: 12,
  hidden_dim: 20,
  n_layers: 3,
  n_heads: 3,
  vocab_size: 50,
  max_position_embeddings: 64,
};

test('FLOP count equals 2·m·k·n summed over every matrix product of the encoder, head by head', () => {
  const matmul = (m: number, k: number, n: number) => 2 * m * k * n;
  for (const L of [1, 5, 17]) {
    const d = shape.dim;
    const f = shape.hidden_dim;
    const h = shape.n_heads;
    const dh = d / h;
    let layer = 0;
    for (let p = 0; p < 4; p++) layer += matmul(L, d, d); // Q, K, V, output projection
    for (let head = 0; head < h; head++) {
      layer += matmul(L, dh, L); // Q Kᵀ
      layer += matmul(L, L, dh); // softmax(·) V
    }
    layer += matmul(L, d, f) + matmul(L, f, d); // FFN
    const head = matmul(1, d, d) + matmul(1, d, 2); // pre_classifier, classifier on the first token
    assert.equal(sequenceFlops(shape, L), shape.n_layers * layer + head);
  }
  assert.equal(batchFlops(shape, 4, 9), 4 * sequenceFlops(shape, 9));
  assert.equal(batchFlops(shape, 4, 9, 'first-token'), 4 * firstTokenSequenceFlops(shape, 9));
  assert.equal(usefulFlops(shape, [3, 7]), sequenceFlops(shape, 3) + sequenceFlops(shape, 7));
});

test('ModernBERT FLOP count: Wqkv, Wo, per-head scores and context, GeGLU Wi (to 2f) and Wo, then the head', () => {
  const matmul = (m: number, k: number, n: number) => 2 * m * k * n;
  const modern = { hidden_size: 48, intermediate_size: 72, num_hidden_layers: 3 };
  const d = modern.hidden_size;
  const f = modern.intermediate_size;
  const h = 4;
  const dh = d / h;
  for (const L of [1, 5, 17]) {
    let layer = matmul(L, d, 3 * d) + matmul(L, d, d); // Wqkv, Wo
    for (let head = 0; head < h; head++) layer += matmul(L, dh, L) + matmul(L, L, dh);
    layer += matmul(L, d, 2 * f) + matmul(L, f, d); // Wi (input and gate), Wo
    const head = matmul(1, d, d) + matmul(1, d, 2); // head.dense, classifier on the pooled vector
    assert.equal(modernBertSequenceFlops(modern, L), modern.num_hidden_layers * layer + head);
  }
});

test('DeBERTa FLOP count: BERT products plus c2p and p2c against the relative rows the distances reach', () => {
  const matmul = (m: number, k: number, n: number) => 2 * m * k * n;
  const deberta = { ...shape, position_buckets: 8, max_relative_positions: -1, max_position_embeddings: 64 };
  const config = { positionBuckets: 8, maxRelativePositions: 64 };
  for (const L of [1, 3, 5, 17, 60]) {
    // The distinct table indices of every (query, key) pair: a contiguous range, counted by brute force.
    const used = new Set<number>();
    for (let i = 0; i < L; i++) for (let j = 0; j < L; j++) used.add(relativeIndex(i - j, config));
    assert.equal(debertaRelativeRows(deberta, L), used.size, `rows reached at length ${L}`);
    const c2pAndP2c = 2 * matmul(L, shape.dim, used.size); // queries and keys against the used rows, all heads
    assert.equal(debertaSequenceFlops(deberta, L), sequenceFlops(shape, L) + shape.n_layers * c2pAndP2c);
  }
});

test('first-token FLOP count: the full layers, then the last layer as fewQueryAttention computes it', () => {
  const matmul = (m: number, k: number, n: number) => 2 * m * k * n;
  const d = shape.dim;
  const f = shape.hidden_dim;
  const h = shape.n_heads;
  const dh = d / h;
  for (const L of [1, 5, 17]) {
    let full = 0;
    for (let p = 0; p < 4; p++) full += matmul(L, d, d);
    for (let head = 0; head < h; head++) full += matmul(L, dh, L) + matmul(L, L, dh);
    full += matmul(L, d, f) + matmul(L, f, d);
    let last = matmul(1, d, d); // query of the first token
    for (let head = 0; head < h; head++) {
      last += matmul(1, dh, d); // u_h = W_K,hᵀ q_h
      last += matmul(L, d, 1); // scores X·u_h
      last += matmul(1, L, d); // p_hᵀ X
      last += matmul(1, d, dh); // (p_hᵀ X)·W_V,hᵀ
    }
    last += matmul(1, d, d) + matmul(1, d, f) + matmul(1, f, d); // output projection, FFN
    const head = matmul(1, d, d) + matmul(1, d, 2);
    assert.equal(firstTokenSequenceFlops(shape, L), (shape.n_layers - 1) * full + last + head);
    // Cheaper as soon as a sequence has more positions than heads (the u_h directions cost one per head).
    if (L > h) assert.ok(firstTokenSequenceFlops(shape, L) < sequenceFlops(shape, L));
  }
});

test('padded id batches: every row once, ids then pad, mask marks the real tokens', () => {
  const rows = [[5, 6, 7], [8], [9, 10, 11, 12, 13], [14, 15], [16, 17, 18, 19]];
  for (const batches of [chunkedBatches(rows, 2, 0), sortedBatches(rows, { batchSize: 2 }, 0)]) {
    const seen = batches.flatMap((b) => b.indices).sort((a, b) => a - b);
    assert.deepEqual(seen, [0, 1, 2, 3, 4]);
    for (const b of batches) {
      assert.equal(b.paddedLength, Math.max(...b.indices.map((i) => rows[i].length)));
      b.indices.forEach((source, r) => {
        const ids = Array.from(b.inputIds.subarray(r * b.paddedLength, (r + 1) * b.paddedLength), Number);
        const mask = Array.from(
          b.attentionMask.subarray(r * b.paddedLength, (r + 1) * b.paddedLength),
          Number,
        );
        const n = rows[source].length;
        assert.deepEqual(ids, [...rows[source], ...new Array<number>(b.paddedLength - n).fill(0)]);
        assert.deepEqual(mask, [
          ...new Array<number>(n).fill(1),
          ...new Array<number>(b.paddedLength - n).fill(0),
        ]);
      });
    }
  }
  // Input-order chunks of 2: [3,1] → 6 padded, [5,2] → 10, [4] → 4; 15 real of 20.
  assert.deepEqual(paddingTotals(chunkedBatches(rows, 2)), { real: 15, padded: 20, ratio: 0.25 });
});

test('statistics: median of odd and even counts, ratios, Markdown tables', () => {
  assert.equal(median([3, 1, 2]), 2);
  assert.equal(median([4, 1, 3, 2]), 2.5);
  assert.ok(Number.isNaN(median([])));
  assert.equal(ratio(3, 2), '1.5×');
  assert.equal(ratio(1, 0), 'n/a');
  assert.equal(markdownTable(['a', 'b'], [['1', '2']]), '| a | b |\n| --- | --- |\n| 1 | 2 |');
  assert.notEqual(digestRows([[1, 2], [3]]), digestRows([[1], [2, 3]]));
});

test(
  'the three tokenizer peers return identical padded ids and masks on SST-2 sentences',
  { skip: skipUnlessShared('tokenizers', 'bert-base-uncased') || skipUnlessShared('datasets', 'sst2') },
  async () => {
    const { readSst2Sentences } = await import('../bench/lib/data.js');
    const texts = readSst2Sentences('train').slice(0, 96);
    const dir = sharedPath('tokenizers', 'bert-base-uncased');
    const results = [];
    for (const peer of TOKENIZER_PEERS) results.push(await loadTokenizer(peer, dir).encodePadded(texts));
    for (const result of results.slice(1)) {
      assert.deepEqual(result.ids, results[0].ids);
      assert.deepEqual(result.attentionMask, results[0].attentionMask);
    }
    const longest = Math.max(...results[0].ids.map((r) => r.length));
    assert.ok(
      results[0].ids.every((r) => r.length === longest),
      'rows are padded to the longest',
    );
  },
);
