/**
 * What buildModelGraph refuses, and how it says so: unsupported or malformed config fields (ConfigError naming the
 * field), missing or misshaped tensors (WeightsError naming the tensor) and inputs a model cannot take
 * (InputError naming the option). Plus the small helpers around it.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import test from 'node:test';
import { ConfigError, InputError, WeightsError } from '../src/errors.js';
import {
  buildModelGraph,
  defaultPositionIds,
  graphInputNames,
  maxSequenceLength,
  taskFromConfig,
  type BuildModelGraphOptions,
} from '../src/models/index.js';
import { REGISTERED_MODEL_TYPES } from '../src/models/registry.js';
import { loadWeights } from '../src/weights/load.js';
import type { WeightStore } from '../src/weights/types.js';
import { sharedPath, skipUnlessShared } from './helpers/shared.js';

const skip = skipUnlessShared('fixtures', 'models');
const readConfig = (model: string): Record<string, unknown> =>
  JSON.parse(readFileSync(sharedPath('fixtures', 'models', model, 'config.json'), 'utf8')) as Record<
    string,
    unknown
  >;

/** The same store without the tensors in `hidden`. */
function without(store: WeightStore, hidden: string[]): WeightStore {
  const gone = new Set(hidden);
  return {
    files: store.files,
    names: () => store.names().filter((n) => !gone.has(n)),
    has: (n) => !gone.has(n) && store.has(n),
    info: (n) => (gone.has(n) ? undefined : store.info(n)),
    getFloat32: (n, shape) => store.getFloat32(gone.has(n) ? `${n} (hidden by the test)` : n, shape),
  };
}

function configError(field: string, message?: RegExp) {
  return (e: unknown) =>
    e instanceof ConfigError &&
    e.field === field &&
    e.file === 'config.json' &&
    (!message || message.test(e.message));
}

const base: BuildModelGraphOptions = { task: 'base' };

test('config fields that change the math are validated, naming the field', { skip }, async () => {
  const weights = await loadWeights(sharedPath('fixtures', 'models', 'bert-model'));
  const bert = readConfig('bert-model');
  const build = (patch: Record<string, unknown>) => buildModelGraph({ ...bert, ...patch }, weights, base);

  assert.throws(
    () => build({ model_type: 'gpt2' }),
    configError('model_type', /"gpt2" is not supported.*bert/),
  );
  assert.throws(() => build({ model_type: undefined }), configError('model_type'));
  assert.throws(() => build({ hidden_act: 'gelu_10' }), configError('hidden_act', /unsupported activation/));
  assert.throws(
    () => build({ position_embedding_type: 'relative_key' }),
    configError('position_embedding_type', /"relative_key" position embeddings are not supported/),
  );
  assert.throws(() => build({ is_decoder: true }), configError('is_decoder'));
  assert.throws(() => build({ hidden_size: '32' }), configError('hidden_size', /positive integer/));
  assert.throws(() => build({ layer_norm_eps: 'tiny' }), configError('layer_norm_eps'));
  assert.throws(
    () => build({ num_attention_heads: 5 }),
    configError('num_attention_heads', /not a multiple/),
  );

  const distilWeights = await loadWeights(sharedPath('fixtures', 'models', 'distilbert-model'));
  assert.throws(
    () => buildModelGraph({ ...readConfig('distilbert-model'), activation: 'gelu_2' }, distilWeights, base),
    configError('activation'),
  );
  const albertWeights = await loadWeights(sharedPath('fixtures', 'models', 'albert-model'));
  assert.throws(
    () => buildModelGraph({ ...readConfig('albert-model'), num_hidden_groups: 3 }, albertWeights, base),
    configError('num_hidden_groups'),
  );
});

test('missing and misshaped tensors are WeightsErrors naming the tensor', { skip }, async () => {
  const dir = sharedPath('fixtures', 'models', 'bert-seqcls');
  const weights = await loadWeights(dir);
  const config = readConfig('bert-seqcls');
  const seqcls: BuildModelGraphOptions = { task: 'sequence-classification' };

  const missing = 'bert.encoder.layer.1.attention.output.LayerNorm.bias';
  assert.throws(
    () => buildModelGraph(config, without(weights, [missing]), seqcls),
    (e: unknown) => e instanceof WeightsError && e.field === `${missing} (hidden by the test)`,
  );
  // config.json and the weights disagree on a size: the first tensor whose shape differs is named.
  assert.throws(
    () => buildModelGraph({ ...config, intermediate_size: 40 }, weights, seqcls),
    (e: unknown) =>
      e instanceof WeightsError &&
      e.field === 'bert.encoder.layer.0.intermediate.dense.weight' &&
      /shape \[37, 32\], expected \[40, 32\]/.test(e.message),
  );
  // id2label says 5 labels, the classifier has 3 rows.
  const fiveLabels = Object.fromEntries([0, 1, 2, 3, 4].map((i) => [String(i), `L${i}`]));
  assert.throws(
    () => buildModelGraph({ ...config, id2label: fiveLabels }, weights, seqcls),
    (e: unknown) => e instanceof WeightsError && e.field === 'classifier.weight',
  );
  // A head asked of a checkpoint that has none.
  const bare = await loadWeights(sharedPath('fixtures', 'models', 'bert-model'));
  assert.throws(
    () => buildModelGraph(readConfig('bert-model'), bare, { task: 'question-answering' }),
    (e: unknown) => e instanceof WeightsError && e.field === 'qa_outputs.weight',
  );
  // Untied MLM decoders need their own weight, which save_pretrained only writes when untied.
  const mlm = await loadWeights(sharedPath('fixtures', 'models', 'bert-mlm'));
  assert.throws(
    () =>
      buildModelGraph({ ...readConfig('bert-mlm'), tie_word_embeddings: false }, mlm, { task: 'masked-lm' }),
    (e: unknown) => e instanceof WeightsError && e.field === 'cls.predictions.decoder.weight',
  );
});

