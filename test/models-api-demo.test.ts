import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import { AutoModelForSequenceClassification } from '../src/models/auto.js';
import { Tokenizer } from '../src/tokenizers/tokenizer.js';
import { REPO_ROOT, readSharedJson, skipUnlessShared } from './helpers/shared.js';

// The demo checkpoint is committed in the repo; its PyTorch reference outputs live in ../shared.
const MODEL = join(REPO_ROOT, 'models', 'seqbatch-demo-sst2');
const REFERENCE = 'models/seqbatch-demo-sst2/reference';

interface DevExample {
  index: number;
  label: number;
  input_ids: number[];
  logits: number[];
  logits_batched: number[];
  predicted: number;
}

test(
  'the demo SST-2 model reproduces PyTorch on all 872 dev sentences, batched as the reference was',
  {
    skip: skipUnlessShared(REFERENCE),
  },
  async () => {
    const dev = readSharedJson<{
      accuracy: number;
      batched: { batches: number[][] };
      examples: DevExample[];
    }>(REFERENCE, 'sst2-dev.json');
    const model = await AutoModelForSequenceClassification.fromPretrained(MODEL, {
      cacheDir: false,
      threads: 1,
    });
    let worst = 0;
    let correct = 0;
    for (const batch of dev.batched.batches) {
      const rows = batch.map((i) => dev.examples[i]!);
      const width = Math.max(...rows.map((r) => r.input_ids.length));
      const ids = rows.map((r) => [...r.input_ids, ...new Array<number>(width - r.input_ids.length).fill(0)]);
      const mask = rows.map((r) =>
        r.input_ids.map(() => 1).concat(new Array<number>(width - r.input_ids.length).fill(0)),
      );
      const logits = (await model.forward({ input_ids: ids, attention_mask: mask })).logits!;
      rows.forEach((row, b) => {
        for (let j = 0; j < 2; j++)
          worst = Math.max(worst, Math.abs(logits.at(b, j) - row.logits_batched[j]!));
        const predicted = logits.at(b, 1) > logits.at(b, 0) ? 1 : 0;
        assert.equal(predicted, row.predicted, `sentence ${row.index}`);
        if (predicted === row.label) correct++;
      });
    }
    assert.ok(worst < 1e-4, `max abs diff ${worst}`);
    assert.equal(Math.fround(correct / dev.examples.length), dev.accuracy);
    await model.dispose();
  },
);

test(
  'tokenizer BatchEncoding straight into the model: the seed examples and the padding pitfall',
  {
    skip: skipUnlessShared(REFERENCE),
  },
  async () => {
    const seed = readSharedJson<{ examples: Array<{ text: string; input_ids: number[]; logits: number[] }> }>(
      REFERENCE,
      'seed-examples.json',
    );
    const tokenizer = await Tokenizer.fromPretrained(MODEL);
    const model = await AutoModelForSequenceClassification.fromPretrained(MODEL, {
      cacheDir: false,
      threads: 1,
    });
    const texts = seed.examples.map((e) => e.text);
    const batch = tokenizer.call(texts, { padding: 'longest' });
    const logits = (await model.forward(batch)).logits!;
    seed.examples.forEach((example, b) => {
      for (let j = 0; j < 2; j++)
        assert.ok(Math.abs(logits.at(b, j) - example.logits[j]!) < 1e-4, example.text);
    });
    // The same batch without its attention mask attends to the pads and moves the padded rows (the classic mistake).
    const unmasked = (await model.forward({ input_ids: batch.input_ids })).logits!;
    const moved = seed.examples.map((_, b) => Math.abs(unmasked.at(b, 0) - logits.at(b, 0)));
    assert.ok(Math.max(...moved) > 0.1, `without the mask the padded rows should change (moved ${moved})`);
    await model.dispose();
  },
);
