/**
 * The production engine (seqbatch pipelines) behind the HTTP server, on the demo SST-2 checkpoint committed in
 * models/: concurrent /classify requests reproduce PyTorch's logits from the shared reference, /tokenize its
 * input ids, and /embed the feature-extraction pipeline run directly.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import test from 'node:test';
import { createServer, type SeqbatchServer } from '../src/server/index.js';
import { loadPipelineEngine } from '../src/server/pipeline-engine.js';
import { pipeline } from '../src/pipelines/index.js';
import { Tokenizer } from '../src/tokenizers/tokenizer.js';
import { REPO_ROOT, readSharedJson, skipUnlessShared } from './helpers/shared.js';
import { postJson } from './helpers/http.js';

const MODEL = join(REPO_ROOT, 'models', 'seqbatch-demo-sst2');
const REFERENCE = 'models/seqbatch-demo-sst2/reference';
const LOAD = { cacheDir: false as const, threads: 1 };

interface DevExample {
  sentence: string;
  input_ids: number[];
  logits: number[];
}

test(
  'pipeline engine: batched /classify matches PyTorch logits, /tokenize its ids, /embed the direct pipeline',
  { skip: skipUnlessShared(REFERENCE), timeout: 120_000 },
  async () => {
    const examples = readSharedJson<{ examples: DevExample[] }>(REFERENCE, 'sst2-dev.json').examples.slice(
      0,
      24,
    );
    const engine = await loadPipelineEngine(MODEL, ['classify', 'embed'], LOAD);
    assert.deepEqual(engine.info.tasks, ['embed', 'classify', 'tokenize']);
    assert.deepEqual(engine.info.labels, ['NEGATIVE', 'POSITIVE']);
    assert.equal(engine.info.maxInputLength, 128);
    assert.equal(engine.info.embeddingDimension, 128);
    let server: SeqbatchServer | undefined;
    try {
      server = createServer({ engine, maxWaitMs: 20 });
      const url = await server.listen({ port: 0 });

      const classified = await Promise.all(
        examples.map((example) =>
          postJson(`${url}/classify`, { inputs: example.sentence, raw_scores: true }),
        ),
      );
      classified.forEach((result, i) => {
        assert.equal(result.status, 200);
        const byLabel = Object.fromEntries(
          result.json.map((p: { label: string; score: number }) => [p.label, p.score]),
        );
        const [negative, positive] = examples[i]!.logits;
        assert.ok(
          Math.abs(byLabel.NEGATIVE - negative!) < 1e-4,
          `sentence ${i}: ${byLabel.NEGATIVE} vs ${negative}`,
        );
        assert.ok(
          Math.abs(byLabel.POSITIVE - positive!) < 1e-4,
          `sentence ${i}: ${byLabel.POSITIVE} vs ${positive}`,
        );
      });
      const sizes = server.metrics.batchSize.snapshot({ task: 'classify' });
      assert.ok(sizes.sum / sizes.count > 1, 'concurrent requests shared batches');

      const probabilities = await postJson(`${url}/classify`, { inputs: examples[0]!.sentence, top_k: 1 });
      assert.equal(probabilities.json.length, 1);
      assert.equal(probabilities.json[0].label, 'POSITIVE');
      assert.ok(probabilities.json[0].score > 0.5 && probabilities.json[0].score <= 1);

      const tokenized = await postJson(`${url}/tokenize`, {
        inputs: examples.slice(0, 4).map((e) => e.sentence),
      });
      tokenized.json.forEach((tokens: { id: number; text: string; start: number | null }[], i: number) => {
        assert.deepEqual(
          tokens.map((t) => t.id),
          examples[i]!.input_ids,
        );
      });

      const sentences = examples.slice(0, 3).map((e) => e.sentence);
      const embedded = await postJson(`${url}/v1/embeddings`, { input: sentences });
      const direct = await pipeline('feature-extraction', MODEL, LOAD);
      try {
        const expected = (await direct.run(sentences, { pooling: 'mean', normalize: true })) as number[][];
        embedded.json.data.forEach((item: { embedding: number[] }, i: number) => {
          assert.equal(item.embedding.length, 128);
          item.embedding.forEach((value, d) => assert.ok(Math.abs(value - expected[i]![d]!) < 1e-5));
        });
        const tokens = sentences.reduce((sum, s) => sum + direct.tokenizer.encode(s).length, 0);
        assert.equal(embedded.json.usage.prompt_tokens, tokens);
      } finally {
        await direct.dispose();
      }

      const pairs = [
        { text: 'the acting was superb', text_pair: 'but the plot dragged' },
        { text: 'dull', text_pair: 'and far too long' },
      ];
      const pairResults = await postJson(`${url}/classify`, { inputs: pairs, raw_scores: true });
      const directClassifier = await pipeline('text-classification', MODEL, LOAD);
      try {
        const expected = await directClassifier.run(
          pairs.map((p) => ({ text: p.text, textPair: p.text_pair })),
          { topK: null, functionToApply: 'none' },
        );
        pairResults.json.forEach((list: { label: string; score: number }[], i: number) => {
          const want = expected[i] as { label: string; score: number }[];
          for (const { label, score } of want) {
            const got = list.find((p) => p.label === label)!.score;
            assert.ok(Math.abs(got - score) < 1e-5, `pair ${i} ${label}: ${got} vs ${score}`);
          }
        });
      } finally {
        await directClassifier.dispose();
      }

      const long = 'a very long review . '.repeat(40);
      const refused = await postJson(`${url}/embed`, { inputs: long });
      assert.equal(refused.status, 413);
      assert.match(refused.json.error, /the model accepts at most 128/);
      assert.equal((await postJson(`${url}/embed`, { inputs: long, truncate: true })).status, 200);
    } finally {
      if (server) await server.close();
      else await engine.close?.();
    }
  },
);

test('pipeline engine: each served text is tokenised once, unless it must be truncated', async () => {
  const tokenizer = await Tokenizer.fromPretrained(MODEL);
  // encodeTextIds is how the pipeline tokenises a text it may have to truncate (ids only).
  const calls = { encode: 0, encodeBatch: 0, encodeTextIds: 0 };
  const encode = tokenizer.encode.bind(tokenizer);
  const encodeBatch = tokenizer.encodeBatch.bind(tokenizer);
  const encodeTextIds = tokenizer.pipeline.encodeTextIds.bind(tokenizer.pipeline);
  tokenizer.encode = (...args: Parameters<typeof encode>) => (calls.encode++, encode(...args));
  tokenizer.encodeBatch = (...args: Parameters<typeof encodeBatch>) => (
    calls.encodeBatch++,
    encodeBatch(...args)
  );
  tokenizer.pipeline.encodeTextIds = (text: string) => (calls.encodeTextIds++, encodeTextIds(text));
  const engine = await loadPipelineEngine(MODEL, ['classify', 'embed'], { ...LOAD, tokenizer });
  const server = createServer({ engine, maxWaitMs: 5 });
  try {
    const url = await server.listen({ port: 0 });
    const texts = ['a charming film', 'a tedious mess', 'fine', 'not good at all', 'superb'];
    const served = await postJson(`${url}/classify`, { inputs: texts, raw_scores: true });
    assert.equal((await postJson(`${url}/embed`, { inputs: texts.slice(0, 2) })).status, 200);
    assert.deepEqual(calls, { encode: 7, encodeBatch: 0, encodeTextIds: 0 });
    // The same scores as the pipeline on the texts themselves (tokenised there).
    const direct = await pipeline('text-classification', MODEL, { ...LOAD, tokenizer });
    try {
      const expected = await direct.run(texts, { topK: null, functionToApply: 'none' });
      served.json.forEach((list: { label: string; score: number }[], i: number) => {
        for (const { label, score } of expected[i] as { label: string; score: number }[]) {
          assert.ok(Math.abs(list.find((p) => p.label === label)!.score - score) < 1e-5, `${i} ${label}`);
        }
      });
    } finally {
      await direct.dispose();
    }
    // Too long for the model: counted once, then tokenised again by the pipeline, which truncates it.
    calls.encode = calls.encodeBatch = calls.encodeTextIds = 0;
    const long = await postJson(`${url}/classify`, {
      inputs: 'a very long review . '.repeat(40),
      truncate: true,
    });
    assert.equal(long.status, 200);
    assert.deepEqual(calls, { encode: 1, encodeBatch: 0, encodeTextIds: 1 });
  } finally {
    await server.close();
  }
});
