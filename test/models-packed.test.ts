/**
 * Packed (padding-free) execution against the padded graph: every fixture checkpoint's masked cases (both
 * lowerings), random mixed-length batches of the demo model, the per-batch choice and the error paths.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { InputError } from '../src/errors.js';
import { PreTrainedModel, type ModelOutput } from '../src/models/auto.js';
import { buildModelGraph, taskFromConfig, type ModelTask } from '../src/models/index.js';
import { pipeline } from '../src/pipelines/index.js';
import { toIntMatrix, type IntMatrix } from '../src/runtime/inputs.js';
import { ATTENTION_GROUPS, groupInputNames } from '../src/models/packed-layout.js';
import {
  chooseAttentionGroups,
  PACKED_AUTO_OPEN_PADDING,
  PACKED_AUTO_PADDING_SHARE,
  packBatch,
  packingBlocker,
  paddingShare,
  unpackTokens,
} from '../src/runtime/packed.js';
import { OnnxSession, type NamedTensor } from '../src/runtime/session.js';
import { FloatTensor } from '../src/runtime/tensor.js';
import { loadWeights } from '../src/weights/load.js';
import { REPO_ROOT, readSharedJson, sharedPath, skipUnlessShared } from './helpers/shared.js';
import { mulberry32 as random } from './helpers/random.js';

const MODELS = 'fixtures/models';
const DEMO = join(REPO_ROOT, 'models', 'seqbatch-demo-sst2');
const PACKABLE = [
  'albert-model',
  'albert-seqcls',
  'bert-model',
  'bert-mlm',
  'bert-qa',
  'bert-seqcls',
  'bert-tokcls',
  'distilbert-model',
  'distilbert-qa',
  'distilbert-seqcls',
  'distilbert-sinusoidal',
  'distilbert-tokcls',
  'electra-model',
  'electra-seqcls',
  'roberta-model',
  'roberta-mlm',
  'roberta-seqcls',
  'roberta-tokcls',
  ...['mpnet-model', 'mpnet-mlm', 'mpnet-qa', 'mpnet-seqcls', 'mpnet-tokcls'].map(
    (name) => `../models-2/${name}`,
  ),
  ...['modernbert-model', 'modernbert-mlm', 'modernbert-seqcls', 'modernbert-tokcls'].map(
    (name) => `../models-2/${name}`,
  ),
  ...['model', 'conv', 'token-types', 'seqcls', 'tokcls', 'qa', 'mlm'].map(
    (name) => `../models-2/deberta-v2-${name}`,
  ),
];

interface FixtureCase {
  name: string;
  inputs: Record<string, number[][] | number[]>;
  outputs: Record<string, unknown>;
}

const flatten = (x: unknown): number[] => (Array.isArray(x) ? x.flatMap(flatten) : [x as number]);

/** Per-token outputs compare on real positions only (the packed graph leaves padding at 0). */
function assertPackedEqual(
  padded: ModelOutput,
  packed: ModelOutput,
  mask: number[][],
  what: string,
  tol = 1e-5,
): void {
  const keys = Object.keys(padded).filter((k) => k !== 'attentions') as (keyof ModelOutput)[];
  assert.deepEqual(Object.keys(packed).sort(), keys.sort(), `${what}: output names`);
  const batch = mask.length;
  const seq = mask[0]!.length;
  for (const key of keys) {
    const a = padded[key];
    const b = packed[key];
    if (typeof a === 'number') {
      assert.ok(Math.abs(a - (b as number)) <= tol, `${what} ${key}: ${a} vs ${String(b)}`);
      continue;
    }
    const pairs: [FloatTensor, FloatTensor][] = Array.isArray(a)
      ? a.map((t, i) => [t, (b as FloatTensor[])[i]!])
      : [[a as FloatTensor, b as FloatTensor]];
    for (const [x, y] of pairs) {
      assert.deepEqual(y.dims, x.dims, `${what} ${key}: dims`);
      const perToken =
        x.dims.length >= 2 && x.dims[0] === batch && x.dims[1] === seq && key !== 'pooler_output';
      const width = perToken ? x.data.length / (batch * seq) : 0;
      let compared = 0;
      for (let i = 0; i < x.data.length; i++) {
        if (perToken) {
          const position = Math.floor(i / width);
          if (mask[Math.floor(position / seq)]![position % seq] !== 1) {
            assert.equal(y.data[i], 0, `${what} ${key}[${i}]: padding is 0 in the packed result`);
            continue;
          }
        }
        compared++;
        if (!(Math.abs(x.data[i]! - y.data[i]!) <= tol))
          assert.fail(`${what} ${key}[${i}]: ${x.data[i]} vs ${y.data[i]}`);
      }
      assert.ok(compared > 0, `${what} ${key}: nothing compared`);
    }
  }
}

