import assert from 'node:assert/strict';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { formatReport, inspectModel } from '../src/cli/commands/inspect.js';
import { WeightsError } from '../src/errors.js';
import { loadWeights, serializeSafetensors } from '../src/weights/index.js';
import { readSharedJson, sharedPath, skipUnlessShared } from './helpers/shared.js';

const tmp = mkdtempSync(join(tmpdir(), 'seqbatch-inspect-'));
after(() => rmSync(tmp, { recursive: true, force: true }));
const DEMO = 'models/seqbatch-demo-sst2';

test(
  'inspect: config, parameters from the headers, tokenizer and max length',
  { skip: skipUnlessShared(DEMO) },
  async () => {
    const report = await inspectModel(sharedPath(DEMO));
    const config = readSharedJson<Record<string, unknown>>(DEMO, 'config.json');
    const tokenizerConfig = readSharedJson<Record<string, unknown>>(DEMO, 'tokenizer_config.json');
    assert.equal(report.modelType, 'distilbert');
    assert.equal(report.task, 'sequence-classification');
    assert.equal(report.hiddenSize, config.dim);
    assert.equal(report.numHiddenLayers, config.n_layers);
    assert.deepEqual(report.labels, { 0: 'NEGATIVE', 1: 'POSITIVE' });
    // The count from the headers equals the count over the loaded tensors.
    const weights = await loadWeights(sharedPath(DEMO));
    assert.equal(report.weights!.parameters, weights.parameterCount());
    assert.equal(report.weights!.tensors, weights.names().length);
    assert.equal(report.weights!.bytes, report.weights!.parameters * 4);
    assert.equal(report.tokenizer!.model, 'WordPiece');
    assert.equal(report.tokenizer!.vocabSize, config.vocab_size);
    assert.equal(report.tokenizer!.specialTokens.pad, '[PAD]');
    assert.equal(
      report.maxLength,
      Math.min(
        config.max_position_embeddings as number,
        (tokenizerConfig.model_max_length as number) ?? Infinity,
      ),
    );
    const text = formatReport(report);
    assert.match(
      text,
      /^type +distilbert \(DistilBertForSequenceClassification; task sequence-classification\)$/m,
    );
    assert.match(text, new RegExp(`\\(${weights.parameterCount()}\\) in ${weights.names().length} tensors`));
    assert.match(text, /^tokenizer +WordPiece, vocab /m);
  },
);

test(
  'inspect: no tokenizer files; RoBERTa max length; broken tokenizer reported, not fatal',
  {
    skip: skipUnlessShared('fixtures/models'),
  },
  async () => {
    const roberta = await inspectModel(sharedPath('fixtures/models/roberta-qa'));
    assert.equal(roberta.tokenizer, null);
    assert.equal(roberta.maxLength, 62);
    assert.equal(roberta.task, 'question-answering');
    assert.match(formatReport(roberta), /^tokenizer +no tokenizer files$/m);
    const base = await inspectModel(sharedPath('fixtures/models/bert-model'));
    assert.equal(base.labels, null, 'a base config has no id2label to report');

    const broken = join(tmp, 'broken-tokenizer');
    cpSync(sharedPath('fixtures/models/bert-seqcls'), broken, { recursive: true });
    writeFileSync(join(broken, 'tokenizer.json'), '{"model": 5}');
    const report = await inspectModel(broken);
    assert.equal(report.tokenizer, null);
    assert.match(report.tokenizerError!, /tokenizer\.json|model/);
    assert.equal(report.weights!.parameters, (await loadWeights(broken)).parameterCount());
    assert.ok(readFileSync(join(broken, 'config.json')).length > 0);
  },
);

test(
  'inspect: a sharded checkpoint is summed over its shards; a hostile index is refused',
  {
    skip: skipUnlessShared('fixtures/models'),
  },
  async () => {
    const source = await loadWeights(sharedPath('fixtures/models/bert-seqcls'));
    const dir = join(tmp, 'sharded');
    mkdirSync(dir);
    cpSync(sharedPath('fixtures/models/bert-seqcls/config.json'), join(dir, 'config.json'));
    const names = source.names();
    const weightMap: Record<string, string> = {};
    [names.slice(0, 10), names.slice(10)].forEach((part, i) => {
      const file = `model-0000${i + 1}-of-00002.safetensors`;
      const tensors = part.map((name) => ({ name, ...source.getRaw(name), data: source.getRaw(name).bytes }));
      writeFileSync(join(dir, file), serializeSafetensors(tensors));
      for (const name of part) weightMap[name] = file;
    });
    writeFileSync(join(dir, 'model.safetensors.index.json'), JSON.stringify({ weight_map: weightMap }));
    const report = await inspectModel(dir);
    assert.equal(report.weights!.files.length, 2);
    assert.equal(report.weights!.parameters, source.parameterCount());
    assert.equal(report.weights!.tensors, names.length);

    writeFileSync(
      join(dir, 'model.safetensors.index.json'),
      JSON.stringify({ weight_map: { x: '../../etc/passwd' } }),
    );
    await assert.rejects(
      inspectModel(dir),
      (e: unknown) => e instanceof WeightsError && /not a file in/.test(e.message),
    );
  },
);
