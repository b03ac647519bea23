/**
 * TEI's `truncation_direction: "Left"` over the real engine, route by route (/embed with texts and token ids,
 * /similarity, /rerank, /predict): each answer equals the library run on the same left-truncated ids (the
 * tokenizer's left truncation is checked against the Rust binding in encoding-left-truncation.test.ts), and
 * differs from the right-truncated one. Also /predict with a single text on a cross-encoder, which TEI scores
 * alone through the classifier: the text-classification pipeline on the same checkpoint is the reference. And a
 * sequence classifier's /predict and a plain (not sentence-transformers) embedder's /embed, on the demo model.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import { pipeline, type LabelScore, type TextOrEncoding } from '../src/pipelines/index.js';
import { loadServeEngine } from '../src/server/engine-pipelines.js';
import { createServer } from '../src/server/index.js';
import { assertDeepClose } from './helpers/assert-close.js';
import { postJson } from './helpers/http.js';
import { REPO_ROOT } from './helpers/shared.js';
import { readStExpected, skipStFolder, stFolder } from './helpers/st-fixtures.js';

const LOAD = { threads: 1, cacheDir: false } as const;

async function serve(folder: string) {
  const engine = await loadServeEngine(stFolder(folder), { ...LOAD, modelId: folder });
  const server = createServer({ maxWaitMs: 2, engine });
  const url = await server.listen({ host: '127.0.0.1', port: 0 });
  return { server, url };
}

async function ok(url: string, body: object) {
  const answer = await postJson(url, body);
  assert.equal(answer.status, 200, answer.text);
  return answer.json;
}

/** The largest difference between two vectors. */
const maxDiff = (a: readonly number[], b: readonly number[]) =>
  Math.max(...a.map((x, i) => Math.abs(x - b[i]!)));

test(
  'bi-encoder (st-bert-mean-norm): truncation_direction Left keeps the end of a text on /embed and /similarity',
  { skip: skipStFolder('st-bert-mean-norm') },
  async () => {
    const texts = readStExpected('st-bert-mean-norm').texts;
    const { server, url } = await serve('st-bert-mean-norm');
    const embedder = await pipeline('feature-extraction', stFolder('st-bert-mean-norm'), LOAD);
    try {
      const long = texts.slice(0, 4).join(' ');
      const max = embedder.maxSeqLength;
      const whole = embedder.encodeText(long, { truncate: false });
      assert.ok(whole.length > max, `the text has ${whole.length} tokens, more than ${max}`);
      const left = embedder.encodeText(long, { truncationSide: 'left' });
      assert.equal(left.length, max);
      // The kept content is the end of the text.
      assert.deepEqual(left.ids.slice(1, -1), whole.ids.slice(whole.length - max + 1, -1));
      const [wantLeft, wantRight] = (await embedder.run([left, long], { normalize: true })) as number[][];

      const embedded = (await ok(`${url}/embed`, {
        inputs: [long, texts[5]],
        truncate: true,
        truncation_direction: 'Left',
      })) as number[][];
      assertDeepClose(embedded[0], wantLeft, 1e-5, 'left');
      assert.ok(maxDiff(embedded[0]!, wantRight!) > 1e-3, 'left and right truncation differ');
      const right = (await ok(`${url}/embed`, { inputs: long, truncate: true })) as number[][];
      assertDeepClose(right[0], wantRight, 1e-5, 'right (the default)');
      // The other input of the request, short enough to need no cut, is as without a direction.
      const plain = (await ok(`${url}/embed`, { inputs: texts[5] })) as number[][];
      assertDeepClose(embedded[1], plain[0], 1e-6, 'short input');

      // Token ids beyond the limit keep their last ids, as the same ids sent already cut.
      const byIds = (await ok(`${url}/embed`, {
        inputs: whole.ids,
        truncate: true,
        truncation_direction: 'left',
      })) as number[][];
      const lastIds = (await ok(`${url}/embed`, { inputs: whole.ids.slice(-max) })) as number[][];
      assertDeepClose(byIds, lastIds, 1e-6, 'ids');

      const similarity = (await ok(`${url}/similarity`, {
        inputs: { source_sentence: long, sentences: [texts[5], texts[6]] },
        parameters: { truncate: true, truncation_direction: 'Left' },
      })) as number[];
      const others = (await embedder.run([texts[5]!, texts[6]!], { truncationSide: 'left' })) as number[][];
      const [source] = (await embedder.run([left])) as number[][];
      assertDeepClose(similarity, embedder.similarity([source!], others)[0], 1e-5, 'similarity');
    } finally {
      await embedder.dispose();
      await server.close();
    }
  },
);