const rowsOf = (x: number[][] | number[]): number[][] =>
  Array.isArray(x[0]) ? (x as number[][]) : [x as number[]];

describe('packed execution on the fixture checkpoints', { skip: skipUnlessShared(MODELS) }, () => {
  for (const name of PACKABLE) {
    test(`${name}: masked cases equal the padded graph and PyTorch on real positions`, async () => {
      const dir = sharedPath(MODELS, name);
      const config = JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8')) as Record<string, unknown>;
      const task = taskFromConfig(config);
      const { cases } = readSharedJson<{ cases: FixtureCase[] }>(MODELS, name, 'expected.json');
      // Without hidden states, sequence classification narrows its last layer to each row's first token.
      for (const outputHiddenStates of [true, false]) {
        const model = await PreTrainedModel.fromPretrained(dir, task, {
          outputHiddenStates,
          cacheDir: false,
        });
        try {
          let checked = 0;
          for (const c of cases) {
            const mask = c.inputs.attention_mask;
            if (!mask || rowsOf(mask).some((row) => row[0] !== 1)) continue;
            if (c.inputs.start_positions !== undefined) {
              // The QA loss reads the pad positions' logits: packing it is refused.
              await assert.rejects(
                model.forward(c.inputs as never, { packed: true }),
                (e: unknown) => e instanceof InputError && e.argument === 'start_positions',
              );
              continue;
            }
            const padded = await model.forward(c.inputs as never, { packed: false });
            const packed = await model.forward(c.inputs as never, { packed: true });
            assertPackedEqual(padded, packed, rowsOf(mask), `${name}/${c.name}`);
            // And PyTorch's numbers directly (fixture tolerance), on real positions.
            const expected = c.outputs.logits ?? c.outputs.last_hidden_state;
            const got = packed.logits ?? packed.last_hidden_state;
            if (expected !== undefined && got && task === 'sequence-classification') {
              flatten(expected).forEach((e, i) =>
                assert.ok(Math.abs(got.data[i]! - e) <= 1e-4 + 1e-4 * Math.abs(e)),
              );
            }
            checked++;
          }
          assert.ok(checked >= 1, 'no masked case ran');
        } finally {
          await model.dispose();
        }
      }
    });
  }

  test('standard-op lowering: batch_padded equals the padded standard graph (every packable fixture)', async () => {
    for (const name of PACKABLE) {
      for (const outputHiddenStates of [true, false]) {
        const dir = sharedPath(MODELS, name);
        const config = JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8')) as Record<string, unknown>;
        const task = taskFromConfig(config);
        const c = readSharedJson<{ cases: FixtureCase[] }>(MODELS, name, 'expected.json').cases.find(
          (x) => x.name === 'batch_padded',
        )!;
        const weights = await loadWeights(dir);
        const hasTypes = config.model_type !== 'distilbert';
        const options = {
          task,
          contribOps: false,
          outputHiddenStates,
          inputs: { positionIds: hasTypes },
        };
        const padded = await OnnxSession.create(buildModelGraph(config, weights, options).bytes, {}, dir);
        const packed = await OnnxSession.create(
          buildModelGraph(config, weights, { ...options, packed: true }).bytes,
          {},
          dir,
        );
        try {
          const ids = matrix(rowsOf(c.inputs.input_ids!));
          const mask = matrix(rowsOf(c.inputs.attention_mask!));
          const positions = matrix(rowsOf(c.inputs.input_ids!).map((row) => defaultPositions(config, row)));
          const types = hasTypes ? matrix(rowsOf(c.inputs.input_ids!).map((row) => row.map(() => 0))) : null;
          const feeds: Record<string, NamedTensor> = {
            input_ids: { type: 'int64', ...ids },
            attention_mask: { type: 'int64', ...mask },
          };
          if (hasTypes) {
            feeds.position_ids = { type: 'int64', ...positions };
            feeds.token_type_ids = { type: 'int64', ...types! };
          }
          const want = await padded.run(feeds);
          const plan = packBatch(ids, mask, positions, types);
          const got = await packed.run(plan.feeds);
          const asOutput = (results: Record<string, NamedTensor>, unpack: boolean): ModelOutput => {
            const out: Record<string, unknown> = {};
            for (const [key, t] of Object.entries(results)) {
              const perSequence =
                key === 'pooler_output' || (key === 'logits' && task === 'sequence-classification');
              const u = unpack && !perSequence ? unpackTokens(t.data as Float32Array, t.dims, plan) : t;
              out[key] = new FloatTensor(u.data as Float32Array, [...u.dims]);
            }
            return out as ModelOutput;
          };
          assertPackedEqual(
            asOutput(want, false),
            asOutput(got, true),
            rowsOf(c.inputs.attention_mask!),
            `${name} standard`,
          );
        } finally {
          await padded.release();
          await packed.release();
        }
      }
    }
  });

  test("a model loaded packed names the padded graph's inputs and outputs; true never opens the padded graph", async () => {
    for (const name of PACKABLE) {
      const dir = sharedPath(MODELS, name);
      const task = taskFromConfig(
        JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8')) as Record<string, unknown>,
      );
      const padded = await PreTrainedModel.fromPretrained(dir, task, { cacheDir: false });
      const packed = await PreTrainedModel.fromPretrained(dir, task, { cacheDir: false, packed: true });
      try {
        assert.deepEqual(packed.inputNames, padded.inputNames, `${name}: input names`);
        assert.deepEqual(packed.outputNames, padded.outputNames, `${name}: output names`);
        await packed.forward({ input_ids: [[2, 5, 6, 3]], attention_mask: [[1, 1, 1, 1]] });
        assert.deepEqual(packed.openLayouts, ['packed'], name);
      } finally {
        await padded.dispose();
        await packed.dispose();
      }
    }
  });
});

