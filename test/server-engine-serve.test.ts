/**
 * `seqbatch serve` with the real pipeline engine on the bundled demo checkpoint: 48 concurrent clients (single
 * texts, lists and pairs) get what the offline pipelines give for the same inputs; tasks follow the checkpoint's
 * architectures; bad flags are errors naming them.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import { runServe } from '../src/cli/commands/serve.js';
import { InputError } from '../src/errors.js';
import { pipeline } from '../src/pipelines/index.js';
import { checkpointTasks, loadServeEngine } from '../src/server/engine-pipelines.js';
import { Tokenizer } from '../src/tokenizers/tokenizer.js';
import { REPO_ROOT, sharedPath, skipUnlessShared, sst2Sentences } from './helpers/shared.js';
import { postJson } from './helpers/http.js';

const DEMO = join(REPO_ROOT, 'models', 'seqbatch-demo-sst2');

type Scores = Array<{ label: string; score: number }>;

function assertScores(got: Scores, expected: Scores, what: string): void {
  assert.equal(got.length, expected.length, what);
  for (const { label, score } of expected) {
    const match = got.find((p) => p.label === label);
    assert.ok(match && Math.abs(match.score - score) < 1e-5, `${what} ${label}: ${match?.score} vs ${score}`);
  }
}

test(
  'serve: concurrent /classify, /embed and /tokenize answers equal the offline pipelines',
  { skip: skipUnlessShared('datasets', 'sst2', 'dev.tsv'), timeout: 120_000 },
  async () => {
    const sentences = sst2Sentences('dev', 48);
    const classifier = await pipeline('text-classification', DEMO, { cacheDir: false });
    const expected = (await classifier.run(sentences, { topK: null })) as Scores[];
    const pair = { text: sentences[0]!, textPair: sentences[1]! };
    const expectedPair = (await classifier.run(pair, { topK: null })) as Scores;
    await classifier.dispose();
    const embedder = await pipeline('feature-extraction', DEMO, { cacheDir: false });
    const expectedVectors = (await embedder.run(sentences.slice(0, 8), {
      pooling: 'mean',
      normalize: true,
    })) as number[][];
    await embedder.dispose();
    const tokenizer = await Tokenizer.fromPretrained(DEMO);

    const server = await runServe({ port: '0', maxWaitMs: '20', graphCache: false });
    try {
      const address = server.app.server.address();
      assert.ok(address && typeof address === 'object');
      const url = `http://127.0.0.1:${address.port}`;
      const health = (await (await fetch(`${url}/health`)).json()) as {
        model: { id: string; tasks: string[] };
      };
      assert.equal(health.model.id, 'seqbatch-demo-sst2');
      assert.deepEqual([...health.model.tasks].sort(), ['classify', 'embed', 'tokenize']);

      // Every sentence its own request, all at once (the batcher joins them), plus lists and a pair.
      const singles = sentences.map((sentence) => postJson(`${url}/classify`, { inputs: sentence }));
      const lists = [0, 16, 32].map((start) =>
        postJson(`${url}/classify`, { inputs: sentences.slice(start, start + 16) }),
      );
      const pairRequest = postJson(`${url}/classify`, {
        inputs: { text: pair.text, text_pair: pair.textPair },
      });
      const embedRequest = postJson(`${url}/embed`, { inputs: sentences.slice(0, 8) });
      const tokenizeRequest = postJson(`${url}/tokenize`, { inputs: sentences[3] });
      const [singleResults, listResults, pairResult, embedResult, tokenizeResult] = await Promise.all([
        Promise.all(singles),
        Promise.all(lists),
        pairRequest,
        embedRequest,
        tokenizeRequest,
      ]);
      singleResults.forEach((result, i) => {
        assert.equal(result.status, 200);
        assertScores(result.json, expected[i]!, `single ${i}`);
      });
      listResults.forEach((result, r) => {
        assert.equal(result.status, 200);
        result.json.forEach((scores: Scores, j: number) =>
          assertScores(scores, expected[r * 16 + j]!, `list ${r}.${j}`),
        );
      });
      assert.equal(pairResult.status, 200);
      assertScores(pairResult.json, expectedPair, 'pair');
      assert.equal(embedResult.status, 200);
      embedResult.json.forEach((vector: number[], i: number) => {
        assert.equal(vector.length, 128);
        vector.forEach((x, j) => assert.ok(Math.abs(x - expectedVectors[i]![j]!) < 1e-5, `embed ${i}.${j}`));
      });
      assert.equal(tokenizeResult.status, 200);
      // One list per input of {id, text, special, start, stop}: the tokenizer's ids; text is the slice of the
      // input a token covers (the token itself for special tokens).
      const sentence = sentences[3]!;
      const encoding = tokenizer.encode(sentence);
      const tokens = tokenizeResult.json[0] as Array<{ id: number; text: string; special: boolean }>;
      assert.deepEqual(
        tokens.map((t) => t.id),
        [...encoding.ids],
      );
      tokens.forEach((token, i) => {
        const [start, end] = encoding.offsets[i]!;
        const special = encoding.specialTokensMask[i] === 1;
        assert.equal(token.special, special);
        assert.equal(token.text, special ? encoding.tokens[i] : sentence.slice(start, end));
      });
    } finally {
      await server.close();
    }
  },
);

test(
  'serve engine: tasks follow config.json architectures; asking for a missing head names --tasks',
  { skip: skipUnlessShared('fixtures', 'models', 'bert-model') },
  async () => {
    assert.deepEqual(checkpointTasks(DEMO), ['classify', 'embed']);
    const base = sharedPath('fixtures', 'models', 'bert-model');
    assert.deepEqual(checkpointTasks(base), ['embed']);
    await assert.rejects(
      loadServeEngine(base, { tasks: ['classify'], cacheDir: false }),
      (error: unknown) => {
        assert.ok(error instanceof InputError);
        assert.equal(error.argument, '--tasks');
        return true;
      },
    );
  },
);

test(
  'serve engine: a cross-encoder reranks (one label, or a CrossEncoder config.json), a bi-encoder embeds',
  { skip: skipUnlessShared('fixtures', 'sentence-transformers') },
  async () => {
    const st = (name: string) => sharedPath('fixtures', 'sentence-transformers', name);
    // ce-bert-sigmoid has no sentence_transformers block: one label makes it a reranker, as in TEI.
    assert.deepEqual(checkpointTasks(st('ce-bert-sigmoid')), ['rerank']);
    // Three labels, but config.json was written by CrossEncoder.
    assert.deepEqual(checkpointTasks(st('ce-bert-3labels')), ['rerank']);
    assert.deepEqual(checkpointTasks(st('st-bert-mean-norm')), ['embed']);
    await assert.rejects(
      loadServeEngine(st('ce-bert-sigmoid'), { tasks: ['embed'], cacheDir: false }),
      (error: unknown) =>
        error instanceof InputError &&
        error.argument === '--tasks' &&
        /cannot embed: that needs an encoder that is not a cross-encoder/.test(error.message),
    );
  },
);

test(
  'serve --replicas 2: concurrent answers equal the offline pipeline, batches overlap, /health says 2',
  { skip: skipUnlessShared('datasets', 'sst2', 'dev.tsv'), timeout: 120_000 },
  async () => {
    const sentences = sst2Sentences('dev', 32);
    const classifier = await pipeline('text-classification', DEMO, { cacheDir: false });
    const expected = (await classifier.run(sentences, { topK: null })) as Scores[];
    await classifier.dispose();

    // maxBatchSize 4 cuts the 32 requests into 8 batches, so both replicas get work. Without preparing ahead,
    // batches can only overlap by running on both replicas at once.
    const server = await runServe({
      port: '0',
      replicas: '2',
      maxBatchSize: '4',
      prepareAheadMs: '0',
      graphCache: false,
    });
    try {
      assert.equal(server.batcher.concurrency, 2, 'the default concurrency follows the replicas');
      const address = server.app.server.address();
      assert.ok(address && typeof address === 'object');
      const url = `http://127.0.0.1:${address.port}`;
      const health = (await (await fetch(`${url}/health`)).json()) as { model: { replicas: number } };
      assert.equal(health.model.replicas, 2);

      // Count the engine calls in progress at once, by wrapping each batch's runner.
      let running = 0;
      let mostRunning = 0;
      const submit = server.batcher.submit.bind(server.batcher);
      server.batcher.submit = (key, items, run) =>
        submit(key, items, async (inputs) => {
          mostRunning = Math.max(mostRunning, ++running);
          try {
            return await run(inputs);
          } finally {
            running--;
          }
        });
      const results = await Promise.all(
        sentences.map((sentence) => postJson(`${url}/classify`, { inputs: sentence })),
      );
      results.forEach((result, i) => {
        assert.equal(result.status, 200);
        assertScores(result.json, expected[i]!, `sentence ${i}`);
      });
      assert.ok(mostRunning >= 2, `batches ran one at a time (at most ${mostRunning} at once)`);
    } finally {
      await server.close();
    }
  },
);

test('serve flags: --tasks, --pooling, --port and --replicas errors name the flag', async () => {
  for (const [options, flag] of [
    [{ tasks: 'classify,translate' }, '--tasks'],
    [{ pooling: 'median' }, '--pooling'],
    [{ port: '70000' }, '--port'],
    [{ maxBatchSize: 'lots' }, '--max-batch-size'],
    [{ replicas: '0' }, '--replicas'],
  ] as const) {
    await assert.rejects(runServe({ ...options, graphCache: false }), (error: unknown) => {
      assert.ok(error instanceof InputError, String(error));
      assert.equal(error.argument, flag);
      return true;
    });
  }
});
