/**
 * BERT graph details beyond the fixture sweep: a head checkpoint (weights under `bert.`) read as a base model,
 * masked keys getting probability exactly 0, and config fields that must not change the numbers.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import test from 'node:test';
import * as ort from 'onnxruntime-node';
import { buildModelGraph, type BuildModelGraphOptions } from '../src/models/index.js';
import { loadWeights } from '../src/weights/load.js';
import { sharedPath, skipUnlessShared } from './helpers/shared.js';

const skip = skipUnlessShared('fixtures', 'models', 'bert-seqcls');

interface Case {
  name: string;
  inputs: { input_ids: number[][]; attention_mask?: number[][] };
  outputs: Record<string, unknown>;
}

async function load(model: string) {
  const dir = sharedPath('fixtures', 'models', model);
  const config = JSON.parse(readFileSync(`${dir}/config.json`, 'utf8')) as Record<string, unknown>;
  const expected = JSON.parse(readFileSync(`${dir}/expected.json`, 'utf8')) as { cases: Case[] };
  const padded = expected.cases.find((c) => c.name === 'batch_padded')!;
  return { config, weights: await loadWeights(dir), padded };
}

async function run(bytes: Uint8Array, c: Case): Promise<ort.InferenceSession.ReturnType> {
  const session = await ort.InferenceSession.create(bytes);
  const tensor = (rows: number[][]) =>
    new ort.Tensor('int64', BigInt64Array.from(rows.flat().map(BigInt)), [rows.length, rows[0]!.length]);
  const feeds: Record<string, ort.Tensor> = { input_ids: tensor(c.inputs.input_ids) };
  if (c.inputs.attention_mask) feeds.attention_mask = tensor(c.inputs.attention_mask);
  return session.run(feeds);
}

const baseOnly: BuildModelGraphOptions = { task: 'base', inputs: { tokenTypeIds: false } };

test(
  'a head checkpoint read as a base model: pooler_output · classifierᵀ + b gives the fixture logits',
  { skip },
  async () => {
    const { config, weights, padded } = await load('bert-seqcls');
    const out = await run(buildModelGraph(config, weights, baseOnly).bytes, padded);
    const pooled = out.pooler_output!;
    assert.deepEqual(pooled.dims, [3, 32]);
    const w = weights.getFloat32('classifier.weight', [3, 32]).data;
    const b = weights.getFloat32('classifier.bias', [3]).data;
    const expected = padded.outputs.logits as number[][];
    const p = pooled.data as Float32Array;
    for (let row = 0; row < 3; row++) {
      for (let label = 0; label < 3; label++) {
        let logit = b[label]!;
        for (let k = 0; k < 32; k++) logit += p[row * 32 + k]! * w[label * 32 + k]!;
        const want = expected[row]![label]!;
        assert.ok(
          Math.abs(logit - want) <= 1e-4 + 1e-4 * Math.abs(want),
          `row ${row} label ${label}: ${logit} vs ${want}`,
        );
      }
    }
  },
);

test('masked keys get attention probability exactly 0 and every query row sums to 1', { skip }, async () => {
  const { config, weights, padded } = await load('bert-model');
  const { bytes } = buildModelGraph(config, weights, { ...baseOnly, outputAttentions: true });
  const out = await run(bytes, padded);
  const mask = padded.inputs.attention_mask!;
  const seq = mask[0]!.length;
  for (const layer of [0, 1]) {
    const probs = out[`attentions.${layer}`]!;
    assert.deepEqual(probs.dims, [3, 4, seq, seq]);
    const data = probs.data as Float32Array;
    for (let b = 0; b < 3; b++) {
      for (let h = 0; h < 4; h++) {
        for (let q = 0; q < seq; q++) {
          const row = data.subarray(((b * 4 + h) * seq + q) * seq, ((b * 4 + h) * seq + q + 1) * seq);
          mask[b]!.forEach((m, k) => {
            if (m === 0) assert.equal(row[k], 0, `layer ${layer} batch ${b} head ${h} query ${q} key ${k}`);
          });
          assert.ok(Math.abs(row.reduce((a, v) => a + v, 0) - 1) < 1e-6);
        }
      }
    }
  }
});

test('chunk_size_feed_forward only saves memory in PyTorch: accepted, same outputs', { skip }, async () => {
  const { config, weights, padded } = await load('bert-model');
  const out = await run(
    buildModelGraph({ ...config, chunk_size_feed_forward: 2 }, weights, baseOnly).bytes,
    padded,
  );
  const want = (padded.outputs.last_hidden_state as number[][][]).flat(2);
  const got = out.last_hidden_state!.data as Float32Array;
  want.forEach((w, i) => assert.ok(Math.abs(got[i]! - w) <= 1e-4 + 1e-4 * Math.abs(w)));
});
