/**
 * Every model fixture (tiny seeded HF checkpoints with PyTorch reference outputs, see ../shared/fixtures/README.md)
 * run through buildModelGraph + ONNX Runtime, in both lowerings (com.microsoft fused kernels and standard ONNX
 * ops). Each case's graph takes exactly the inputs the case passed to forward(), so the in-graph defaults of
 * absent inputs are checked too. Every folder of fixtures/models and fixtures/models-2 runs; a folder whose
 * model_type or head is not registered yet is skipped, naming it. Longformer has its own attention and tests.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import test from 'node:test';
import * as ort from 'onnxruntime-node';
import { buildModelGraph, taskFromConfig, type GraphInputSelection } from '../src/models/index.js';
import { loadWeights } from '../src/weights/load.js';
import type { WeightStore } from '../src/weights/types.js';
import { modelFixtures } from './helpers/model-fixtures.js';
import { skipUnlessShared } from './helpers/shared.js';
import { assertTensorClose, int64Tensor, type Nested } from './helpers/nested-tensors.js';

interface FixtureCase {
  name: string;
  inputs: Record<string, Nested>;
  options?: { output_hidden_states?: boolean; output_attentions?: boolean };
  outputs: Record<string, Nested | Nested[]>;
}

const skip = skipUnlessShared('fixtures', 'models');
const FEEDS = ['input_ids', 'attention_mask', 'token_type_ids', 'position_ids'] as const;
/** Outputs the graph does not produce: losses are computed by the API layer from the logits. */
const NOT_IN_GRAPH = new Set(['loss']);

class ModelRunner {
  private readonly sessions = new Map<string, Promise<ort.InferenceSession>>();

  constructor(
    readonly config: Record<string, unknown>,
    readonly weights: WeightStore,
  ) {}

  session(selection: GraphInputSelection, hidden: boolean, attentions: boolean, contribOps: boolean) {
    const key = JSON.stringify([selection, hidden, attentions, contribOps]);
    let session = this.sessions.get(key);
    if (!session) {
      const { bytes } = buildModelGraph(this.config, this.weights, {
        task: taskFromConfig(this.config),
        inputs: selection,
        outputHiddenStates: hidden,
        outputAttentions: attentions,
        contribOps,
      });
      session = ort.InferenceSession.create(bytes, { graphOptimizationLevel: 'all', intraOpNumThreads: 1 });
      this.sessions.set(key, session);
    }
    return session;
  }

  async run(c: FixtureCase, contribOps: boolean): Promise<ort.InferenceSession.ReturnType> {
    const selection: GraphInputSelection = {
      attentionMask: 'attention_mask' in c.inputs,
      tokenTypeIds: 'token_type_ids' in c.inputs,
      positionIds: 'position_ids' in c.inputs,
    };
    const session = await this.session(
      selection,
      c.options?.output_hidden_states ?? false,
      c.options?.output_attentions ?? false,
      contribOps,
    );
    const feeds: Record<string, ort.Tensor> = {};
    for (const name of FEEDS) if (c.inputs[name] !== undefined) feeds[name] = int64Tensor(c.inputs[name]!);
    assert.deepEqual(Object.keys(feeds).sort(), [...session.inputNames].sort(), `${c.name}: graph inputs`);
    return session.run(feeds);
  }
}

/** Outputs with one vector per token ([batch, sequence, …]); the rest have one per sequence. */
function isTokenLevel(name: string, task: string): boolean {
  if (name === 'logits') return task === 'token-classification' || task === 'masked-lm';
  return name !== 'pooler_output';
}

const fixtures = modelFixtures().filter((f) => !f.name.startsWith('longformer-'));

test(
  'every fixture folder of models/ and models-2/ runs (no unregistered model_type or head)',
  { skip },
  () => {
    const all = modelFixtures();
    assert.ok(all.length >= 46, `${all.length} fixture folders`);
    assert.deepEqual(
      all.filter((f) => f.skip).map((f) => `${f.label}: ${f.skip}`),
      [],
    );
  },
);

