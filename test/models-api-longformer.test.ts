import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { InputError } from '../src/errors.js';
import { AutoModel, AutoModelForSequenceClassification, type ModelTask } from '../src/models/auto.js';
import { PretrainedConfig, SUPPORTED_MODEL_TYPES } from '../src/models/config.js';
import { defaultModelInput } from '../src/models/model-inputs.js';
import type { IntMatrix } from '../src/runtime/inputs.js';
import { toIntMatrix } from '../src/runtime/inputs.js';
import { readSharedJson, sharedPath, skipUnlessShared } from './helpers/shared.js';

const MODELS = 'fixtures/models';
const longformerSupported = SUPPORTED_MODEL_TYPES.includes('longformer');

/** What forward() feeds as global_attention_mask when the caller passes none (Longformer's declared default). */
const defaultGlobalAttentionMask = (task: ModelTask, ids: IntMatrix, config: PretrainedConfig): IntMatrix =>
  defaultModelInput('global_attention_mask', ids, config, task);

describe(
  'HF default global attention per head',
  { skip: !longformerSupported && 'longformer graphs not registered' },
  () => {
    const config = new PretrainedConfig({ model_type: 'longformer', sep_token_id: 2 });
    const ids = toIntMatrix(
      [
        [0, 10, 11, 2, 2, 20, 21, 22, 2],
        [0, 12, 2, 2, 23, 24, 2, 1, 1],
      ],
      'input_ids',
    );
    const rows = (m: { data: BigInt64Array; dims: [number, number] }) =>
      [0, 1].map((b) => Array.from(m.data.subarray(b * m.dims[1], (b + 1) * m.dims[1]), Number));

    test('sequence classification: token 0; base and token heads: none', () => {
      assert.deepEqual(rows(defaultGlobalAttentionMask('sequence-classification', ids, config)), [
        [1, 0, 0, 0, 0, 0, 0, 0, 0],
        [1, 0, 0, 0, 0, 0, 0, 0, 0],
      ]);
      for (const task of ['base', 'token-classification', 'masked-lm'] as const) {
        assert.ok(
          defaultGlobalAttentionMask(task, ids, config).data.every((v) => v === 0n),
          task,
        );
      }
    });

    test('question answering: the question (tokens before the first separator); exactly 3 separators needed', () => {
      assert.deepEqual(rows(defaultGlobalAttentionMask('question-answering', ids, config)), [
        [1, 1, 1, 0, 0, 0, 0, 0, 0],
        [1, 1, 0, 0, 0, 0, 0, 0, 0],
      ]);
      const twoSeps = toIntMatrix([[0, 10, 2, 20, 2]], 'input_ids');
      assert.throws(
        () => defaultGlobalAttentionMask('question-answering', twoSeps, config),
        (e: unknown) => e instanceof InputError && /row 0 has 2 separator tokens/.test(e.message),
      );
    });
  },
);

describe(
  'global_attention_mask through forward()',
  {
    skip: !longformerSupported ? 'longformer graphs not registered' : skipUnlessShared(MODELS),
  },
  () => {
    test('explicit masks reproduce PyTorch; bad masks and non-Longformer models are refused', async () => {
      const model = await AutoModel.fromPretrained(sharedPath(MODELS, 'longformer-model'), {
        cacheDir: false,
        threads: 1,
      });
      const c = readSharedJson<{
        cases: Array<{
          name: string;
          inputs: Record<string, number[][]>;
          outputs: Record<string, number[][][]>;
        }>;
      }>(MODELS, 'longformer-model', 'expected.json').cases.find((x) => x.name === 'global_attention')!;
      const out = await model.forward({
        input_ids: c.inputs.input_ids!,
        attention_mask: c.inputs.attention_mask!,
        globalAttentionMask: c.inputs.global_attention_mask!,
      });
      const expected = c.outputs.last_hidden_state!.flat(2);
      out.last_hidden_state!.data.forEach((v, i) =>
        assert.ok(Math.abs(v - expected[i]!) <= 1e-4 + 1e-4 * Math.abs(expected[i]!)),
      );
      const ids = c.inputs.input_ids!;
      await assert.rejects(
        model.forward({ input_ids: ids, global_attention_mask: ids.map((r) => r.map(() => 2)) }),
        (e: unknown) =>
          e instanceof InputError && e.argument === 'global_attention_mask' && /not 0 or 1/.test(e.message),
      );
      await assert.rejects(
        model.forward({ input_ids: ids, global_attention_mask: [[1]] }),
        (e: unknown) => e instanceof InputError && /does not match input_ids/.test(e.message),
      );
      await model.dispose();
      const bert = await AutoModelForSequenceClassification.fromPretrained(
        sharedPath(MODELS, 'bert-seqcls'),
        {
          cacheDir: false,
          threads: 1,
        },
      );
      await assert.rejects(
        bert.forward({ input_ids: [[2, 5, 3]], global_attention_mask: [[1, 0, 0]] }),
        (e: unknown) => e instanceof InputError && e.argument === 'global_attention_mask',
      );
      await bert.dispose();
    });
  },
);
