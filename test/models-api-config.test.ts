import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { ConfigError } from '../src/errors.js';
import { AutoConfig, PretrainedConfig, SUPPORTED_MODEL_TYPES } from '../src/models/config.js';
import { modelFixtures } from './helpers/model-fixtures.js';
import { sharedPath, skipUnlessShared } from './helpers/shared.js';

const tmp = mkdtempSync(join(tmpdir(), 'seqbatch-config-'));
after(() => rmSync(tmp, { recursive: true, force: true }));

function configError(fn: () => unknown, field: string, pattern: RegExp): void {
  assert.throws(fn, (e: unknown) => {
    assert.ok(e instanceof ConfigError, String(e));
    assert.equal(e.field, field);
    assert.match(e.message, pattern);
    return true;
  });
}

describe('AutoConfig on real configs', { skip: skipUnlessShared('fixtures/models') }, () => {
  test('fixture configs: model_type, labels and sizes as transformers reads them (models and models-2)', (t) => {
    for (const { label: folder, dir, config: raw, skip } of modelFixtures()) {
      if (skip) {
        t.diagnostic(`${folder}: ${skip}`);
        continue;
      }
      const config = AutoConfig.fromPretrained(dir);
      assert.equal(config.modelType, raw.model_type);
      assert.equal(config.hiddenSize, 32, folder);
      assert.equal(config.numHiddenLayers, 2, folder);
      assert.equal(config.numAttentionHeads, 4, folder);
      assert.equal(config.maxPositionEmbeddings, 64, folder);
      // Base-model configs have no id2label: transformers then defaults to 2 labels.
      const id2label = (raw.id2label ?? { 0: 'LABEL_0', 1: 'LABEL_1' }) as Record<string, string>;
      assert.equal(config.numLabels, Object.keys(id2label).length, folder);
      for (const [key, label] of Object.entries(id2label)) assert.equal(config.id2label[Number(key)], label);
    }
    assert.equal(AutoConfig.fromPretrained(sharedPath('fixtures/models/bert-seqcls')).numLabels, 3);
    assert.equal(AutoConfig.fromPretrained(sharedPath('fixtures/models/distilbert-regression')).numLabels, 1);
    assert.equal(
      AutoConfig.fromPretrained(sharedPath('fixtures/models/bert-seqcls-multilabel')).problemType,
      'multi_label_classification',
    );
    assert.equal(AutoConfig.fromPretrained(sharedPath('fixtures/models/bert-seqcls')).problemType, undefined);
    // RoBERTa positions start after the pad id: 64 rows allow 62 tokens (fixtures README).
    assert.equal(
      AutoConfig.fromPretrained(sharedPath('fixtures/models/roberta-model')).maxSequenceLength,
      62,
    );
    assert.equal(AutoConfig.fromPretrained(sharedPath('fixtures/models/bert-model')).maxSequenceLength, 64);
  });

  test(
    'the real SST-2 DistilBERT config: DistilBERT field names answer to the common names',
    {
      skip: skipUnlessShared('reference/distilbert-base-uncased-finetuned-sst-2-english'),
    },
    () => {
      const config = AutoConfig.fromPretrained(
        sharedPath('reference/distilbert-base-uncased-finetuned-sst-2-english'),
      );
      assert.equal(config.modelType, 'distilbert');
      assert.equal(config.hiddenSize, 768);
      assert.equal(config.numHiddenLayers, 6);
      assert.equal(config.numAttentionHeads, 12);
      assert.equal(config.number('intermediate_size'), 3072);
      assert.equal(config.typeVocabSize, 0);
      assert.deepEqual(config.id2label, { 0: 'NEGATIVE', 1: 'POSITIVE' });
      assert.deepEqual(config.label2id, { NEGATIVE: 0, POSITIVE: 1 });
      assert.deepEqual(config.architectures, ['DistilBertForSequenceClassification']);
    },
  );

  test('an unsupported model_type in a real folder is refused with the supported list', () => {
    const dir = join(tmp, 'gpt2');
    mkdirSync(dir);
    writeFileSync(join(dir, 'config.json'), JSON.stringify({ model_type: 'gpt2', n_layer: 2 }));
    configError(
      () => AutoConfig.fromPretrained(dir),
      'model_type',
      /"gpt2" is not supported \(supported: .*bert/,
    );
    for (const type of ['albert', 'bert', 'distilbert', 'electra', 'roberta']) {
      assert.ok(SUPPORTED_MODEL_TYPES.includes(type));
    }
  });
});

describe('label normalisation', () => {
  test('string id keys become numbers; label2id defaults to the inverse', () => {
    const config = new PretrainedConfig({
      model_type: 'bert',
      id2label: { '0': 'neg', '1': 'pos', '2': 'neutral' },
    });
    assert.deepEqual(config.id2label, { 0: 'neg', 1: 'pos', 2: 'neutral' });
    assert.equal(config.id2label[2], 'neutral');
    assert.deepEqual(config.label2id, { neg: 0, pos: 1, neutral: 2 });
    assert.equal(config.numLabels, 3);
  });

  test('no id2label: num_labels (default 2) LABEL_i labels, as transformers does', () => {
    assert.deepEqual(new PretrainedConfig({ model_type: 'bert' }).id2label, { 0: 'LABEL_0', 1: 'LABEL_1' });
    const five = new PretrainedConfig({ model_type: 'bert', num_labels: 5 });
    assert.equal(five.numLabels, 5);
    assert.equal(five.label2id.LABEL_4, 4);
  });

  test('label2id ids written as strings are normalised to numbers', () => {
    const config = new PretrainedConfig({ model_type: 'bert', id2label: { 0: 'a' }, label2id: { a: '0' } });
    assert.deepEqual(config.label2id, { a: 0 });
  });
});

describe('config errors name the field', () => {
  test('unsupported model_type lists the supported ones', () =>
    configError(
      () => new PretrainedConfig({ model_type: 'gpt2' }, 'x/config.json'),
      'model_type',
      new RegExp(`"gpt2" is not supported \\(supported: ${SUPPORTED_MODEL_TYPES.join(', ')}\\)`),
    ));
  test('missing model_type', () => configError(() => new PretrainedConfig({}), 'model_type', /missing/));
  test('a non-numeric id2label key', () =>
    configError(
      () => new PretrainedConfig({ model_type: 'bert', id2label: { x: 'a' } }),
      'id2label.x',
      /not a non-negative integer/,
    ));
  test('a non-string label', () =>
    configError(
      () => new PretrainedConfig({ model_type: 'bert', id2label: { 0: 3 } }),
      'id2label.0',
      /must be a string/,
    ));
  test('a bad label2id id', () =>
    configError(
      () => new PretrainedConfig({ model_type: 'bert', label2id: { a: -1 } }),
      'label2id.a',
      /non-negative integer/,
    ));
  test('an unknown problem_type', () =>
    configError(
      () => new PretrainedConfig({ model_type: 'bert', problem_type: 'ranking' }),
      'problem_type',
      /not one of/,
    ));
  test('a missing or mistyped size field names the architecture spelling', () => {
    configError(() => new PretrainedConfig({ model_type: 'bert' }).vocabSize, 'vocab_size', /missing/);
    configError(
      () => new PretrainedConfig({ model_type: 'distilbert', dim: '768' }).hiddenSize,
      'dim',
      /must be a number/,
    );
    configError(
      () => new PretrainedConfig({ model_type: 'bert', hidden_size: 3.5 }).hiddenSize,
      'hidden_size',
      /integer/,
    );
  });
  test('unreadable and malformed files name the file', () => {
    assert.throws(
      () => AutoConfig.fromPretrained(join(tmp, 'absent')),
      (e: unknown) => e instanceof ConfigError && /cannot read/.test(e.message),
    );
    const bad = join(tmp, 'bad.json');
    writeFileSync(bad, '{"model_type": ');
    assert.throws(
      () => AutoConfig.fromPretrained(bad),
      (e: unknown) => e instanceof ConfigError && e.file === bad && /not valid JSON/.test(e.message),
    );
    writeFileSync(bad, '[1]');
    assert.throws(() => AutoConfig.fromPretrained(bad), /expected a JSON object/);
  });
});
