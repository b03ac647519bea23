/**
 * The text-embeddings-inference API over the real engine, route by route, against sentence-transformers' own
 * outputs (../shared/fixtures/sentence-transformers): /embed (prompts, the default prompt, dimensions, token ids),
 * /similarity, /rerank, /predict, /tokenize, /decode, /info, the root route, and TEI's error body
 * `{error, error_type}` with its status codes, including the errors naming what the model is.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { pipeline, type FeatureExtractionPipeline } from '../src/pipelines/index.js';
import { loadServeEngine } from '../src/server/engine-pipelines.js';
import { createServer, type SeqbatchServer } from '../src/server/index.js';
import { assertDeepClose } from './helpers/assert-close.js';
import { assertErrorBody, getJson, postJson, type JsonResponse } from './helpers/http.js';
import {
  assertEncodeCase,
  readStExpected,
  skipStFolder,
  stFolder,
  type StCase,
} from './helpers/st-fixtures.js';

const LOAD = { threads: 1, cacheDir: false } as const;

async function serve(folder: string, options: Partial<Parameters<typeof createServer>[0]> = {}) {
  const engine = await loadServeEngine(stFolder(folder), { ...LOAD, modelId: folder });
  const server = createServer({ maxWaitMs: 2, ...options, engine });
  const url = await server.listen({ host: '127.0.0.1', port: 0 });
  return { server, url };
}

/** TEI's error body: exactly `{error, error_type}`. */
const assertTeiError = (result: JsonResponse, status: number, type: string, message?: RegExp) =>
  assertErrorBody('tei', result, status, type, message);

const caseNamed = (cases: StCase[], name: string) => cases.find((c) => c.name === name)!;

test(
  'bi-encoder (st-bert-cls-prompts): /embed gives encode() for every prompt option, dimensions and token ids',
  { skip: skipStFolder('st-bert-cls-prompts') },
  async () => {
    const expected = readStExpected('st-bert-cls-prompts');
    const { server, url } = await serve('st-bert-cls-prompts');
    try {
      const texts = expected.texts;
      const embed = async (body: object) => {
        const result = await postJson(`${url}/embed`, { inputs: texts, truncate: true, ...body });
        assert.equal(result.status, 200, result.text);
        return result.json as number[][];
      };
      // TEI's normalize defaults to true: the Normalize module's unit vectors, renormalised.
      assertEncodeCase(await embed({}), expected, caseNamed(expected.cases, 'encode'));
      assertEncodeCase(
        await embed({ prompt_name: 'query' }),
        expected,
        caseNamed(expected.cases, 'prompt_name_query'),
      );
      // dimensions cuts after the whole stack, then normalize renormalises (truncate_dim + normalize_embeddings).
      assertEncodeCase(
        await embed({ dimensions: 8 }),
        expected,
        caseNamed(expected.cases, 'truncate_dim_normalize'),
      );
      // A single string still answers a list of one vector.
      const single = await postJson(`${url}/embed`, { inputs: texts[0] });
      assertEncodeCase(single.json[0], expected, caseNamed(expected.cases, 'single_string'));
      // Token ids run as they are: the fixture's ids of text 0 give text 0's vector.
      const ids = expected.input_ids![0]!;
      const byIds = await postJson(`${url}/embed`, { inputs: ids });
      assert.equal(byIds.status, 200, byIds.text);
      assertDeepClose(byIds.json, single.json, 1e-6, 'ids');
      const mixed = await postJson(`${url}/embed`, { inputs: [ids, texts[0]] });
      assertDeepClose(mixed.json, [single.json[0], single.json[0]], 1e-6, 'mixed');

      const similarity = await postJson(`${url}/similarity`, {
        inputs: { source_sentence: texts[0], sentences: texts.slice(10, 20) },
        parameters: { truncate: true },
      });
      assert.equal(similarity.status, 200, similarity.text);
      // similarity_fn_name "dot", as model.similarity(E[0], E[10:20]).
      const matrix = caseNamed(expected.cases, 'similarity').output as number[][];
      assertDeepClose(similarity.json, matrix[0], 1e-5, 'similarity');

      const info = (await getJson(`${url}/info`)).json;
      assert.deepEqual(info.model_type, { embedding: { pooling: 'cls' } });
      assert.equal(info.model_id, 'st-bert-cls-prompts');
      assert.equal(info.max_input_length, 48);
      assert.equal(info.similarity_fn_name, 'dot');
      assert.equal(info.model_dtype, 'float32');
      assert.equal(info.max_client_batch_size, 1024);
      assert.equal(info.max_batch_requests, 64);
      assert.equal(typeof info.max_batch_tokens, 'number');

      assertTeiError(
        await postJson(`${url}/embed`, { inputs: texts[0], prompt_name: 'nope' }),
        400,
        'Validation',
        /prompt_name: "nope" is not one of the model's prompts \(query, document, passage\)/,
      );
      assertTeiError(
        await postJson(`${url}/embed`, { inputs: texts[0], dimensions: 33 }),
        400,
        'Validation',
        /dimensions: expected 1 to 32/,
      );
      assertTeiError(
        await postJson(`${url}/embed`, { inputs: [] }),
        400,
        'Empty',
        /`inputs` cannot be empty/,
      );
      assertTeiError(
        await postJson(`${url}/embed`, { inputs: 'word '.repeat(60) }),
        413,
        'Validation',
        /the model accepts at most 48/,
      );
      assertTeiError(await postJson(`${url}/embed`, { inputs: [999999] }), 422, 'Tokenizer', /999999/);
      assertTeiError(
        await postJson(`${url}/rerank`, { query: 'q', texts: ['a'] }),
        424,
        'Backend',
        /st-bert-cls-prompts is an embedding model \(bi-encoder\) and does not support \/rerank/,
      );
      assertTeiError(
        await postJson(`${url}/predict`, { inputs: 'a' }),
        424,
        'Backend',
        /is an embedding model \(bi-encoder\) and does not support \/predict/,
      );
      assertTeiError(
        await postJson(`${url}/similarity`, { inputs: { source_sentence: 'a', sentences: [] } }),
        400,
        'Empty',
      );
      assertTeiError(await postJson(`${url}/embed`, { inputs: 5 }), 400, 'Validation', /body\.inputs/);
    } finally {
      await server.close();
    }
  },
);