test(
  'cross-encoder (ce-bert-sigmoid): truncation_direction Left on /rerank and /predict; a single text on /predict',
  { skip: skipStFolder('ce-bert-sigmoid') },
  async () => {
    const expected = readStExpected('ce-bert-sigmoid');
    const rankAll = expected.cases.find((c) => c.name === 'rank_all')!;
    const query = rankAll.query!;
    const documents = rankAll.documents!;
    const { server, url } = await serve('ce-bert-sigmoid');
    // The reference: the same checkpoint through the text-classification pipeline, given the ids to run.
    const classifier = await pipeline('text-classification', stFolder('ce-bert-sigmoid'), LOAD);
    const ranker = await pipeline('text-ranking', stFolder('ce-bert-sigmoid'), LOAD);
    try {
      const { tokenizer } = classifier;
      const max = ranker.modelMaxLength;
      const long = documents.slice(0, 3).join(' ');
      const logitOf = async (input: TextOrEncoding) => {
        const [only] = (await classifier.run(input, { functionToApply: 'none', topK: null })) as LabelScore[];
        return only!.score;
      };
      const cut = (text: string, pair: string | null, side: 'left' | 'right') =>
        tokenizer.encode(text, pair, { truncation: 'longest_first', maxLength: max, truncationSide: side });
      const leftPair = cut(query, long, 'left');
      assert.equal(leftPair.length, max);
      const wantLeft = await logitOf(leftPair);
      const wantRight = await logitOf(cut(query, long, 'right'));
      assert.ok(Math.abs(wantLeft - wantRight) > 1e-4, 'left and right truncation differ');

      // The library option.
      const [libraryLeft] = (await ranker.run([[query, long]], {
        truncationSide: 'left',
        activation: 'identity',
      })) as number[];
      assert.ok(Math.abs(libraryLeft! - wantLeft) <= 1e-5, `${libraryLeft} vs ${wantLeft}`);

      const ranked = (await ok(`${url}/rerank`, {
        query,
        texts: [long, documents[4]],
        truncate: true,
        truncation_direction: 'Left',
        raw_scores: true,
      })) as { index: number; score: number }[];
      const first = ranked.find((r) => r.index === 0)!;
      assert.ok(Math.abs(first.score - wantLeft) <= 1e-5, `rerank ${first.score} vs ${wantLeft}`);
      const predicted = (await ok(`${url}/predict`, {
        inputs: [query, long],
        truncate: true,
        truncation_direction: 'Left',
        raw_scores: true,
      })) as { score: number }[];
      assert.ok(Math.abs(predicted[0]!.score - wantLeft) <= 1e-5, `predict ${predicted[0]!.score}`);

      // A single text is scored alone ([CLS] text [SEP]) through the checkpoint's activation (Sigmoid).
      const text = documents.find((d) => tokenizer.encode(d).length <= max)!;
      const single = (await ok(`${url}/predict`, { inputs: text })) as { score: number; label: string }[];
      const sigmoid = 1 / (1 + Math.exp(-(await logitOf(text))));
      assertDeepClose(single, [{ score: sigmoid, label: 'LABEL_0' }], 1e-5, 'single text');
      // In a batch beside a pair, and cut from the left when too long.
      const batch = (await ok(`${url}/predict`, {
        inputs: [[text], [query, text], [long]],
        truncate: true,
        truncation_direction: 'Left',
        raw_scores: true,
      })) as { score: number }[][];
      assert.ok(Math.abs(batch[0]![0]!.score - (await logitOf(text))) <= 1e-5, 'batch single');
      assert.ok(Math.abs(batch[1]![0]!.score - (await logitOf(cut(query, text, 'left')))) <= 1e-5);
      assert.ok(Math.abs(batch[2]![0]!.score - (await logitOf(cut(long, null, 'left')))) <= 1e-5);
    } finally {
      await classifier.dispose();
      await ranker.dispose();
      await server.close();
    }
  },
);

test('sequence classifier (the demo model): /predict and /embed cut from the left with truncation_direction Left', async () => {
  const demo = join(REPO_ROOT, 'models', 'seqbatch-demo-sst2');
  const engine = await loadServeEngine(demo, { ...LOAD, modelId: 'demo' });
  const server = createServer({ maxWaitMs: 2, engine });
  const url = await server.listen({ host: '127.0.0.1', port: 0 });
  const classifier = await pipeline('text-classification', demo, LOAD);
  const embedder = await pipeline('feature-extraction', demo, LOAD);
  try {
    const long = `${'a dull , lifeless and tedious film . '.repeat(20)}but the ending is a wonderful , moving delight .`;
    const max = classifier.modelMaxLength;
    const left = classifier.tokenizer.encode(long, null, {
      truncation: true,
      maxLength: max,
      truncationSide: 'left',
    });
    assert.equal(left.length, max);
    const want = (await classifier.run(left, { functionToApply: 'none', topK: null })) as LabelScore[];
    const predicted = (await ok(`${url}/predict`, {
      inputs: long,
      truncate: true,
      truncation_direction: 'Left',
      raw_scores: true,
    })) as LabelScore[];
    assertDeepClose(predicted, want, 1e-5, 'predict');
    const right = (await ok(`${url}/predict`, {
      inputs: long,
      truncate: true,
      raw_scores: true,
    })) as LabelScore[];
    assert.ok(Math.abs(right[0]!.score - predicted.find((p) => p.label === right[0]!.label)!.score) > 1e-3);

    const [wantVector] = (await embedder.run([left], { pooling: 'mean', normalize: true })) as number[][];
    const embedded = (await ok(`${url}/embed`, {
      inputs: long,
      truncate: true,
      truncation_direction: 'left',
    })) as number[][];
    assertDeepClose(embedded[0], wantVector, 1e-5, 'embed');
  } finally {
    await classifier.dispose();
    await embedder.dispose();
    await server.close();
  }
});
