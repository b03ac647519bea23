/**
 * The text-ranking (rerank) pipeline against sentence-transformers' CrossEncoder outputs
 * (../shared/fixtures/sentence-transformers/ce-*): the pair ids and truncation, predict with the checkpoint's
 * activation (default Sigmoid, configured Identity, legacy key), softmax over three labels, an overridden
 * activation, rank with top_k and documents; only_second truncation and the errors.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { InputError } from '../src/errors.js';
import { pipeline, type RankingPair } from '../src/pipelines/index.js';
import { CROSS_ENCODERS, readStExpected, skipStFolder, stFolder } from './helpers/st-fixtures.js';

const OPTIONS = { threads: 1, cacheDir: false } as const;

/** sigmoid / softmax scores within 1e-5, raw logits within 1e-4 + 1e-4·|x|. */
function assertScores(got: unknown, expected: unknown, raw: boolean, path: string): void {
  if (Array.isArray(expected)) {
    assert.ok(Array.isArray(got) && got.length === expected.length, `${path}: length`);
    expected.forEach((e, i) => assertScores((got as unknown[])[i], e, raw, `${path}[${i}]`));
    return;
  }
  const value = expected as number;
  const tolerance = raw ? 1e-4 + 1e-4 * Math.abs(value) : 1e-5;
  assert.ok(
    typeof got === 'number' && Math.abs(got - value) <= tolerance,
    `${path}: ${String(got)} vs ${value}`,
  );
}

for (const name of CROSS_ENCODERS) {
  test(`${name}: predict and rank equal CrossEncoder's`, { skip: skipStFolder(name) }, async () => {
    const expected = readStExpected(name);
    const ranker = await pipeline('text-ranking', stFolder(name), OPTIONS);
    try {
      for (const c of expected.cases) {
        const raw = c.kwargs.activation_fn !== undefined || name !== 'ce-bert-sigmoid';
        const softmax = c.kwargs.apply_softmax === true;
        const options = {
          batchSize: 8,
          ...(softmax ? { applySoftmax: true } : {}),
          ...(typeof c.kwargs.activation_fn === 'string' ? { activation: c.kwargs.activation_fn } : {}),
        };
        if (c.method === 'predict') {
          if (c.input_ids !== undefined) {
            // Unstripped pairs, longest_first at the tokenizer's model_max_length (41).
            const pairs = c.pairs as [string, string][];
            pairs.forEach(([query, doc], i) => {
              const encoding = ranker.tokenizer.encodeBatch([query], [doc], {
                truncation: 'longest_first',
                maxLength: ranker.modelMaxLength,
              }).encodings[0]!;
              assert.deepEqual(encoding.ids, c.input_ids![i], `${c.name}: input_ids[${i}]`);
              assert.deepEqual(encoding.typeIds, c.token_type_ids![i], `${c.name}: token_type_ids[${i}]`);
            });
          }
          const got = await ranker.predict(c.pairs as RankingPair[], options);
          assertScores(got, c.output, raw && !softmax, c.name);
        } else {
          const got = await ranker.rank(c.query!, c.documents!, {
            ...options,
            topK: (c.kwargs.top_k as number | undefined) ?? null,
            returnDocuments: c.kwargs.return_documents === true,
          });
          const want = c.output as { corpus_id: number; score: number; text?: string }[];
          assert.deepEqual(
            got.map((r) => [r.index, r.text]),
            want.map((r) => [r.corpus_id, r.text]),
            `${c.name}: order`,
          );
          assertScores(
            got.map((r) => r.score),
            want.map((r) => r.score),
            raw,
            c.name,
          );
        }
      }
    } finally {
      await ranker.dispose();
    }
  });
}

test(
  'text-ranking: activation from config.json, only_second truncation, errors',
  { skip: skipStFolder('ce-bert-3labels') },
  async () => {
    const sigmoid = await pipeline('rerank', stFolder('ce-bert-sigmoid'), OPTIONS);
    const nli = await pipeline('text-ranking', stFolder('ce-bert-3labels'), OPTIONS);
    try {
      assert.equal(sigmoid.activationPath, 'torch.nn.modules.activation.Sigmoid');
      assert.equal(nli.activationPath, 'torch.nn.modules.linear.Identity');
      const query = 'the film is good and '.repeat(4);
      const doc = 'the film is good '.repeat(5);
      // only_second keeps the query whole: the cut falls on the document.
      const longest = sigmoid.tokenizer.encodeBatch([query], [doc], {
        truncation: 'only_second',
        maxLength: 36,
      }).encodings[0]!;
      const raw = (await sigmoid.predict([query, doc], {
        activation: 'identity',
        truncation: 'only_second',
        maxLength: 36,
      })) as number;
      const again = (await sigmoid.predict([{ text: query, textPair: doc }], {
        activation: 'torch.nn.Identity',
        truncation: 'only_second',
        maxLength: 36,
      })) as number[];
      assert.equal(raw, again[0]);
      assert.equal(longest.ids.length, 36);
      assert.deepEqual(longest.ids.slice(0, 22), sigmoid.tokenizer.encode(query).ids);
      // Sigmoid of the raw logit is the default score.
      const scored = (await sigmoid.predict([query, doc], {
        truncation: 'only_second',
        maxLength: 36,
      })) as number;
      assert.ok(Math.abs(scored - 1 / (1 + Math.exp(-raw))) < 1e-7);
      const named = (argument: string) => (e: unknown) => e instanceof InputError && e.argument === argument;
      await assert.rejects(nli.rank('q', ['a', 'b']), named('model'));
      await assert.rejects(
        sigmoid.predict([['q', 'd']], { activation: 'torch.nn.Mystery' }),
        named('activation'),
      );
      await assert.rejects(
        sigmoid.predict([['q', 'd']], { truncation: 'only_first' as never }),
        named('truncation'),
      );
      await assert.rejects(sigmoid.predict([['q'] as never]), named('inputs[0]'));
      await assert.rejects(sigmoid.rank('q', ['a', 3 as never]), named('documents[1]'));
      await assert.rejects(sigmoid.rank('q', ['a'], { topK: 0 }), named('topK'));
      assert.deepEqual(await sigmoid.rank('q', []), []);
      // A query that leaves no room for the document under only_second names the pair.
      await assert.rejects(
        sigmoid.predict(
          [
            ['ok', 'fine'],
            [query.repeat(3), doc],
          ],
          { truncation: 'only_second' },
        ),
        (e) => e instanceof InputError && e.argument === 'inputs[1]' && /only_second/.test(e.message),
      );
    } finally {
      await Promise.all([sigmoid.dispose(), nli.dispose()]);
    }
  },
);