test(
  'bi-encoder with a default prompt (st-bert-lasttoken): /embed applies it; /tokenize, /decode',
  { skip: skipStFolder('st-bert-lasttoken') },
  async () => {
    const expected = readStExpected('st-bert-lasttoken');
    const { server, url } = await serve('st-bert-lasttoken');
    let embedder: FeatureExtractionPipeline | undefined;
    try {
      const texts = expected.texts;
      const plain = await postJson(`${url}/embed`, { inputs: texts, truncate: true });
      assertEncodeCase(plain.json, expected, caseNamed(expected.cases, 'encode'));
      const documents = await postJson(`${url}/embed`, {
        inputs: texts,
        truncate: true,
        prompt_name: 'document',
      });
      assertEncodeCase(documents.json, expected, caseNamed(expected.cases, 'prompt_name_document'));
      // The 413 counts the tokens the model would see: the default prompt's included.
      embedder = await pipeline('feature-extraction', stFolder('st-bert-lasttoken'), LOAD);
      const longest = texts.find((t) => embedder!.encodeText(t, { truncate: false }).length > 24)!;
      assertTeiError(await postJson(`${url}/embed`, { inputs: longest }), 413, 'Validation', /at most 24/);

      const tokens = await postJson(`${url}/tokenize`, { inputs: 'Hello world', prompt_name: 'document' });
      const encoding = embedder.tokenizer.encode('Hello world');
      assert.deepEqual(
        tokens.json[0].map((t: { id: number }) => t.id),
        encoding.ids,
      );
      const [start, stop] = encoding.offsets[1]!;
      assert.deepEqual(tokens.json[0][1], {
        id: encoding.ids[1],
        text: 'Hello world'.slice(start, stop),
        special: false,
        start,
        stop,
      });
      assert.deepEqual(tokens.json[0][0], {
        id: encoding.ids[0],
        text: '[CLS]',
        special: true,
        start: null,
        stop: null,
      });
      const decoded = await postJson(`${url}/decode`, { ids: [encoding.ids, encoding.ids] });
      assert.deepEqual(decoded.json, ['hello world', 'hello world']);
      const withSpecial = await postJson(`${url}/decode`, { ids: encoding.ids, skip_special_tokens: false });
      assert.deepEqual(withSpecial.json, [embedder.tokenizer.decode(encoding.ids)]);
      // As TEI reads it, [] is one empty row of ids.
      assert.deepEqual((await postJson(`${url}/decode`, { ids: [] })).json, ['']);
      assertTeiError(await postJson(`${url}/tokenize`, { inputs: [] }), 400, 'Empty');
    } finally {
      await embedder?.dispose();
      await server.close();
    }
  },
);

