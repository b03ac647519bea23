/**
 * The first-token shortcut of sequence-classification graphs (the last layer computes position 0 alone and its
 * attention never projects every position's keys and values, see `fewQueryAttention` in src/models/layers.ts)
 * against `firstTokenOnly: false` (every position of every layer, as HF computes it) and against PyTorch's logits,
 * on every sequence-classification (and multiple-choice) fixture checkpoint, in both lowerings and in the packed layout, masked batches
 * included. Plus a structural check that the last layer's key/value weights never meet all positions.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { describe, test } from 'node:test';
import * as ort from 'onnxruntime-node';
import {
  buildModelGraph,
  defaultPositionIds,
  taskFromConfig,
  type BuildModelGraphOptions,
  type GraphInputSelection,
} from '../src/models/index.js';
import { AttentionMask, ModelGraph, selfAttention } from '../src/models/layers/index.js';
import { ModelProto } from '../src/onnx/proto.js';
import type { IntMatrix } from '../src/runtime/inputs.js';
import { packBatch } from '../src/runtime/packed.js';
import { loadWeights } from '../src/weights/load.js';
import type { WeightStore } from '../src/weights/types.js';
import { assertTensorClose, flattenNested, int64Tensor, type Nested } from './helpers/nested-tensors.js';
import { supportedModelFixtures } from './helpers/model-fixtures.js';
import { sharedPath, skipUnlessShared } from './helpers/shared.js';

interface FixtureCase {
  name: string;
  inputs: Record<string, Nested>;
  outputs: Record<string, Nested>;
}

const MODELS_DIR = sharedPath('fixtures', 'models');
const skip = skipUnlessShared('fixtures', 'models');
const FEEDS = ['input_ids', 'attention_mask', 'token_type_ids', 'position_ids'] as const;
/** Shortcut vs full computation: both float32, differing by rounding only. */
const SHORTCUT_TOLERANCE = 1e-5;

function configOf(name: string): Record<string, unknown> {
  return JSON.parse(readFileSync(join(MODELS_DIR, name, 'config.json'), 'utf8')) as Record<string, unknown>;
}

/**
 * Every registered sequence-classification (and multiple-choice, the same head per choice) fixture of
 * fixtures/models and fixtures/models-2 but Longformer's (its own layer loop has no shortcut), by folder path.
 */
const SEQUENCE_CLASSIFIERS = supportedModelFixtures()
  .filter(
    (f) =>
      !f.name.startsWith('longformer-') &&
      (f.task === 'sequence-classification' || f.task === 'multiple-choice'),
  )
  .map((f) => f.dir);

const LOWERINGS = [
  ['contrib ops', true],
  ['standard ops', false],
] as const;

function createSession(
  config: Record<string, unknown>,
  weights: WeightStore,
  options: BuildModelGraphOptions,
): Promise<ort.InferenceSession> {
  const { bytes } = buildModelGraph(config, weights, options);
  return ort.InferenceSession.create(bytes, { graphOptimizationLevel: 'all', intraOpNumThreads: 1 });
}

async function logitsOf(
  session: ort.InferenceSession,
  feeds: Record<string, ort.Tensor>,
): Promise<Float32Array> {
  const result = await session.run(feeds);
  return result.logits!.data as Float32Array;
}

function assertAllClose(got: Float32Array, want: Float32Array, what: string, tolerance: number): number {
  assert.equal(got.length, want.length, `${what}: length`);
  let worst = 0;
  for (let i = 0; i < got.length; i++) {
    const diff = Math.abs(got[i]! - want[i]!);
    if (!(diff <= tolerance)) assert.fail(`${what}[${i}]: ${got[i]} vs ${want[i]} (diff ${diff})`);
    worst = Math.max(worst, diff);
  }
  return worst;
}

/** Rows of sequences: one row [seq] is a batch of one; multiple choice's [batch, choices, seq] is batch·choices rows. */
function intMatrix(value: Nested): IntMatrix {
  const { data, dims } = flattenNested(value);
  const seq = dims[dims.length - 1]!;
  return { data: BigInt64Array.from(data, BigInt), dims: [data.length / seq, seq] };
}

const rowsOf = (value: Nested): number[][] => {
  const rows = value as Nested[];
  if (!Array.isArray(rows[0])) return [rows as number[]];
  return Array.isArray((rows[0] as Nested[])[0]) ? (rows as number[][][]).flat() : (rows as number[][]);
};

