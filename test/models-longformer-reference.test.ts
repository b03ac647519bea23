/**
 * The Longformer graph against an independent float64 reference written row by row from the rules in
 * modeling_longformer.py (see ../shared/fixtures/README.md, "Longformer"), on inputs the fixtures do not cover:
 * longer sequences (many attention blocks), windows that differ per layer, many global tokens per row, rows without
 * any, and global marks on padding (which the merged mask must cancel). Uses the longformer-model fixture weights.
 */
import assert from 'node:assert/strict';
import test from 'node:test';
import * as ort from 'onnxruntime-node';
import { buildModelGraph } from '../src/models/index.js';
import { loadWeights } from '../src/weights/load.js';
import type { WeightStore } from '../src/weights/types.js';
import { readSharedJson, sharedPath, skipUnlessShared } from './helpers/shared.js';

const FOLDER = sharedPath('fixtures', 'models', 'longformer-model');
const skip = skipUnlessShared('fixtures', 'models', 'longformer-model');
const HIDDEN = 32;
const HEADS = 4;
const HEAD = HIDDEN / HEADS;
const INNER = 37;
const PAD = 1;
const EPS = 1e-12;

type Matrix = number[][];

/** erf by Abramowitz & Stegun 7.1.26 (|error| ≤ 1.5e-7). */
function erf(x: number): number {
  const t = 1 / (1 + 0.3275911 * Math.abs(x));
  const poly =
    t * (0.254829592 + t * (-0.284496736 + t * (1.421413741 + t * (-1.453152027 + t * 1.061405429))));
  return Math.sign(x) * (1 - poly * Math.exp(-x * x));
}

class Reference {
  constructor(private readonly weights: WeightStore) {}

  private tensor(name: string): Float32Array {
    return this.weights.getFloat32(name).data;
  }

  /** torch Linear on one vector: W [out, in]. */
  private linear(x: number[], prefix: string, out: number): number[] {
    const w = this.tensor(`${prefix}.weight`);
    const b = this.tensor(`${prefix}.bias`);
    return Array.from({ length: out }, (_, o) => {
      let sum = b[o]!;
      for (let i = 0; i < x.length; i++) sum += w[o * x.length + i]! * x[i]!;
      return sum;
    });
  }

  private layerNorm(x: number[], prefix: string): number[] {
    const w = this.tensor(`${prefix}.weight`);
    const b = this.tensor(`${prefix}.bias`);
    const mean = x.reduce((a, v) => a + v, 0) / x.length;
    const variance = x.reduce((a, v) => a + (v - mean) ** 2, 0) / x.length;
    return x.map((v, i) => ((v - mean) / Math.sqrt(variance + EPS)) * w[i]! + b[i]!);
  }

  private softmax(scores: number[]): number[] {
    const max = Math.max(...scores);
    const e = scores.map((s) => Math.exp(s - max));
    const sum = e.reduce((a, v) => a + v, 0);
    return e.map((v) => v / sum);
  }