test(
  'cross-encoder (ce-bert-sigmoid): /rerank and /predict give CrossEncoder.rank and predict',
  { skip: skipStFolder('ce-bert-sigmoid') },
  async () => {
    const expected = readStExpected('ce-bert-sigmoid');
    const { server, url } = await serve('ce-bert-sigmoid');
    try {
      const rankAll = caseNamed(expected.cases, 'rank_all');
      const ranked = await postJson(`${url}/rerank`, {
        query: rankAll.query,
        texts: rankAll.documents,
        truncate: true,
      });
      assert.equal(ranked.status, 200, ranked.text);
      const want = (rankAll.output as { corpus_id: number; score: number }[]).map((r) => ({
        index: r.corpus_id,
        score: r.score,
      }));
      assert.deepEqual(
        ranked.json.map((r: { index: number }) => r.index),
        want.map((r) => r.index),
      );
      assertDeepClose(ranked.json, want, 1e-5, 'rerank');
      const withText = await postJson(`${url}/rerank`, {
        query: rankAll.query,
        texts: rankAll.documents,
        truncate: true,
        return_text: true,
      });
      assert.deepEqual(Object.keys(withText.json[0]), ['index', 'text', 'score']);
      assert.equal(withText.json[0].text, rankAll.documents![want[0]!.index]);

      const predict = caseNamed(expected.cases, 'predict');
      const pairs = predict.pairs as [string, string][];
      const predicted = await postJson(`${url}/predict`, { inputs: pairs, truncate: true });
      assert.equal(predicted.status, 200, predicted.text);
      assertDeepClose(
        predicted.json,
        (predict.output as number[]).map((score) => [{ score, label: 'LABEL_0' }]),
        1e-5,
        'predict',
      );
      const logits = caseNamed(expected.cases, 'predict_identity_logits').output as number[];
      const raw = await postJson(`${url}/predict`, { inputs: pairs[0], truncate: true, raw_scores: true });
      assert.deepEqual(Object.keys(raw.json[0]), ['score', 'label']);
      assert.ok(Math.abs(raw.json[0].score - logits[0]!) <= 1e-4 + 1e-4 * Math.abs(logits[0]!));

      const info = (await getJson(`${url}/info`)).json;
      assert.deepEqual(info.model_type, {
        reranker: { id2label: { 0: 'LABEL_0' }, label2id: { LABEL_0: 0 } },
      });
      assert.equal(info.max_input_length, 41);

      assertTeiError(await postJson(`${url}/rerank`, { query: 'q', texts: [] }), 400, 'Empty', /`texts`/);
      assertTeiError(
        await postJson(`${url}/rerank`, { query: 'word '.repeat(30), texts: ['word '.repeat(30)] }),
        413,
        'Validation',
        /at most 41/,
      );
      // A single text is scored alone, as TEI does (its score: server-tei-truncation.test.ts).
      assert.equal((await postJson(`${url}/predict`, { inputs: 'one text' })).status, 200);
      assertTeiError(
        await postJson(`${url}/embed`, { inputs: 'a' }),
        424,
        'Backend',
        /ce-bert-sigmoid is a cross-encoder \(reranker\) and does not support \/embed/,
      );
      assertTeiError(
        await postJson(`${url}/similarity`, { inputs: { source_sentence: 'a', sentences: ['b'] } }),
        424,
        'Backend',
        /is a cross-encoder \(reranker\)/,
      );
    } finally {
      await server.close();
    }
  },
);

