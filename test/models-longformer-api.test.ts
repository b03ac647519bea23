/**
 * Longformer through the model API: every fixture case of longformer-model (AutoModel) and longformer-seqcls
 * (AutoModelForSequenceClassification) with the case's own arguments (`globalAttentionMask` in camelCase where the
 * case passed one, HF's per-head default otherwise), hidden states, attentions, global attentions and the loss.
 */
import assert from 'node:assert/strict';
import test from 'node:test';
import { AutoModel, AutoModelForSequenceClassification, type ModelOutput } from '../src/models/auto.js';
import { readSharedJson, sharedPath, skipUnlessShared } from './helpers/shared.js';
import { assertTensorClose, type Nested } from './helpers/nested-tensors.js';

interface FixtureCase {
  name: string;
  inputs: Record<string, Nested>;
  outputs: Record<string, Nested>;
}

const MODELS = 'fixtures/models';

for (const [folder, loader] of [
  ['longformer-model', AutoModel],
  ['longformer-seqcls', AutoModelForSequenceClassification],
] as const) {
  test(
    `${folder} through ${loader === AutoModel ? 'AutoModel' : 'AutoModelForSequenceClassification'}`,
    {
      skip: skipUnlessShared(MODELS, folder),
    },
    async () => {
      const { cases } = readSharedJson<{ cases: FixtureCase[] }>(MODELS, folder, 'expected.json');
      const model = await loader.fromPretrained(sharedPath(MODELS, folder), {
        cacheDir: false,
        threads: 1,
        outputHiddenStates: true,
        outputAttentions: true,
      });
      const worst = { outputs: 0, attentions: 0 };
      try {
        for (const c of cases) {
          const out: ModelOutput = await model.forward({
            inputIds: c.inputs.input_ids as number[][],
            attentionMask: c.inputs.attention_mask as number[][] | undefined,
            globalAttentionMask: c.inputs.global_attention_mask as number[][] | undefined,
            labels: c.inputs.labels,
          });
          for (const [name, value] of Object.entries(c.outputs)) {
            if (name === 'loss') {
              assert.ok(out.loss !== undefined, `${c.name}: loss`);
              const diff = Math.abs(out.loss - (value as number));
              assert.ok(
                diff <= 1e-4 + 1e-4 * Math.abs(value as number),
                `${c.name} loss ${out.loss} vs ${String(value)}`,
              );
              worst.outputs = Math.max(worst.outputs, diff);
            } else if (name === 'hidden_states' || name === 'attentions' || name === 'global_attentions') {
              const layers = out[name];
              assert.equal(layers?.length, (value as Nested[]).length, `${c.name}: ${name} count`);
              (value as Nested[]).forEach((layer, i) => {
                const isProbability = name !== 'hidden_states';
                const diff = assertTensorClose(
                  layers![i]!,
                  layer,
                  `${c.name} ${name}.${i}`,
                  isProbability ? 1e-5 : 1e-4,
                  isProbability ? 0 : 1e-4,
                );
                if (isProbability) worst.attentions = Math.max(worst.attentions, diff);
                else worst.outputs = Math.max(worst.outputs, diff);
              });
            } else {
              const got = out[name as 'logits' | 'last_hidden_state' | 'pooler_output'];
              assert.ok(got, `${c.name}: missing ${name}`);
              worst.outputs = Math.max(
                worst.outputs,
                assertTensorClose(got, value, `${c.name} ${name}`, 1e-4, 1e-4),
              );
            }
          }
          // HF returns no global attentions when no row has a global token: here they have no columns.
          if ('attentions' in c.outputs && !('global_attentions' in c.outputs)) {
            assert.ok(
              (out.global_attentions ?? []).every((t) => t.dims[3] === 0 && t.data.length === 0),
              `${c.name}: no global attention columns`,
            );
          }
        }
      } finally {
        await model.dispose();
      }
      console.log(
        `# ${folder} via the model API: max |diff| outputs ${worst.outputs.toExponential(2)}, attentions ${worst.attentions.toExponential(2)}`,
      );
    },
  );
}
