/**
 * `chunk_size_feed_forward`: the feed-forward runs as a Loop over chunks of positions, and every output equals the
 * one-piece graph within float32 rounding, 2e-6 + 1e-6·|x| (padded and packed layouts, both lowerings), for chunks that divide the sequence and
 * chunks that do not.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { ConfigError } from '../src/errors.js';
import { buildModelGraph, taskFromConfig } from '../src/models/index.js';
import type { IntMatrix } from '../src/runtime/inputs.js';
import { packBatch } from '../src/runtime/packed.js';
import { OnnxSession, type NamedTensor } from '../src/runtime/session.js';
import { loadWeights } from '../src/weights/load.js';
import { readSharedJson, sharedPath, skipUnlessShared } from './helpers/shared.js';

const MODELS = 'fixtures/models';
const CHECKPOINTS = ['bert-seqcls', 'distilbert-tokcls', 'albert-model', 'roberta-mlm', 'electra-model'];

interface FixtureCase {
  name: string;
  inputs: Record<string, number[][]>;
}

const int64 = (rows: number[][]): NamedTensor => ({
  type: 'int64',
  data: BigInt64Array.from(rows.flat(), BigInt),
  dims: [rows.length, rows[0]!.length],
});

async function run(bytes: Uint8Array, feeds: Record<string, NamedTensor>, dir: string) {
  const session = await OnnxSession.create(bytes, {}, dir);
  try {
    return await session.run(feeds);
  } finally {
    await session.release();
  }
}

function assertWithin(a: Record<string, NamedTensor>, b: Record<string, NamedTensor>, what: string): void {
  assert.deepEqual(Object.keys(b).sort(), Object.keys(a).sort());
  for (const [name, x] of Object.entries(a)) {
    const y = b[name]!;
    assert.deepEqual(y.dims, x.dims, `${what} ${name}: dims`);
    for (let i = 0; i < x.data.length; i++) {
      const d = Math.abs((x.data[i] as number) - (y.data[i] as number));
      // Matrix kernels round differently for a 1-row chunk than for a whole sequence (largest seen: 1.2e-6).
      if (!(d <= 2e-6 + 1e-6 * Math.abs(x.data[i] as number)))
        assert.fail(`${what} ${name}[${i}]: ${x.data[i]} vs ${y.data[i]}`);
    }
  }
}

describe('chunk_size_feed_forward', { skip: skipUnlessShared(MODELS) }, () => {
  for (const name of CHECKPOINTS) {
    test(`${name}: chunks of 1, 3 and 4 positions equal the one-piece graph (padded and packed)`, async () => {
      const dir = sharedPath(MODELS, name);
      const config = JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8')) as Record<string, unknown>;
      const weights = await loadWeights(dir);
      const task = taskFromConfig(config);
      const c = readSharedJson<{ cases: FixtureCase[] }>(MODELS, name, 'expected.json').cases.find(
        (x) => x.name === 'batch_padded',
      )!;
      const feeds = {
        input_ids: int64(c.inputs.input_ids!),
        attention_mask: int64(c.inputs.attention_mask!),
      };
      const matrixOf = (t: NamedTensor): IntMatrix => ({
        data: t.data as BigInt64Array,
        dims: [t.dims[0]!, t.dims[1]!],
      });
      const ids = matrixOf(feeds.input_ids);
      const mask = matrixOf(feeds.attention_mask);
      const arange = int64(c.inputs.input_ids!.map((row) => row.map((_, j) => j)));
      const positions = config.model_type === 'roberta' ? null : matrixOf(arange);
      for (const contribOps of [true, false]) {
        const options = { task, contribOps, outputHiddenStates: true, inputs: { tokenTypeIds: false } };
        const whole = buildModelGraph(config, weights, options);
        const want = await run(whole.bytes, feeds, dir);
        for (const chunk of [1, 3, 4]) {
          const chunked = { ...config, chunk_size_feed_forward: chunk };
          const graph = buildModelGraph(chunked, weights, options);
          assert.ok(graph.bytes.length > whole.bytes.length, 'the chunked graph has its Loop bodies');
          assertWithin(want, await run(graph.bytes, feeds, dir), `${name} chunk ${chunk} ops ${contribOps}`);
          if (!positions) continue; // packed RoBERTa positions are covered in models-packed.test.ts
          const plan = packBatch(ids, mask, positions, null);
          const packedWhole = await run(
            buildModelGraph(config, weights, { ...options, packed: true }).bytes,
            plan.feeds,
            dir,
          );
          const packedChunked = await run(
            buildModelGraph(chunked, weights, { ...options, packed: true }).bytes,
            plan.feeds,
            dir,
          );
          assertWithin(packedWhole, packedChunked, `${name} packed chunk ${chunk} ops ${contribOps}`);
        }
      }
    });
  }

  test('a negative chunk size is a ConfigError naming the field', async () => {
    const dir = sharedPath(MODELS, 'bert-model');
    const config = JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8')) as Record<string, unknown>;
    const weights = await loadWeights(dir);
    for (const value of [-1, 1.5, 'x']) {
      assert.throws(
        () => buildModelGraph({ ...config, chunk_size_feed_forward: value }, weights, { task: 'base' }),
        (e: unknown) => e instanceof ConfigError && e.field === 'chunk_size_feed_forward',
      );
    }
  });
});