describe('first-token shortcut on the sequence-classification fixtures', { skip }, () => {
  test('the fixture set is the expected one', () => {
    // So that a renamed fixture folder cannot silently shrink what the tests below cover.
    for (const family of [
      'albert',
      'bert',
      'distilbert',
      'electra',
      'roberta',
      'mpnet',
      'deberta-v2',
      'xlm-roberta',
    ]) {
      assert.ok(
        SEQUENCE_CLASSIFIERS.some((dir) => basename(dir).startsWith(`${family}-`)),
        `a ${family} sequence classifier among ${SEQUENCE_CLASSIFIERS.map((dir) => basename(dir)).join(', ')}`,
      );
    }
  });

  for (const dir of SEQUENCE_CLASSIFIERS) {
    const name = basename(dir);
    test(`${name}: shortcut = full computation = PyTorch, padded and packed, both lowerings`, async () => {
      const config = JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8')) as Record<string, unknown>;
      const weights = await loadWeights(dir);
      const { cases } = JSON.parse(readFileSync(join(dir, 'expected.json'), 'utf8')) as {
        cases: FixtureCase[];
      };
      const task = taskFromConfig(config);
      let masked = 0;
      let packedCases = 0;
      const worst = { shortcutVsFull: 0, packedVsFull: 0 };
      for (const [lowering, contribOps] of LOWERINGS) {
        const sessions = new Map<string, Promise<ort.InferenceSession>>();
        const session = (options: Omit<BuildModelGraphOptions, 'task' | 'contribOps'>) => {
          const key = JSON.stringify(options);
          if (!sessions.has(key))
            sessions.set(key, createSession(config, weights, { task, contribOps, ...options }));
          return sessions.get(key)!;
        };
        for (const c of cases) {
          if (c.outputs.logits === undefined) continue;
          const what = `${name} ${lowering} ${c.name}`;
          const inputs: GraphInputSelection = {
            attentionMask: 'attention_mask' in c.inputs,
            tokenTypeIds: 'token_type_ids' in c.inputs,
            positionIds: 'position_ids' in c.inputs,
          };
          const feeds: Record<string, ort.Tensor> = {};
          for (const feed of FEEDS)
            if (c.inputs[feed] !== undefined) feeds[feed] = int64Tensor(c.inputs[feed]!);
          const shortcut = await logitsOf(await session({ inputs }), feeds);
          const full = await logitsOf(await session({ inputs, firstTokenOnly: false }), feeds);
          worst.shortcutVsFull = Math.max(
            worst.shortcutVsFull,
            assertAllClose(shortcut, full, `${what}: shortcut vs full`, SHORTCUT_TOLERANCE),
          );
          const dims = flattenNested(c.outputs.logits).dims;
          for (const [label, data] of [
            ['shortcut', shortcut],
            ['full', full],
          ] as const) {
            assertTensorClose({ dims, data }, c.outputs.logits, `${what}: ${label} vs PyTorch`, 1e-4, 1e-4);
          }

          const mask = c.inputs.attention_mask;
          if (mask !== undefined && rowsOf(mask).some((row) => row.includes(0))) masked++;
          // The packed graph needs every row to start with a real token (left padding runs padded).
          if (mask !== undefined && rowsOf(mask).some((row) => row[0] !== 1)) continue;
          const ids = intMatrix(c.inputs.input_ids!);
          const fullMask =
            mask !== undefined
              ? intMatrix(mask)
              : { data: new BigInt64Array(ids.data.length).fill(1n), dims: ids.dims };
          const positions =
            c.inputs.position_ids !== undefined
              ? intMatrix(c.inputs.position_ids)
              : intMatrix(defaultPositionIds(config, rowsOf(c.inputs.input_ids!)) as Nested);
          const packedSession = await session({ packed: true });
          const types = packedSession.inputNames.includes('token_type_ids')
            ? c.inputs.token_type_ids !== undefined
              ? intMatrix(c.inputs.token_type_ids)
              : { data: new BigInt64Array(ids.data.length), dims: ids.dims }
            : null;
          const packedFeeds = Object.fromEntries(
            Object.entries(packBatch(ids, fullMask, positions, types).feeds).map(([k, t]) => [
              k,
              new ort.Tensor('int64', t.data as BigInt64Array, t.dims),
            ]),
          );
          const packedShortcut = await logitsOf(packedSession, packedFeeds);
          const packedFull = await logitsOf(
            await session({ packed: true, firstTokenOnly: false }),
            packedFeeds,
          );
          worst.packedVsFull = Math.max(
            worst.packedVsFull,
            assertAllClose(
              packedShortcut,
              full,
              `${what}: packed shortcut vs padded full`,
              SHORTCUT_TOLERANCE,
            ),
            assertAllClose(packedFull, full, `${what}: packed full vs padded full`, SHORTCUT_TOLERANCE),
          );
          assertTensorClose(
            { dims, data: packedShortcut },
            c.outputs.logits,
            `${what}: packed vs PyTorch`,
            1e-4,
            1e-4,
          );
          packedCases++;
        }
        await Promise.all([...sessions.values()].map(async (s) => (await s).release()));
      }
      assert.ok(masked >= 2, `${name}: masked (padded) batches checked (${masked})`);
      assert.ok(packedCases >= 4, `${name}: packed cases checked (${packedCases})`);
      console.log(
        `# ${name}: max |shortcut − full| ${worst.shortcutVsFull.toExponential(2)}, packed vs padded full ${worst.packedVsFull.toExponential(2)}`,
      );
    });
  }
});

// ---------------------------------------------------------------------------------------------------------------
// Structure