test(
  'cross-encoder with three labels (ce-bert-3labels): /predict labels every score; /rerank is refused',
  { skip: skipStFolder('ce-bert-3labels') },
  async () => {
    const expected = readStExpected('ce-bert-3labels');
    const { server, url } = await serve('ce-bert-3labels');
    try {
      const predict = caseNamed(expected.cases, 'predict');
      const pairs = predict.pairs as [string, string][];
      const labels = ['contradiction', 'entailment', 'neutral'];
      const result = await postJson(`${url}/predict`, { inputs: pairs.slice(0, 5), truncate: true });
      assert.equal(result.status, 200, result.text);
      const want = (predict.output as number[][])
        .slice(0, 5)
        .map((row) =>
          row.map((score, i) => ({ score, label: labels[i]! })).sort((a, b) => b.score - a.score),
        );
      assertDeepClose(result.json, want, 1e-4, 'predict');
      const info = (await getJson(`${url}/info`)).json;
      assert.deepEqual(Object.keys(info.model_type), ['classifier']);
      assertTeiError(
        await postJson(`${url}/rerank`, { query: 'q', texts: ['a'] }),
        424,
        'Backend',
        /is a cross-encoder with 3 labels \(a classifier\): \/rerank needs one score per text/,
      );
    } finally {
      await server.close();
    }
  },
);

test(
  'a rerank request of 1,000 documents is answered whole and in order, over many batches',
  { skip: skipStFolder('ce-bert-sigmoid') },
  async () => {
    const expected = readStExpected('ce-bert-sigmoid');
    const rankAll = caseNamed(expected.cases, 'rank_all');
    const documents = Array.from({ length: 1000 }, (_, i) => {
      const doc = rankAll.documents![i % rankAll.documents!.length]!;
      return `${doc.slice(0, 20 + (i % 37))} ${i}`;
    });
    let server: SeqbatchServer | undefined;
    const ranker = await pipeline('text-ranking', stFolder('ce-bert-sigmoid'), LOAD);
    try {
      const served = await serve('ce-bert-sigmoid', { maxBatchSize: 64 });
      server = served.server;
      const result = await postJson(`${served.url}/rerank`, {
        query: rankAll.query,
        texts: documents,
        truncate: true,
      });
      assert.equal(result.status, 200, result.text);
      const want = await ranker.rank(rankAll.query!, documents, { batchSize: 64 });
      assert.equal(result.json.length, 1000);
      assert.deepEqual(
        result.json.map((r: { index: number }) => r.index),
        want.map((r) => r.index),
      );
      assertDeepClose(result.json, want, 1e-6, 'rerank');
      const metrics = await (await fetch(`${served.url}/metrics`)).text();
      const batches = Number(/seqbatch_batch_size_count\{task="rerank"\} (\d+)/.exec(metrics)?.[1]);
      assert.ok(batches >= 1000 / 64, `1,000 pairs ran in ${batches} batches of at most 64`);
    } finally {
      await ranker.dispose();
      await server?.close();
    }
  },
);

test(
  '/info names the dtype the server runs in: int8 with --dtype int8',
  { skip: skipStFolder('st-bert-cls-prompts') },
  async () => {
    const engine = await loadServeEngine(stFolder('st-bert-cls-prompts'), {
      ...LOAD,
      modelId: 'st-bert-cls-prompts',
      dtype: 'int8',
    });
    const server = createServer({ maxWaitMs: 2, engine });
    const url = await server.listen({ host: '127.0.0.1', port: 0 });
    try {
      const info = (await getJson(`${url}/info`)).json;
      assert.equal(info.model_dtype, 'int8');
    } finally {
      await server.close();
    }
  },
);