for (const lowering of ['contrib ops', 'standard ops'] as const) {
  const contribOps = lowering === 'contrib ops';
  test(`model fixtures match PyTorch (${lowering})`, { skip }, async (t) => {
    for (const { label: modelName, dir, config, skip: unsupported } of fixtures) {
      await t.test(modelName, { skip: unsupported }, async () => {
        const expected = JSON.parse(readFileSync(join(dir, 'expected.json'), 'utf8')) as {
          cases: FixtureCase[];
        };
        const runner = new ModelRunner(config, await loadWeights(dir));
        const worst = { outputs: 0, attentions: 0, paddedVsSingle: 0 };
        const results = new Map<string, ort.InferenceSession.ReturnType>();

        for (const c of expected.cases) {
          const got = await runner.run(c, contribOps);
          results.set(c.name, got);
          for (const [name, value] of Object.entries(c.outputs)) {
            if (NOT_IN_GRAPH.has(name)) continue;
            if (name === 'hidden_states' || name === 'attentions') {
              const isAttention = name === 'attentions';
              (value as Nested[]).forEach((layer, i) => {
                const output = got[`${name}.${i}`];
                assert.ok(output, `${c.name}: missing output ${name}.${i}`);
                const diff = isAttention
                  ? assertTensorClose(output, layer, `${c.name} ${name}.${i}`, 1e-5, 0)
                  : assertTensorClose(output, layer, `${c.name} ${name}.${i}`, 1e-4, 1e-4);
                if (isAttention) worst.attentions = Math.max(worst.attentions, diff);
                else worst.outputs = Math.max(worst.outputs, diff);
              });
              assert.equal(
                got[`${name}.${(value as Nested[]).length}`],
                undefined,
                `${c.name}: too many ${name}`,
              );
            } else {
              assert.ok(got[name], `${c.name}: missing output ${name}`);
              worst.outputs = Math.max(
                worst.outputs,
                assertTensorClose(got[name]!, value as Nested, `${c.name} ${name}`, 1e-4, 1e-4),
              );
            }
          }
        }

        // Padded rows equal the same sequences run alone, on their real positions (pooled outputs included).
        const padded = expected.cases.find((c) => c.name === 'batch_padded');
        if (padded) {
          const lengths = (padded.inputs.attention_mask as number[][]).map((row) =>
            row.reduce((a, b) => a + b, 0),
          );
          const paddedResult = results.get('batch_padded')!;
          let compared = 0;
          lengths.forEach((length, row) => {
            const single = results.get(`batch_row${row}_unpadded`);
            assert.ok(single, `batch_row${row}_unpadded case`);
            for (const name of Object.keys(single)) {
              const tokenLevel = isTokenLevel(name, taskFromConfig(config));
              const perRow = (t: ort.Tensor, r: number): Float32Array => {
                const size = (t.data as Float32Array).length / (t.dims[0] as number);
                const rowData = (t.data as Float32Array).subarray(r * size, (r + 1) * size);
                if (!tokenLevel) return rowData;
                return rowData.subarray(0, (size / (t.dims[1] as number)) * length);
              };
              const a = perRow(paddedResult[name]!, row);
              const b = perRow(single[name]!, 0);
              assert.equal(a.length, b.length, `${name} row ${row}: compared lengths`);
              assert.ok(a.length > 0, `${name} row ${row}: nothing compared`);
              compared++;
              for (let i = 0; i < a.length; i++) {
                const diff = Math.abs(a[i]! - b[i]!);
                assert.ok(diff <= 1e-5, `${name} row ${row} [${i}]: padded ${a[i]} vs alone ${b[i]}`);
                worst.paddedVsSingle = Math.max(worst.paddedVsSingle, diff);
              }
            }
          });
          assert.ok(compared >= 3, 'padded rows compared with their single runs');
        }
        console.log(
          `# ${modelName} (${lowering}): max |diff| outputs ${worst.outputs.toExponential(2)}, attentions ${worst.attentions.toExponential(2)}, padded vs alone ${worst.paddedVsSingle.toExponential(2)}`,
        );
      });
    }
  });
}