function matrix(rows: number[][]): IntMatrix {
  return { data: BigInt64Array.from(rows.flat(), BigInt), dims: [rows.length, rows[0]!.length] };
}

function defaultPositions(config: Record<string, unknown>, row: number[]): number[] {
  if (config.model_type !== 'roberta') return row.map((_, j) => j);
  const pad = config.pad_token_id as number;
  let n = 0;
  return row.map((id) => (id === pad ? pad : pad + ++n));
}

function randomBatch(
  rand: () => number,
  rows: number,
  maxLength: number,
): { input_ids: number[][]; attention_mask: number[][] } {
  const lengths = Array.from({ length: rows }, () => 2 + Math.floor(rand() * (maxLength - 1)));
  const seq = Math.max(...lengths);
  const input_ids = lengths.map((n) =>
    Array.from({ length: seq }, (_, j) =>
      j === 0 ? 101 : j === n - 1 ? 102 : j < n ? 1000 + Math.floor(rand() * 6999) : 0,
    ),
  );
  const attention_mask = lengths.map((n) => Array.from({ length: seq }, (_, j) => (j < n ? 1 : 0)));
  return { input_ids, attention_mask };
}

describe('packed execution on the demo model', () => {
  for (const task of ['sequence-classification', 'base'] as ModelTask[]) {
    test(`${task}: random mixed-length batches equal the padded graph within 1e-5`, async () => {
      const model = await PreTrainedModel.fromPretrained(DEMO, task, { cacheDir: false });
      try {
        const rand = random(task === 'base' ? 7 : 11);
        for (let trial = 0; trial < 6; trial++) {
          const batch = randomBatch(rand, 1 + Math.floor(rand() * 12), 2 + Math.floor(rand() * 120));
          const padded = await model.forward(batch, { packed: false });
          const packed = await model.forward(batch, { packed: true });
          assertPackedEqual(padded, packed, batch.attention_mask, `${task} trial ${trial}`);
        }
      } finally {
        await model.dispose();
      }
    });
  }

  test("'auto' chooses per batch: padded for little padding, packed above the share once worth opening", async () => {
    const model = await PreTrainedModel.fromPretrained(DEMO, 'base', { cacheDir: false, packed: 'auto' });
    const reference = await PreTrainedModel.fromPretrained(DEMO, 'base', { cacheDir: false, packed: false });
    /** `rows - 1` short rows of 3 tokens beside one row of `long` tokens. */
    const uneven = (rows: number, long: number) => ({
      input_ids: [
        Array.from({ length: long }, (_, j) => 1000 + j),
        ...Array.from({ length: rows - 1 }, () => [101, 2000, 102, ...Array(long - 3).fill(0)]),
      ],
      attention_mask: [
        Array(long).fill(1),
        ...Array.from({ length: rows - 1 }, () => [1, 1, 1, ...Array(long - 3).fill(0)]),
      ],
    });
    try {
      assert.equal(
        model.loadLayout,
        'padded',
        "'auto' loads the padded graph: sorted batches run fastest there",
      );
      assert.deepEqual(model.openLayouts, ['padded']);
      // No padding, or no mask: the padded graph.
      const even = { input_ids: [[101, 2000, 102]], attention_mask: [[1, 1, 1]] };
      assert.deepEqual(
        (await model.forward(even)).last_hidden_state!.data,
        (await reference.forward(even)).last_hidden_state!.data,
      );
      await model.forward({ input_ids: [[101, 2000, 2001, 102]] });
      // Mostly padding but only 37 wasted positions (< PACKED_AUTO_OPEN_PADDING): not worth a second session.
      const small = uneven(2, 40);
      assert.ok(paddingShare(toIntMatrix(small.attention_mask, 'm')) > PACKED_AUTO_PADDING_SHARE);
      await model.forward(small);
      assert.equal(model.packedRuns, 0);
      assert.deepEqual(model.openLayouts, ['padded']);
      // 7 × 57 = 399 wasted positions: the packed graph opens, and padding comes back as exact zeros.
      const large = uneven(8, 60);
      assert.ok(7 * 57 >= PACKED_AUTO_OPEN_PADDING);
      const out = await model.forward(large);
      assert.equal(model.packedRuns, 1);
      assert.deepEqual(model.openLayouts, ['padded', 'packed']);
      assert.ok(out.last_hidden_state!.data.subarray(63 * 128, 64 * 128).every((v) => v === 0));
      assertPackedEqual(await reference.forward(large), out, large.attention_mask, 'large');
      // Once open, any batch above the share runs packed; one below it still runs padded.
      assertPackedEqual(
        await reference.forward(small),
        await model.forward(small),
        small.attention_mask,
        'small',
      );
      assert.equal(model.packedRuns, 2);
      await model.forward(even);
      assert.equal(model.packedRuns, 2);
      // Left padding cannot pack (position 0 is padding): 'auto' runs it padded, equal to packed: false.
      const left = {
        input_ids: [
          [0, 0, 101, 2000, 102],
          [101, 2001, 2002, 2003, 102],
        ],
        attention_mask: [
          [0, 0, 1, 1, 1],
          [1, 1, 1, 1, 1],
        ],
      };
      assert.deepEqual(
        (await model.forward(left)).last_hidden_state!.data,
        (await reference.forward(left)).last_hidden_state!.data,
      );
      assert.equal(model.packedRuns, 2);
      await assert.rejects(
        model.forward(left, { packed: true }),
        (e: unknown) => e instanceof InputError && e.argument === 'attention_mask',
      );
    } finally {
      await model.dispose();
      await reference.dispose();
    }
  });
});

