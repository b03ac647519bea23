/**
 * DistilBERT specifics not covered by the fixture sweep: the sinusoidal position table (checked against the one
 * transformers saved in the file, and used when a file lacks it).
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import test from 'node:test';
import * as ort from 'onnxruntime-node';
import { WeightsError } from '../src/errors.js';
import { sinusoidalTable } from '../src/models/distilbert.js';
import { buildModelGraph } from '../src/models/index.js';
import { loadWeights } from '../src/weights/load.js';
import type { WeightStore } from '../src/weights/types.js';
import { sharedPath, skipUnlessShared } from './helpers/shared.js';

const dir = sharedPath('fixtures', 'models', 'distilbert-sinusoidal');
const skip = skipUnlessShared('fixtures', 'models', 'distilbert-sinusoidal');
const TABLE = 'embeddings.position_embeddings.weight';

test(
  'the sinusoidal table equals the one create_sinusoidal_embeddings wrote to the checkpoint',
  { skip },
  async () => {
    const weights = await loadWeights(dir);
    const stored = weights.getFloat32(TABLE, [64, 32]).data;
    const computed = sinusoidalTable(64, 32);
    let mismatches = 0;
    let worst = 0;
    for (let i = 0; i < stored.length; i++) {
      const diff = Math.abs(stored[i]! - computed[i]!);
      if (diff > 0) mismatches++;
      worst = Math.max(worst, diff);
    }
    // Both round a float64 sin/cos to float32; libm differences can flip the last bit of a rare element.
    assert.ok(worst <= 6e-8, `largest difference ${worst}`);
    assert.ok(mismatches <= stored.length / 100, `${mismatches} elements differ`);
    // Row 1 spot check by hand: column 0 = sin(1), column 1 = cos(1).
    assert.equal(computed[32], Math.fround(Math.sin(1)));
    assert.equal(computed[33], Math.fround(Math.cos(1)));
  },
);

test(
  'with sinusoidal_pos_embds and no table in the file, the computed table gives the fixture outputs',
  { skip },
  async () => {
    const weights = await loadWeights(dir);
    const withoutTable: WeightStore = {
      files: weights.files,
      names: () => weights.names().filter((n) => n !== TABLE),
      has: (n) => n !== TABLE && weights.has(n),
      info: (n) => (n === TABLE ? undefined : weights.info(n)),
      // Reading the hidden table throws the store's WeightsError (the build would then fail).
      getFloat32: (n, shape) => weights.getFloat32(n === TABLE ? `${n} (hidden by the test)` : n, shape),
    };
    const config = JSON.parse(readFileSync(`${dir}/config.json`, 'utf8')) as Record<string, unknown>;
    const expected = JSON.parse(readFileSync(`${dir}/expected.json`, 'utf8')) as {
      cases: {
        name: string;
        inputs: { input_ids: number[][]; attention_mask: number[][] };
        outputs: { last_hidden_state: number[][][] };
      }[];
    };
    const padded = expected.cases.find((c) => c.name === 'batch_padded')!;
    const session = await ort.InferenceSession.create(
      buildModelGraph(config, withoutTable, { task: 'base' }).bytes,
    );
    const tensor = (rows: number[][]) =>
      new ort.Tensor('int64', BigInt64Array.from(rows.flat().map(BigInt)), [rows.length, rows[0]!.length]);
    const out = await session.run({
      input_ids: tensor(padded.inputs.input_ids),
      attention_mask: tensor(padded.inputs.attention_mask),
    });
    const got = out.last_hidden_state!.data as Float32Array;
    const want = padded.outputs.last_hidden_state.flat(2);
    assert.equal(got.length, want.length);
    want.forEach((w, i) =>
      assert.ok(Math.abs(got[i]! - w) <= 1e-4 + 1e-4 * Math.abs(w), `[${i}] ${got[i]} vs ${w}`),
    );
    // Without the flag a missing table is an error, as it would be in transformers.
    assert.throws(
      () => buildModelGraph({ ...config, sinusoidal_pos_embds: false }, withoutTable, { task: 'base' }),
      (e: unknown) => e instanceof WeightsError && e.field === `${TABLE} (hidden by the test)`,
    );
  },
);
