/**
 * The real clients against the server: OpenAI's official `openai` package (its default asks for base64) on
 * /v1/embeddings, and Hugging Face's `@huggingface/inference` pointed at the server as an endpoint (`endpointUrl`,
 * which posts to the root route) for featureExtraction, sentenceSimilarity and textClassification. What they get
 * must be the library's own vectors and scores. The client has no reranking task; /rerank is tested in
 * server-tei.test.ts.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import { InferenceClient } from '@huggingface/inference';
import OpenAI from 'openai';
import { pipeline } from '../src/pipelines/index.js';
import { loadServeEngine } from '../src/server/engine-pipelines.js';
import { createServer } from '../src/server/index.js';
import { assertDeepClose } from './helpers/assert-close.js';
import { REPO_ROOT } from './helpers/shared.js';
import { readStExpected, skipStFolder, stFolder } from './helpers/st-fixtures.js';

const LOAD = { threads: 1, cacheDir: false } as const;

/** Serves with --auto-truncate, as TEI is run for clients that cannot send `truncate` (OpenAI's). */
async function serve(dir: string, modelId: string) {
  const engine = await loadServeEngine(dir, { ...LOAD, modelId });
  const server = createServer({ maxWaitMs: 2, engine, autoTruncate: true });
  const url = await server.listen({ host: '127.0.0.1', port: 0 });
  return { server, url };
}

const FOLDER = 'st-bert-mean-norm';

test(
  'the openai package: embeddings.create with its defaults (base64) gets the library vectors',
  { skip: skipStFolder(FOLDER) },
  async () => {
    const texts = readStExpected(FOLDER).texts.slice(0, 12);
    const { server, url } = await serve(stFolder(FOLDER), FOLDER);
    const embedder = await pipeline('feature-extraction', stFolder(FOLDER), LOAD);
    try {
      const client = new OpenAI({ baseURL: `${url}/v1`, apiKey: 'not-checked', maxRetries: 0 });
      const response = await client.embeddings.create({ model: FOLDER, input: texts });
      assert.equal(response.model, FOLDER);
      assert.equal(response.data.length, texts.length);
      const want = (await embedder.run(texts, { normalize: true, truncation: true })) as number[][];
      // base64 carries float32 bytes: the library's vectors rounded to float32.
      assertDeepClose(
        response.data.map((d) => d.embedding),
        want.map((v) => v.map(Math.fround)),
        0,
        'embeddings',
      );
      assert.ok(response.usage.prompt_tokens > texts.length);
      // dimensions: the first 8, renormalised (sentence-transformers' truncate_dim + normalize_embeddings).
      const short = await client.embeddings.create({ model: FOLDER, input: texts[0]!, dimensions: 8 });
      const cut = (await embedder.run([texts[0]!], { truncateDim: 8, normalize: true })) as number[][];
      assertDeepClose(short.data[0]!.embedding, cut[0]!.map(Math.fround), 0, 'dimensions');
      await assert.rejects(
        client.embeddings.create({ model: FOLDER, input: texts[0]!, dimensions: 999 }),
        (error: unknown) => error instanceof OpenAI.BadRequestError && /dimensions/.test(error.message),
      );
    } finally {
      await embedder.dispose();
      await server.close();
    }
  },
);

test(
  '@huggingface/inference at the server as an endpoint: featureExtraction and sentenceSimilarity',
  { skip: skipStFolder(FOLDER) },
  async () => {
    const texts = readStExpected(FOLDER).texts.slice(0, 6);
    const { server, url } = await serve(stFolder(FOLDER), FOLDER);
    const embedder = await pipeline('feature-extraction', stFolder(FOLDER), LOAD);
    try {
      const client = new InferenceClient(undefined, { endpointUrl: url });
      const want = (await embedder.run(texts, { normalize: true, truncation: true })) as number[][];
      const one = (await client.featureExtraction({ inputs: texts[0]! })) as number[][];
      // JSON carries each float32 as its shortest decimal: read back as float32, it is the library's value.
      assertDeepClose(
        one.map((row) => row.map(Math.fround)),
        [want[0]!.map(Math.fround)],
        0,
        'featureExtraction',
      );
      const scores = await client.sentenceSimilarity({
        inputs: { source_sentence: texts[0]!, sentences: texts.slice(1) },
      });
      const plain = (await embedder.run(texts, { truncation: true })) as number[][];
      assertDeepClose(
        scores,
        embedder.similarity([plain[0]!], plain.slice(1))[0],
        1e-12,
        'sentenceSimilarity',
      );
    } finally {
      await embedder.dispose();
      await server.close();
    }
  },
);

test('@huggingface/inference at the server as an endpoint: textClassification', async () => {
  const dir = join(REPO_ROOT, 'models', 'seqbatch-demo-sst2');
  const { server, url } = await serve(dir, 'seqbatch-demo-sst2');
  const classifier = await pipeline('text-classification', dir, LOAD);
  try {
    const client = new InferenceClient(undefined, { endpointUrl: url });
    const text = 'a gorgeous , witty , seductive movie .';
    const got = await client.textClassification({ inputs: text });
    const want = ((await classifier.run([text], { topK: null })) as { label: string; score: number }[][])[0]!;
    want.sort((a, b) => b.score - a.score);
    assert.deepEqual(
      got.map((p) => p.label),
      want.map((p) => p.label),
    );
    assertDeepClose(
      got.map((p) => p.score),
      want.map((p) => p.score),
      1e-7,
      'scores',
    );
  } finally {
    await classifier.dispose();
    await server.close();
  }
});