  /**
   * One batch row, already padded to the window multiple, with its merged mask (0 masked, 1 local, 2 global).
   * Returns the hidden states of every layer and each layer's per-head probabilities: `local[h][i]` over all keys
   * (0 where not seen) for non-global rows and `global[h][i]` over all keys for global rows.
   */
  run(ids: number[], merged: number[], windows: number[]) {
    const n = ids.length;
    const words = this.tensor('embeddings.word_embeddings.weight');
    const positions = this.tensor('embeddings.position_embeddings.weight');
    const types = this.tensor('embeddings.token_type_embeddings.weight');
    let count = 0;
    let x: Matrix = ids.map((id) => {
      const position = id === PAD ? PAD : PAD + ++count;
      const sum = Array.from(
        { length: HIDDEN },
        (_, k) => words[id * HIDDEN + k]! + positions[position * HIDDEN + k]! + types[k]!,
      );
      return this.layerNorm(sum, 'embeddings.LayerNorm');
    });
    const layers: { hidden: Matrix; probabilities: number[][][] }[] = [];
    windows.forEach((window, l) => {
      const p = `encoder.layer.${l}`;
      const half = window / 2;
      const project = (name: string, rows: Matrix, scale = 1) =>
        rows.map((row) => this.linear(row, `${p}.attention.self.${name}`, HIDDEN).map((v) => v / scale));
      const q = project('query', x, Math.sqrt(HEAD));
      const k = project('key', x);
      const v = project('value', x);
      const qg = project('query_global', x, Math.sqrt(HEAD));
      const kg = project('key_global', x);
      const vg = project('value_global', x);
      const context: Matrix = x.map(() => new Array<number>(HIDDEN).fill(0));
      const probabilities = Array.from({ length: HEADS }, () => x.map(() => new Array<number>(n).fill(0)));
      for (let h = 0; h < HEADS; h++) {
        const dot = (a: number[], b: number[]) => {
          let sum = 0;
          for (let d = h * HEAD; d < (h + 1) * HEAD; d++) sum += a[d]! * b[d]!;
          return sum;
        };
        for (let i = 0; i < n; i++) {
          if (merged[i] === 0) continue; // masked query: probability 0, context 0
          const isGlobal = merged[i]! > 1;
          const seen = ids
            .map((_, j) => j)
            .filter((j) =>
              isGlobal ? merged[j] !== 0 : merged[j]! > 1 || (merged[j] === 1 && Math.abs(i - j) <= half),
            );
          const weights = this.softmax(seen.map((j) => (isGlobal ? dot(qg[i]!, kg[j]!) : dot(q[i]!, k[j]!))));
          seen.forEach((j, s) => {
            probabilities[h]![i]![j] = weights[s]!;
            const values = isGlobal ? vg[j]! : v[j]!;
            for (let d = h * HEAD; d < (h + 1) * HEAD; d++) context[i]![d]! += weights[s]! * values[d]!;
          });
        }
      }
      x = x.map((row, i) => {
        const attended = this.layerNorm(
          this.linear(context[i]!, `${p}.attention.output.dense`, HIDDEN).map((val, d) => val + row[d]!),
          `${p}.attention.output.LayerNorm`,
        );
        const inner = this.linear(attended, `${p}.intermediate.dense`, INNER).map(
          (val) => 0.5 * val * (1 + erf(val / Math.SQRT2)),
        );
        return this.layerNorm(
          this.linear(inner, `${p}.output.dense`, HIDDEN).map((val, d) => val + attended[d]!),
          `${p}.output.LayerNorm`,
        );
      });
      layers.push({ hidden: x, probabilities });
    });
    return layers;
  }
}

/** Deterministic pseudo-random integers (a 32-bit LCG). */
function generator(seed: number) {
  let state = seed >>> 0;
  return (below: number) => {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    return Math.floor((state / 2 ** 32) * below);
  };
}

interface Scenario {
  name: string;
  windows: number[];
  lengths: number[];
  /** Global positions per row (some may fall on padding). */
  globals: number[][];
}

const SCENARIOS: Scenario[] = [
  {
    name: 'windows [2, 8], long rows, globals on padding',
    windows: [2, 8],
    lengths: [50, 37, 9],
    globals: [
      [0, 13, 14, 49],
      [0, 36, 40, 45],
      [3, 20],
    ],
  },
  {
    name: 'windows [8, 2], one row without globals',
    windows: [8, 2],
    lengths: [31, 20],
    globals: [[], [0, 1, 2, 3, 4, 5, 19]],
  },
  { name: 'windows [4, 4], no global token at all', windows: [4, 4], lengths: [62, 5], globals: [[], []] },
];

