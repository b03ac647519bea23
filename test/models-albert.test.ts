/**
 * ALBERT's layer sharing beyond the fixture's single group: num_hidden_groups > 1 and inner_group_num > 1. The
 * fixture applies one layer twice, so checkpoints whose extra groups or inner layers hold copies of that layer must
 * reproduce the fixture's PyTorch outputs, with hidden_states/attentions counted the way AlbertTransformer does.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import test from 'node:test';
import * as ort from 'onnxruntime-node';
import { WeightsError } from '../src/errors.js';
import { buildModelGraph } from '../src/models/index.js';
import { loadWeights } from '../src/weights/load.js';
import type { WeightStore } from '../src/weights/types.js';
import { sharedPath, skipUnlessShared } from './helpers/shared.js';

const skip = skipUnlessShared('fixtures', 'models', 'albert-model');
const GROUP0 = 'encoder.albert_layer_groups.0.albert_layers.0.';

/** `store` plus aliases: every name under an alias prefix reads the tensor under its source prefix. */
function withAliases(store: WeightStore, aliases: Record<string, string>): WeightStore {
  const source = (name: string): string => {
    for (const [alias, target] of Object.entries(aliases))
      if (name.startsWith(alias)) return target + name.slice(alias.length);
    return name;
  };
  const extra = store
    .names()
    .flatMap((n) =>
      Object.entries(aliases).flatMap(([alias, target]) =>
        n.startsWith(target) ? [alias + n.slice(target.length)] : [],
      ),
    );
  return {
    files: store.files,
    names: () => [...store.names(), ...extra],
    has: (n) => store.has(source(n)),
    info: (n) => store.info(source(n)),
    getFloat32: (n, shape) => store.getFloat32(source(n), shape),
  };
}

interface Case {
  name: string;
  inputs: { input_ids: number[][]; attention_mask: number[][] };
  outputs: { last_hidden_state: number[][][]; hidden_states: number[][][][]; attentions: number[][][][][] };
}

async function run(config: Record<string, unknown>, weights: WeightStore, c: Case) {
  const { bytes } = buildModelGraph(config, weights, {
    task: 'base',
    inputs: { attentionMask: true, tokenTypeIds: false },
    outputHiddenStates: true,
    outputAttentions: true,
    contribOps: false,
  });
  const session = await ort.InferenceSession.create(bytes);
  const tensor = (rows: number[][]) =>
    new ort.Tensor('int64', BigInt64Array.from(rows.flat().map(BigInt)), [rows.length, rows[0]!.length]);
  return session.run({
    input_ids: tensor(c.inputs.input_ids),
    attention_mask: tensor(c.inputs.attention_mask),
  });
}

function assertClose(
  got: ort.Tensor | undefined,
  expected: unknown,
  what: string,
  atol: number,
  rtol: number,
): void {
  assert.ok(got, `${what}: missing`);
  const want = (expected as number[]).flat(Infinity as 1) as number[];
  const data = got.data as Float32Array;
  assert.equal(data.length, want.length, `${what}: size`);
  want.forEach((w, i) => {
    const e = Math.fround(w);
    assert.ok(Math.abs(data[i]! - e) <= atol + rtol * Math.abs(e), `${what}[${i}]: ${data[i]} vs ${e}`);
  });
}

async function fixture() {
  const dir = sharedPath('fixtures', 'models', 'albert-model');
  const config = JSON.parse(readFileSync(`${dir}/config.json`, 'utf8')) as Record<string, unknown>;
  const expected = JSON.parse(readFileSync(`${dir}/expected.json`, 'utf8')) as { cases: Case[] };
  return {
    config,
    weights: await loadWeights(dir),
    padded: expected.cases.find((c) => c.name === 'batch_padded')!,
  };
}

test('num_hidden_groups: application i runs group ⌊i / (layers / groups)⌋', { skip }, async () => {
  const { config, weights, padded } = await fixture();
  const twoGroups = { ...config, num_hidden_groups: 2 };
  const copied = withAliases(weights, { 'encoder.albert_layer_groups.1.': 'encoder.albert_layer_groups.0.' });
  const out = await run(twoGroups, copied, padded);
  assertClose(out.last_hidden_state, padded.outputs.last_hidden_state, 'last_hidden_state', 1e-4, 1e-4);
  // Without group 1's tensors the second application has nothing to run: the error names a group-1 tensor.
  assert.throws(
    () => buildModelGraph(twoGroups, weights, { task: 'base' }),
    (e: unknown) =>
      e instanceof WeightsError && e.field!.startsWith('encoder.albert_layer_groups.1.albert_layers.0.'),
  );
});

test(
  'inner_group_num: a group runs its layers in sequence; one hidden state per group, one attention per layer',
  { skip },
  async () => {
    const { config, weights, padded } = await fixture();
    // One application of a group holding two copies of the fixture's layer = the fixture's two applications.
    const inner = { ...config, num_hidden_layers: 1, inner_group_num: 2 };
    const copied = withAliases(weights, { 'encoder.albert_layer_groups.0.albert_layers.1.': GROUP0 });
    const out = await run(inner, copied, padded);
    assertClose(out.last_hidden_state, padded.outputs.last_hidden_state, 'last_hidden_state', 1e-4, 1e-4);
    assertClose(out['hidden_states.0'], padded.outputs.hidden_states[0], 'hidden_states.0', 1e-4, 1e-4);
    assertClose(out['hidden_states.1'], padded.outputs.hidden_states[2], 'hidden_states.1', 1e-4, 1e-4);
    assert.equal(out['hidden_states.2'], undefined);
    assertClose(out['attentions.0'], padded.outputs.attentions[0], 'attentions.0', 1e-5, 0);
    assertClose(out['attentions.1'], padded.outputs.attentions[1], 'attentions.1', 1e-5, 0);
  },
);
