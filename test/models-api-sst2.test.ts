import assert from 'node:assert/strict';
import { test } from 'node:test';
import { AutoModelForSequenceClassification } from '../src/models/auto.js';
import { readSharedJson, skipUnlessShared } from './helpers/shared.js';

const PUBLISHED = 'reference/distilbert-sst2.course-published-outputs.json';
const modelDir = process.env.SEQBATCH_SST2_MODEL;

interface PublishedCase {
  name: string;
  input_ids?: number[][];
  attention_mask?: number[][];
  logits_pt?: number[][];
  logits_tf?: number[][];
}

test(
  'the real distilbert-sst2 weights reproduce the logits the HF course published',
  {
    skip:
      modelDir === undefined
        ? 'skipped: set SEQBATCH_SST2_MODEL to a folder with the real distilbert-base-uncased-finetuned-sst-2-english ' +
          'weights (model.safetensors, 268 MB; not available offline) to run this check'
        : skipUnlessShared(PUBLISHED),
  },
  async () => {
    const model = await AutoModelForSequenceClassification.fromPretrained(modelDir!, { threads: 1 });
    assert.deepEqual(model.id2label, { 0: 'NEGATIVE', 1: 'POSITIVE' });
    const cases = readSharedJson<{ cases: PublishedCase[] }>(PUBLISHED).cases.filter(
      (c) => c.input_ids && c.logits_tf,
    );
    assert.ok(cases.length >= 5);
    for (const c of cases) {
      const out = await model.forward({ input_ids: c.input_ids!, attention_mask: c.attention_mask });
      const got = [...out.logits!.data];
      // TF printed float32 precision: 1e-4. PyTorch printed 4 decimals: 1e-4 plus half a unit of the last digit.
      c.logits_tf!.flat().forEach((v, i) =>
        assert.ok(Math.abs(got[i]! - v) <= 1e-4, `${c.name}[${i}] ${got[i]} vs TF ${v}`),
      );
      c.logits_pt!.flat().forEach((v, i) =>
        assert.ok(Math.abs(got[i]! - v) <= 1.5e-4, `${c.name}[${i}] ${got[i]} vs PT ${v}`),
      );
    }
    await model.dispose();
  },
);