test("pipelines pass packed: 'auto' through: input-order batches give the padded scores within 1e-6", async () => {
  const texts = [
    'a gorgeous , witty , seductive movie .',
    'bad',
    'the film is strictly routine , and at two hours it is far too long for what it has to say .',
    'fine',
    'it is a charming and often affecting journey .',
  ];
  // Input order, one batch: mostly padding, and enough of it (≥ PACKED_AUTO_OPEN_PADDING) to open the packed graph.
  texts.push(...Array.from({ length: 20 }, () => 'ok'));
  const batching = { sortByLength: false, batchSize: texts.length, functionToApply: 'none' } as const;
  const padded = await pipeline('sentiment-analysis', DEMO, { cacheDir: false, packed: false });
  const packed = await pipeline('sentiment-analysis', DEMO, { cacheDir: false, packed: 'auto' });
  try {
    const want = (await padded.run(texts, batching)) as { label: string; score: number }[];
    const got = (await packed.run(texts, batching)) as { label: string; score: number }[];
    assert.equal(packed.model.packedRuns, 1, 'the mixed-length batch ran packed');
    assert.equal(padded.model.packedRuns, 0);
    assert.equal(got.length, texts.length);
    got.forEach((r, i) => {
      assert.equal(r.label, want[i]!.label);
      assert.ok(Math.abs(r.score - want[i]!.score) <= 1e-6, `text ${i}: ${r.score} vs ${want[i]!.score}`);
    });
  } finally {
    await padded.dispose();
    await packed.dispose();
  }
});