test('inputs a model cannot take and unknown tasks are InputErrors naming the option', { skip }, async () => {
  const weights = await loadWeights(sharedPath('fixtures', 'models', 'distilbert-model'));
  const config = readConfig('distilbert-model');
  assert.throws(
    () => buildModelGraph(config, weights, { task: 'base', inputs: { tokenTypeIds: true } }),
    (e: unknown) => e instanceof InputError && e.argument === 'inputs.tokenTypeIds',
  );
  assert.throws(
    () => buildModelGraph(config, weights, { task: 'base', inputs: { positionIds: true } }),
    (e: unknown) => e instanceof InputError && e.argument === 'inputs.positionIds',
  );
  assert.throws(
    () => buildModelGraph(config, weights, { task: 'summarization' as 'base' }),
    (e: unknown) => e instanceof InputError && e.argument === 'task',
  );
});

test('default graph inputs follow the architecture', { skip }, () => {
  assert.deepEqual(graphInputNames(readConfig('bert-model')), [
    'input_ids',
    'attention_mask',
    'token_type_ids',
  ]);
  // RoBERTa's type_vocab_size is 1: token types carry nothing, so they are not an input unless asked for.
  assert.deepEqual(graphInputNames(readConfig('roberta-model')), ['input_ids', 'attention_mask']);
  assert.deepEqual(graphInputNames(readConfig('distilbert-model')), ['input_ids', 'attention_mask']);
  assert.deepEqual(
    graphInputNames(readConfig('roberta-model'), {
      attentionMask: false,
      tokenTypeIds: true,
      positionIds: true,
    }),
    ['input_ids', 'token_type_ids', 'position_ids'],
  );
});

test('the task comes from config.architectures', () => {
  assert.equal(
    taskFromConfig({ architectures: ['BertForSequenceClassification'] }),
    'sequence-classification',
  );
  assert.equal(
    taskFromConfig({ architectures: ['XLMRobertaForTokenClassification'] }),
    'token-classification',
  );
  assert.equal(taskFromConfig({ architectures: ['DistilBertForQuestionAnswering'] }), 'question-answering');
  assert.equal(taskFromConfig({ architectures: ['ElectraForMaskedLM'] }), 'masked-lm');
  assert.equal(taskFromConfig({ architectures: ['AlbertModel'] }), 'base');
  assert.equal(taskFromConfig({}), 'base');
  assert.throws(
    () => taskFromConfig({ architectures: ['BertForPreTraining'] }),
    configError('architectures', /"BertForPreTraining" has no supported head/),
  );
  assert.throws(() => taskFromConfig({ architectures: 'BertModel' }), configError('architectures'));
  for (const type of ['albert', 'bert', 'distilbert', 'electra', 'roberta', 'xlm-roberta']) {
    assert.ok(REGISTERED_MODEL_TYPES.includes(type), type);
  }
});

test('default position ids and the longest sequence the position table allows', () => {
  const roberta = { model_type: 'roberta', pad_token_id: 1, max_position_embeddings: 514 };
  assert.deepEqual(
    defaultPositionIds(roberta, [
      [0, 5, 6, 2, 1],
      [1, 1, 0, 7, 2],
    ]),
    [
      [2, 3, 4, 5, 1],
      [1, 1, 2, 3, 4],
    ],
  );
  assert.equal(maxSequenceLength(roberta), 512);
  assert.deepEqual(defaultPositionIds({ model_type: 'bert' }, [[101, 7, 102, 0]]), [[0, 1, 2, 3]]);
  assert.equal(maxSequenceLength({ model_type: 'bert', max_position_embeddings: 512 }), 512);
  assert.equal(maxSequenceLength({ model_type: 'distilbert' }), 512);
});
