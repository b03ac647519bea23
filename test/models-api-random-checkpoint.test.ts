import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { makeRandomCheckpoint } from '../scripts/make-random-checkpoint.js';
import { AutoModelForSequenceClassification } from '../src/models/auto.js';
import { loadWeights } from '../src/weights/index.js';
import { readSharedJson, sharedPath, skipUnlessShared } from './helpers/shared.js';

const REFERENCE = 'reference/distilbert-base-uncased-finetuned-sst-2-english';
const tmp = mkdtempSync(join(tmpdir(), 'seqbatch-random-checkpoint-'));
after(() => rmSync(tmp, { recursive: true, force: true }));
const SMALL = { layers: 2, hidden: 64, heads: 4, intermediate: 128 };

describe('scripts/make-random-checkpoint.ts', { skip: skipUnlessShared(REFERENCE) }, () => {
  test('writes the tensor layout save_pretrained writes for DistilBertForSequenceClassification', async () => {
    const dir = join(tmp, 'layout');
    const config = await makeRandomCheckpoint(dir, { seed: 1, ...SMALL });
    const ours = await loadWeights(dir);
    // The fixture was written by transformers' save_pretrained for the same class (2 layers too).
    const fixture = await loadWeights(sharedPath('fixtures/models/distilbert-seqcls'));
    assert.deepEqual([...ours.names()].sort(), [...fixture.names()].sort());
    assert.deepEqual(ours.metadata[0], { format: 'pt' });
    assert.deepEqual(ours.info('distilbert.transformer.layer.1.ffn.lin1.weight')!.shape, [128, 64]);
    assert.deepEqual(ours.info('distilbert.embeddings.word_embeddings.weight')!.shape, [30522, 64]);
    // Pad row zero (as HF initialises it), LayerNorm weights around 1, biases non-zero.
    const words = ours.getFloat32('distilbert.embeddings.word_embeddings.weight').data;
    assert.ok(words.subarray(0, 64).every((v) => v === 0));
    assert.ok(words.subarray(64, 128).some((v) => v !== 0));
    const gamma = ours.getFloat32('distilbert.embeddings.LayerNorm.weight').data;
    assert.ok(Math.abs(gamma.reduce((a, b) => a + b, 0) / gamma.length - 1) < 0.1);
    assert.ok(ours.getFloat32('classifier.bias').data.every((v) => v !== 0));
    // Everything else comes from the reference config, and the tokenizer files are copied beside it.
    const reference = readSharedJson<Record<string, unknown>>(REFERENCE, 'config.json');
    assert.equal(config.vocab_size, reference.vocab_size);
    assert.deepEqual(config.id2label, reference.id2label);
    assert.equal(config.n_layers, 2);
    for (const file of ['tokenizer.json', 'tokenizer_config.json', 'vocab.txt']) {
      assert.deepEqual(readFileSync(join(dir, file)), readFileSync(sharedPath(REFERENCE, file)), file);
    }
  });

  test('the seed fixes every byte; another seed gives other weights', async () => {
    const [a, b, c] = ['a', 'b', 'c'].map((n) => join(tmp, `seed-${n}`));
    await makeRandomCheckpoint(a!, { seed: 5, ...SMALL });
    await makeRandomCheckpoint(b!, { seed: 5, ...SMALL });
    await makeRandomCheckpoint(c!, { seed: 6, ...SMALL });
    const bytes = (dir: string) => readFileSync(join(dir, 'model.safetensors'));
    assert.ok(bytes(a!).equals(bytes(b!)));
    assert.ok(!bytes(a!).equals(bytes(c!)));
    assert.equal(bytes(a!).length, bytes(c!).length);
  });

  test('the checkpoint loads, runs and is served from the graph cache the second time', async () => {
    const dir = join(tmp, 'runs');
    await makeRandomCheckpoint(dir, { seed: 3, ...SMALL });
    const cacheDir = join(tmp, 'cache');
    const input = {
      input_ids: [
        [101, 1045, 5223, 2023, 2061, 2172, 999, 102],
        [101, 2023, 2003, 2307, 102, 0, 0, 0],
      ],
      attention_mask: [
        [1, 1, 1, 1, 1, 1, 1, 1],
        [1, 1, 1, 1, 1, 0, 0, 0],
      ],
    };
    const first = await AutoModelForSequenceClassification.fromPretrained(dir, { cacheDir, threads: 1 });
    assert.equal(first.loadedFromCache, false);
    assert.deepEqual(first.id2label, { 0: 'NEGATIVE', 1: 'POSITIVE' });
    const out = await first.forward(input);
    assert.deepEqual(out.logits!.dims, [2, 2]);
    assert.ok([...out.logits!.data].every(Number.isFinite));
    // The padded row equals the same sentence run alone (the mask is honoured).
    const alone = await first.forward({ input_ids: [input.input_ids[1]!.slice(0, 5)] });
    for (let j = 0; j < 2; j++) assert.ok(Math.abs(alone.logits!.at(0, j) - out.logits!.at(1, j)) < 1e-5);
    const second = await AutoModelForSequenceClassification.fromPretrained(dir, { cacheDir, threads: 1 });
    assert.equal(second.loadedFromCache, true);
    assert.deepEqual((await second.forward(input)).logits!.data, out.logits!.data);
    await first.dispose();
    await second.dispose();
  });
});
