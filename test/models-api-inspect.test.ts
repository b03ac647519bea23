import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync, cpSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { formatReport, inspectModel } from '../src/cli/commands/inspect.js';
import { loadWeights } from '../src/weights/index.js';
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