interface GraphSummary {
  initializers: Map<string, number[]>;
  nodes: { opType: string; input: string[] }[];
}

function summarize(bytes: Uint8Array): GraphSummary {
  const model = ModelProto.toObject(ModelProto.decode(bytes), { longs: Number }) as {
    graph: { initializer: { name: string; dims?: number[] }[]; node: { opType: string; input?: string[] }[] };
  };
  return {
    initializers: new Map(model.graph.initializer.map((t) => [t.name, t.dims ?? []])),
    nodes: model.graph.node.map((n) => ({ opType: n.opType, input: n.input ?? [] })),
  };
}

/** The initializers from `prefix`'s weights (any derived form) that nodes of type `opType` (any when null) read. */
function weightsReadBy(summary: GraphSummary, prefix: string, opType: string | null = 'MatMul'): string[] {
  return summary.nodes
    .filter((n) => opType === null || n.opType === opType)
    .flatMap((n) => n.input)
    .filter((input) => summary.initializers.has(input) && input.includes(prefix));
}

const STRUCTURE_CASES = [
  {
    name: 'bert-seqcls',
    layer: (i: number) => `bert.encoder.layer.${i}.attention.self`,
    layers: 'num_hidden_layers',
  },
  {
    name: 'distilbert-seqcls',
    layer: (i: number) => `distilbert.transformer.layer.${i}.attention`,
    layers: 'n_layers',
  },
] as const;

describe('first-token shortcut: graph structure', { skip }, () => {
  for (const { name, layer, layers } of STRUCTURE_CASES) {
    for (const packed of [false, true]) {
      for (const [lowering, contribOps] of LOWERINGS) {
        test(`${name} (${packed ? 'packed' : 'padded'}, ${lowering}): the last layer projects no key/value per position`, async () => {
          const config = configOf(name);
          const weights = await loadWeights(join(MODELS_DIR, name));
          const count = config[layers] as number;
          const hidden = (config.hidden_size ?? config.dim) as number;
          const last = layer(count - 1);
          const isDistil = name.startsWith('distilbert');
          const [key, value] = isDistil
            ? [`${last}.k_lin`, `${last}.v_lin`]
            : [`${last}.key`, `${last}.value`];
          const build = (firstTokenOnly: boolean) =>
            summarize(
              buildModelGraph(config, weights, {
                task: 'sequence-classification',
                contribOps,
                packed,
                firstTokenOnly,
              }).bytes,
            );

          const shortcut = build(true);
          // Key and value weights only in their per-head forms, each read by exactly one MatMul.
          for (const prefix of [key, value]) {
            assert.deepEqual(weightsReadBy(shortcut, prefix), [
              prefix === key ? `${key}.weight:heads` : `${value}.weight:heads:T`,
            ]);
          }
          const headSize = hidden / ((config.num_attention_heads ?? config.n_heads) as number);
          assert.equal(shortcut.initializers.get(`${key}.weight:heads`)?.at(-1), hidden);
          assert.equal(shortcut.initializers.get(`${value}.weight:heads:T`)?.at(-1), headSize);
          // Nothing else holds the last layer's full key or value projection ([hidden, hidden] or packed QKV).
          for (const n of shortcut.initializers.keys()) {
            if (n.startsWith(last)) assert.ok(!/(key|k_lin|value|v_lin).*weight:T$|\+key\+value/.test(n), n);
          }
          // The layers before still run the ordinary projections.
          assert.ok(weightsReadBy(shortcut, `${layer(count - 2)}.`, null).length > 0);

          // The full computation reads them over every position (so the checks above can fail).
          const full = build(false);
          assert.deepEqual(
            [...full.initializers.keys()].filter((n) => n.startsWith(last) && n.includes(':heads')),
            [],
          );
          const fullWeights = weightsReadBy(full, last, null); // MatMul, or com.microsoft Attention
          assert.ok(
            fullWeights.some((n) => n.includes('+key+value') || n === `${key}.weight:T`),
            `full graph reads ${fullWeights.join(', ')}`,
          );
        });
      }
    }
  }

  test('a query subset with attention probabilities is refused', async () => {
    const name = 'bert-seqcls';
    const weights = await loadWeights(join(MODELS_DIR, name));
    const hidden = configOf(name).hidden_size as number;
    const m = new ModelGraph(weights, { contribOps: false });
    const x = m.g.input('x', 'float32', ['batch', 'sequence', hidden]);
    const queries = m.g.input('q', 'float32', ['batch', 1, hidden]);
    const prefix = 'bert.encoder.layer.0.attention.self';
    assert.throws(
      () =>
        selfAttention(m, x, new AttentionMask(m, null), {
          query: `${prefix}.query`,
          key: `${prefix}.key`,
          value: `${prefix}.value`,
          hidden,
          heads: configOf(name).num_attention_heads as number,
          maskStyle: 'add',
          scaleQueryFirst: false,
          outputProbabilities: true,
          queries,
        }),
      (e: unknown) => e instanceof RangeError && /every query position/.test(e.message),
    );
  });
});