for (const scenario of SCENARIOS) {
  test(`Longformer graph = float64 reference: ${scenario.name}`, { skip }, async () => {
    const weights = await loadWeights(FOLDER);
    const config = {
      ...readSharedJson<Record<string, unknown>>('fixtures', 'models', 'longformer-model', 'config.json'),
    };
    config.attention_window = scenario.windows;
    const random = generator(scenario.lengths.reduce((a, b) => a * 31 + b, 7));
    const batch = scenario.lengths.length;
    const length = Math.max(...scenario.lengths);
    const ids = scenario.lengths.map((n) =>
      Array.from({ length }, (_, j) => (j >= n ? PAD : j === 0 ? 0 : j === n - 1 ? 2 : 3 + random(116))),
    );
    const mask = scenario.lengths.map((n) => Array.from({ length }, (_, j) => (j < n ? 1 : 0)));
    const global = scenario.globals.map((marks) =>
      Array.from({ length }, (_, j) => (marks.includes(j) ? 1 : 0)),
    );

    const { bytes } = buildModelGraph(config, weights, {
      task: 'base',
      outputAttentions: true,
      outputHiddenStates: true,
    });
    const session = await ort.InferenceSession.create(bytes, { intraOpNumThreads: 1 });
    const int64 = (rows: number[][]) =>
      new ort.Tensor('int64', BigInt64Array.from(rows.flat(), BigInt), [batch, length]);
    const got = await session.run({
      input_ids: int64(ids),
      attention_mask: int64(mask),
      global_attention_mask: int64(global),
    });

    const window = Math.max(...scenario.windows);
    const padded = Math.ceil(length / window) * window;
    const reference = new Reference(weights);
    const merged = ids.map((_, b) =>
      Array.from({ length: padded }, (_, j) => (j < length ? mask[b]![j]! * (global[b]![j]! + 1) : 0)),
    );
    const slots = merged.map((row) => row.flatMap((m, j) => (m > 1 ? [j] : [])));
    const maxSlots = Math.max(...slots.map((s) => s.length));
    const worst = { hidden: 0, attentions: 0 };
    const check = (
      tensor: ort.Tensor,
      index: number,
      want: number,
      atol: number,
      rtol: number,
      what: string,
    ) => {
      const value = (tensor.data as Float32Array)[index]!;
      const diff = Math.abs(value - want);
      assert.ok(diff <= atol + rtol * Math.abs(want), `${what}: got ${value}, expected ${want}`);
      if (want === 0) assert.equal(value, 0, `${what}: must be exactly 0`);
      return diff;
    };

    for (let b = 0; b < batch; b++) {
      const paddedIds = Array.from({ length: padded }, (_, j) => (j < length ? ids[b]![j]! : PAD));
      const layers = reference.run(paddedIds, merged[b]!, scenario.windows);
      layers.forEach(({ hidden, probabilities }, l) => {
        const state = got[`hidden_states.${l + 1}`]!;
        assert.deepEqual([...state.dims], [batch, length, HIDDEN]);
        for (let i = 0; i < length; i++) {
          for (let d = 0; d < HIDDEN; d++) {
            const diff = check(
              state,
              (b * length + i) * HIDDEN + d,
              hidden[i]![d]!,
              1e-4,
              1e-4,
              `layer ${l} row ${b} token ${i}`,
            );
            worst.hidden = Math.max(worst.hidden, diff);
          }
        }
        // attentions: K global-key columns (slot order), then keys i − half … i + half that are local.
        const half = scenario.windows[l]! / 2;
        const width = maxSlots + 2 * half + 1;
        const attentions = got[`attentions.${l}`]!;
        assert.deepEqual([...attentions.dims], [batch, HEADS, length, width]);
        const globals = got[`global_attentions.${l}`]!;
        assert.deepEqual([...globals.dims], [batch, HEADS, padded, maxSlots]);
        for (let h = 0; h < HEADS; h++) {
          for (let i = 0; i < length; i++) {
            const row = probabilities[h]![i]!;
            const localRow = merged[b]![i] === 1;
            for (let c = 0; c < width; c++) {
              let want = 0;
              if (localRow && c < maxSlots) want = c < slots[b]!.length ? row[slots[b]![c]!]! : 0;
              else if (localRow) {
                const j = i + c - maxSlots - half;
                want = j >= 0 && j < padded && merged[b]![j] === 1 ? row[j]! : 0;
              }
              const index = ((b * HEADS + h) * length + i) * width + c;
              worst.attentions = Math.max(
                worst.attentions,
                check(attentions, index, want, 1e-5, 0, `attentions.${l} [${b},${h},${i},${c}]`),
              );
            }
          }
          // global_attentions [.., j, k]: slot k's query over key j; an unused slot is uniform.
          for (let j = 0; j < padded; j++) {
            for (let k = 0; k < maxSlots; k++) {
              const slot = slots[b]![k];
              const want = slot === undefined ? Math.fround(1 / padded) : probabilities[h]![slot]![j]!;
              const index = ((b * HEADS + h) * padded + j) * maxSlots + k;
              worst.attentions = Math.max(
                worst.attentions,
                check(globals, index, want, 1e-5, 0, `global_attentions.${l} [${b},${h},${j},${k}]`),
              );
            }
          }
        }
      });
    }
    console.log(
      `# ${scenario.name}: max |diff| hidden states ${worst.hidden.toExponential(2)}, probabilities ${worst.attentions.toExponential(2)}`,
    );
  });
}
