/**
 * sentence-transformers folders through the API, against the outputs sentence-transformers 5.1.2 recorded
 * (../shared/fixtures/sentence-transformers): every encode case (prompts, truncate_dim, normalize, every
 * precision), the token ids, similarity, and the quantization on the recorded floats alone.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { InputError } from '../src/errors.js';
import {
  pipeline,
  quantizationRanges,
  quantizeEmbeddings,
  type FeatureExtractionPipeline,
  type Precision,
} from '../src/pipelines/index.js';
import {
  BI_ENCODERS,
  assertEncodeCase,
  encodeOptions,
  readStExpected,
  skipStFolder,
  stFolder,
  type StCase,
} from './helpers/st-fixtures.js';

const OPTIONS = { threads: 1, cacheDir: false } as const;

for (const name of BI_ENCODERS) {
  test(
    `${name}: every encode case, the token ids and similarity equal sentence-transformers'`,
    { skip: skipStFolder(name) },
    async () => {
      const expected = readStExpected(name);
      const pipe: FeatureExtractionPipeline = await pipeline('feature-extraction', stFolder(name), OPTIONS);
      try {
        // What the transformer sees: stripped, lower-cased when configured, truncated at max_seq_length.
        assert.deepEqual(
          expected.texts.map((text) => pipe.encodeText(text, { prompt: '' }).ids),
          expected.input_ids,
        );
        for (const c of expected.cases) {
          if (c.method === 'similarity') continue;
          const options = encodeOptions(c);
          if (c.input_ids !== undefined) {
            // The prompted ids of the cases that use a prompt (the default one included).
            assert.deepEqual(
              expected.texts.map((text) => pipe.encodeText(text, options).ids),
              c.input_ids,
              `${c.name}: input_ids`,
            );
          }
          const inputs = c.inputs === 'texts' ? expected.texts : expected.texts[0]!;
          assertEncodeCase(await pipe.run(inputs as string[], { ...options, batchSize: 8 }), expected, c);
        }
        const similarityCase = expected.cases.find((c) => c.method === 'similarity')!;
        const embeddings = expected.cases.find((c) => c.name === 'encode')!.output as number[][];
        assert.equal(pipe.similarityFnName, similarityCase.similarity_fn_name);
        const matrix = pipe.similarity(embeddings.slice(0, 10), embeddings.slice(10, 20));
        const want = similarityCase.output as number[][];
        want.forEach((row, i) =>
          row.forEach((value, j) =>
            assert.ok(
              Math.abs(matrix[i]![j]! - value) <= 1e-5 + 1e-5 * Math.abs(value),
              `similarity[${i}][${j}]`,
            ),
          ),
        );
      } finally {
        await pipe.dispose();
      }
    },
  );
}

test(
  'quantization on the recorded float32 embeddings equals quantize_embeddings exactly',
  { skip: skipStFolder('st-bert-mean-norm') },
  () => {
    for (const name of BI_ENCODERS) {
      const expected = readStExpected(name);
      const floats = expected.cases.find((c) => c.name === 'encode')!.output as number[][];
      for (const c of expected.cases.filter((x: StCase) => x.name.startsWith('precision_'))) {
        const precision = c.kwargs.precision as Precision;
        assert.deepEqual(quantizeEmbeddings(floats, precision), c.output, `${name} ${c.name}`);
        if (c.ranges) {
          const ranges = quantizationRanges(floats);
          assert.deepEqual(
            [ranges.min, ranges.max],
            c.ranges.map((r) => r.map(Math.fround)),
            `${name} ranges`,
          );
          // The same ranges given as calibration quantize a stream, one vector at a time, to the same values.
          assert.deepEqual(quantizeEmbeddings(floats, precision, ranges), c.output);
        }
      }
    }
  },
);

test(
  'prompts, precision and truncateDim errors name the option',
  { skip: skipStFolder('st-bert-cls-prompts') },
  async () => {
    const pipe = await pipeline('feature-extraction', stFolder('st-bert-cls-prompts'), OPTIONS);
    try {
      const named = (argument: string) => (e: unknown) => e instanceof InputError && e.argument === argument;
      await assert.rejects(
        pipe.run(['a'], { promptName: 'nope' }),
        /promptName: "nope" is not one of the model's prompts \(query, document, passage\)/,
      );
      await assert.rejects(pipe.run(['a'], { precision: 'int4' as Precision }), named('precision'));
      await assert.rejects(pipe.run(['a'], { truncateDim: 0 }), named('truncateDim'));
      // int8 with the call's own ranges needs the whole call: one text has no range, a stream is refused.
      await assert.rejects(pipe.run('a lone text', { precision: 'int8' }), named('calibration'));
      assert.throws(
        () =>
          pipe.run(
            (function* () {
              yield 'a';
            })(),
            { precision: 'uint8' },
          ),
        named('calibration'),
      );
      // With calibration ranges a stream is quantized vector by vector, as the whole array would be.
      const texts = ['a good film', 'a dull mess', 'fine', 'terrible acting'];
      const floats = (await pipe.run(texts)) as number[][];
      const calibration = quantizationRanges(floats);
      const streamed: unknown[] = [];
      for await (const v of pipe.run(
        (function* () {
          yield* texts;
        })(),
        { precision: 'int8', calibration },
      ))
        streamed.push(v);
      assert.deepEqual(streamed, await pipe.run(texts, { precision: 'int8' }));
      // normalize: true renormalises the truncated vector; the Normalize module alone leaves it shorter.
      const cut = (await pipe.run('a good film', { truncateDim: 4 })) as number[];
      const unit = (await pipe.run('a good film', { truncateDim: 4, normalize: true })) as number[];
      assert.ok(Math.hypot(...cut) < 0.999);
      assert.ok(Math.abs(Math.hypot(...unit) - 1) < 1e-6);
      assert.equal(pipe.embeddingDimension, 32);
    } finally {
      await pipe.dispose();
    }
  },
);