describe('packed execution errors and helpers', () => {
  test('Longformer and output attentions have no packed graph; bad option values are refused', async () => {
    const longformer = skipUnlessShared(MODELS, 'longformer-model');
    if (!longformer) {
      await assert.rejects(
        PreTrainedModel.fromPretrained(sharedPath(MODELS, 'longformer-model'), 'base', {
          packed: true,
          cacheDir: false,
        }),
        (e: unknown) => e instanceof InputError && e.argument === 'packed',
      );
    }
    await assert.rejects(
      PreTrainedModel.fromPretrained(DEMO, 'base', { packed: true, outputAttentions: true, cacheDir: false }),
      (e: unknown) => e instanceof InputError && e.argument === 'packed',
    );
    await assert.rejects(
      PreTrainedModel.fromPretrained(DEMO, 'base', { packed: 'yes' as never, cacheDir: false }),
      (e: unknown) => e instanceof InputError && e.argument === 'packed',
    );
    const config = JSON.parse(readFileSync(join(DEMO, 'config.json'), 'utf8')) as Record<string, unknown>;
    const weights = await loadWeights(DEMO);
    assert.throws(
      () => buildModelGraph(config, weights, { task: 'base', packed: true, outputAttentions: true }),
      (e: unknown) => e instanceof InputError && e.argument === 'outputAttentions',
    );
  });

  test('padding share, blockers and the per-batch choice', () => {
    const mask = matrix([
      [1, 1, 1, 1],
      [1, 0, 0, 0],
    ]);
    assert.equal(paddingShare(mask), 3 / 8);
    assert.equal(packingBlocker(mask), null);
    assert.match(
      packingBlocker(
        matrix([
          [1, 1],
          [0, 1],
        ]),
      )!,
      /row 1 starts with padding/,
    );
  });

  test('packBatch lays out tokens, attention slots and indices; unpackTokens inverts it', () => {
    const ids = matrix([
      [5, 6, 7],
      [8, 0, 0],
      [9, 10, 0],
    ]);
    const mask = matrix([
      [1, 1, 1],
      [1, 0, 0],
      [1, 1, 0],
    ]);
    const positions = matrix([
      [0, 1, 2],
      [0, 1, 2],
      [0, 1, 2],
    ]);
    const plan = packBatch(ids, mask, positions, null);
    const list = (t: NamedTensor): number[] => Array.from(t.data as BigInt64Array, Number);
    assert.deepEqual(list(plan.feeds.input_ids!), [5, 6, 7, 8, 9, 10]);
    assert.deepEqual(list(plan.feeds.position_ids!), [0, 1, 2, 0, 0, 1]);
    assert.deepEqual(plan.feeds.attention_mask!.dims, [3, 3]);
    assert.deepEqual(list(plan.feeds.attention_mask!), [1, 1, 1, 1, 0, 0, 1, 1, 0]);
    assert.deepEqual(
      list(plan.feeds.pack_index!).filter((_, i) => list(plan.feeds.attention_mask!)[i] === 1),
      [0, 1, 2, 3, 4, 5],
    );
    assert.deepEqual(list(plan.feeds.first_index!), [0, 3, 4]);
    // Self-attention layouts: lengths 3, 1, 2 make three groups, shortest first, each as wide as its sequence, so
    // no slot is filler; unpad_index finds each token in the groups' slots laid end to end.
    const group = (g: number) => {
      const names = groupInputNames(g);
      return {
        dims: plan.feeds[names.packIndex]!.dims,
        pack: list(plan.feeds[names.packIndex]!),
        mask: list(plan.feeds[names.mask]!),
      };
    };
    assert.deepEqual(group(0), { dims: [1, 1], pack: [3], mask: [1] });
    assert.deepEqual(group(1), { dims: [1, 2], pack: [4, 5], mask: [1, 1] });
    assert.deepEqual(group(2), { dims: [1, 3], pack: [0, 1, 2], mask: [1, 1, 1] });
    assert.deepEqual(list(plan.feeds.unpad_index!), [3, 4, 5, 0, 1, 2]);
    assert.equal(plan.feeds.token_type_ids, undefined);
    const perToken = Float32Array.from([1, 2, 3, 4, 5, 6]);
    const back = unpackTokens(perToken, [1, 6], plan);
    assert.deepEqual(back.dims, [3, 3]);
    assert.deepEqual(Array.from(back.data), [1, 2, 3, 4, 0, 0, 5, 6, 0]);
    assert.throws(() => unpackTokens(perToken.subarray(1), [1, 5], plan), RangeError);
    assert.throws(
      () =>
        packBatch(
          ids,
          matrix([
            [0, 1, 1],
            [1, 0, 0],
            [1, 1, 0],
          ]),
          positions,
          null,
        ),
      InputError,
    );
  });
  test('chooseAttentionGroups finds the cheapest cut of the sorted lengths (brute force, 300 random batches)', () => {
    const rand = random(5);
    const cost = (lengths: number[], sizes: number[]): number => {
      let start = 0;
      let total = 0;
      for (const rows of sizes) {
        if (rows > 0) total += rows * lengths[start + rows - 1]! ** 2;
        start += rows;
      }
      return total;
    };
    for (let trial = 0; trial < 300; trial++) {
      const n = 1 + Math.floor(rand() * 14);
      const spread = 1 + Math.floor(rand() * 40);
      const lengths = Array.from({ length: n }, () => 1 + Math.floor(rand() * spread)).sort((a, b) => a - b);
      const groups = 1 + Math.floor(rand() * 4);
      const sizes = chooseAttentionGroups(lengths, groups);
      assert.equal(sizes.length, groups);
      assert.equal(
        sizes.reduce((a, b) => a + b, 0),
        n,
      );
      // Every way of cutting n rows into `groups` consecutive runs (empty runs allowed).
      let best = Infinity;
      const search = (rest: number, left: number, sizesSoFar: number[]): void => {
        if (left === 1) {
          best = Math.min(best, cost(lengths, [...sizesSoFar, rest]));
          return;
        }
        for (let rows = 0; rows <= rest; rows++) search(rest - rows, left - 1, [...sizesSoFar, rows]);
      };
      search(n, groups, []);
      assert.equal(
        cost(lengths, sizes),
        best,
        `lengths ${lengths.join(',')} in ${groups} groups: ${sizes.join(',')}`,
      );
    }
    // Equal lengths stay in one group; the graph's other groups then get a filler row that no token reads back.
    assert.deepEqual(chooseAttentionGroups([4, 4, 4], 3), [3, 0, 0]);
    const plan = packBatch(
      matrix([
        [1, 2],
        [3, 4],
      ]),
      matrix([
        [1, 1],
        [1, 1],
      ]),
      matrix([
        [0, 1],
        [0, 1],
      ]),
      null,
    );
    for (let g = 1; g < ATTENTION_GROUPS; g++) {
      assert.deepEqual(plan.feeds[groupInputNames(g).packIndex]!.dims, [1, 1]);
    }
    assert.deepEqual(Array.from(plan.feeds.unpad_index!.data as BigInt64Array, Number), [0, 1, 2, 3]);
  });
});
