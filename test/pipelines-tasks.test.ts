/**
 * feature-extraction, token-classification, question-answering, fill-mask and zero-shot-classification end to
 * end on the tiny fixture checkpoints, paired with a small WordPiece tokenizer built here whose ids fit their
 * 99-token vocabulary. Each pipeline's batched, mixed-length results must equal one-at-a-time runs (≤ 1e-5), in
 * the caller's order, and equal what the model gives on the same tokens run directly.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { ConfigError, InputError } from '../src/errors.js';
import { AutoModelForQuestionAnswering } from '../src/models/auto.js';
import { pipeline } from '../src/pipelines/index.js';
import {
  aggregateTokens,
  mergeOverlappingEntities,
  type EntityGroup,
} from '../src/pipelines/token-aggregation.js';
import { softmax, l2Normalize } from '../src/pipelines/math.js';
import { selectSpans } from '../src/pipelines/qa-spans.js';
import {
  FIXTURE_VOCAB,
  fixtureCheckpoint,
  fixtureTokenizer,
  labelConfig,
  NER_LABELS,
  NLI_LABELS,
} from './helpers/fixture-checkpoints.js';
import { skipUnlessShared } from './helpers/shared.js';
import { deepCloseAsserter } from './helpers/assert-close.js';

const skip = skipUnlessShared('fixtures', 'models');
const WORK = mkdtempSync(join(tmpdir(), 'seqbatch-pipelines-'));
after(() => rmSync(WORK, { recursive: true, force: true }));

/** A copy of a fixture folder (weights linked) with config.json fields replaced and extra files. */
function fixture(
  name: string,
  config: Record<string, unknown> = {},
  files: Record<string, unknown> = {},
): string {
  return fixtureCheckpoint(WORK, name, { config, files });
}

const TEXTS = [
  'the cat sat on the mat .',
  'john lives in new york',
  'where is paris ?',
  'zebra',
  '',
  'the old red car was on the road and the big green tree was in the sun , the bird was in the tree .',
];
const OPTIONS = { tokenizer: fixtureTokenizer(), cacheDir: false as const };

const assertClose = deepCloseAsserter(1e-5, 'result');

/** Runs every input alone and checks the batched results against them. */
async function assertBatchEqualsSingles<I>(
  run: (inputs: I | I[], options?: Record<string, unknown>) => Promise<unknown>,
  inputs: I[],
): Promise<unknown[]> {
  const batched = (await run(inputs, { batchSize: 3 })) as unknown[];
  assert.equal(batched.length, inputs.length);
  for (let i = 0; i < inputs.length; i++) assertClose(batched[i], await run(inputs[i]), `inputs[${i}]`);
  return batched;
}

test(
  'feature-extraction: token vectors, pooled and normalised vectors, sentence-transformers folders',
  { skip },
  async () => {
    const plain = await pipeline('feature-extraction', fixture('bert-model'), OPTIONS);
    const tokens = (await assertBatchEqualsSingles(
      (i, o) => plain.run(i as never, o),
      TEXTS,
    )) as number[][][];
    const model = plain.model;
    // Token vectors are the model's last_hidden_state for the same tokens.
    const encoding = plain.tokenizer.encode(TEXTS[1]);
    const direct = (await model.forward([encoding])).last_hidden_state!;
    assert.equal(tokens[1].length, encoding.length);
    assertClose(tokens[1], (direct.toArray() as number[][][])[0]);
    // Mean pooling and normalisation by hand from the token vectors.
    const max = (rows: number[][]) => rows[0].map((_, j) => Math.max(...rows.map((r) => r[j])));
    const mean = (rows: number[][]) =>
      rows[0].map((_, j) => rows.reduce((s, r) => s + r[j], 0) / rows.length);
    const pooled = (await plain.run(TEXTS, { pooling: 'mean', normalize: true })) as number[][];
    pooled.forEach((vector, i) => assertClose(vector, l2Normalize(mean(tokens[i]))));
    const cls = (await plain.run(TEXTS[0], { pooling: 'cls' })) as number[];
    assertClose(cls, tokens[0][0]);
    await assert.rejects(
      plain.run('x', { pooling: 'sum' as never }),
      (e) => e instanceof InputError && e.argument === 'pooling',
    );
    await assert.rejects(
      plain.run('x', { longInputs: 'sliding-window' }),
      (e) => e instanceof InputError && e.argument === 'longInputs',
    );

    // A sentence-transformers folder: max pooling + Normalize by default, truncation to max_seq_length.
    const stDir = fixture(
      'bert-model',
      {},
      {
        'modules.json': [
          { idx: 0, name: '0', path: '', type: 'sentence_transformers.models.Transformer' },
          { idx: 1, name: '1', path: '1_Pooling', type: 'sentence_transformers.models.Pooling' },
          { idx: 2, name: '2', path: '2_Normalize', type: 'sentence_transformers.models.Normalize' },
        ],
        '1_Pooling/config.json': { word_embedding_dimension: 32, pooling_mode_max_tokens: true },
        'sentence_bert_config.json': { max_seq_length: 8 },
      },
    );
    const st = await pipeline('feature-extraction', stDir, OPTIONS);
    const stVectors = (await st.run(TEXTS)) as number[][];
    for (let i = 0; i < TEXTS.length; i++) {
      const truncated = tokens[i].length > 8 ? null : tokens[i];
      if (truncated) assertClose(stVectors[i], l2Normalize(max(truncated)));
    }
    // The long text is cut to 8 tokens: its vector equals the max over the first window's tokens.
    const first8 = st.tokenizer.encode(TEXTS[5], null, { truncation: true, maxLength: 8 });
    const first8Tokens = (await model.forward([first8])).last_hidden_state!.toArray() as number[][][];
    assertClose(stVectors[5], l2Normalize(max(first8Tokens[0])));
    // Sliding windows: each window mean-pooled alone, the vectors averaged (or maxed), then normalised.
    const long = Array.from({ length: 12 }, () => 'the cat sat on the mat .').join(' ');
    const windows = plain.tokenizer.encodeBatch([long], null, {
      truncation: true,
      maxLength: 32,
      stride: 8,
      returnOverflowingTokens: true,
    }).encodings;
    assert.ok(windows.length >= 3);
    const windowMeans: number[][] = [];
    for (const w of windows) {
      windowMeans.push(mean(((await model.forward([w])).last_hidden_state!.toArray() as number[][][])[0]));
    }
    const slidingOptions = {
      pooling: 'mean',
      longInputs: 'sliding-window',
      maxLength: 32,
      stride: 8,
    } as const;
    const [slidMean, slidMax] = [
      await plain.run([long, 'cat'], { ...slidingOptions, normalize: true }),
      await plain.run([long], { ...slidingOptions, windowAggregation: 'max' }),
    ];
    assertClose(slidMean[0], l2Normalize(mean(windowMeans)));
    assertClose(slidMean[1], await plain.run('cat', { pooling: 'mean', normalize: true }));
    assertClose(slidMax[0], max(windowMeans));
    await Promise.all([plain.dispose(), st.dispose()]);

    // Unsupported modules are ConfigErrors naming the file and the module; so is a Dense module without its config.
    const modules = (type: string, path: string) => [
      { idx: 0, name: '0', path: '', type: 'sentence_transformers.models.Transformer' },
      { idx: 1, name: '1', path: '1_Pooling', type: 'sentence_transformers.models.Pooling' },
      { idx: 2, name: '2', path, type },
    ];
    const pooling = { word_embedding_dimension: 32, pooling_mode_mean_tokens: true };
    const lstm = fixture(
      'bert-model',
      { lstm: 1 },
      {
        'modules.json': modules('sentence_transformers.models.LSTM', '2_LSTM'),
        '1_Pooling/config.json': pooling,
      },
    );
    await assert.rejects(
      pipeline('feature-extraction', lstm, OPTIONS),
      (e) =>
        e instanceof ConfigError &&
        /modules\.json: module 2 \(sentence_transformers\.models\.LSTM\) is not supported/.test(e.message),
    );
    const dense = fixture(
      'bert-model',
      { dense: 1 },
      {
        'modules.json': modules('sentence_transformers.models.Dense', '2_Dense'),
        '1_Pooling/config.json': pooling,
      },
    );
    await assert.rejects(
      pipeline('feature-extraction', dense, OPTIONS),
      (e) => e instanceof ConfigError && e.file!.endsWith(join('2_Dense', 'config.json')),
    );
  },
);

test(
  'text-classification defaults: sigmoid for multi-label and single-label models, softmax otherwise',
  { skip },
  async () => {
    const text = 'the cat sat on the mat .';
    for (const [name, expectedFunction] of [
      ['bert-seqcls-multilabel', 'sigmoid'],
      ['distilbert-regression', 'sigmoid'],
      ['distilbert-seqcls', 'softmax'],
    ] as const) {
      const classify = await pipeline('text-classification', fixture(name), OPTIONS);
      const encoding = classify.tokenizer.encode(text);
      const logits = Array.from((await classify.model.forward([encoding])).logits!.data);
      const expected =
        expectedFunction === 'sigmoid' ? logits.map((x) => 1 / (1 + Math.exp(-x))) : softmax(logits);
      const all = (await classify.run(text, { topK: null })) as { label: string; score: number }[];
      assert.equal(all.length, logits.length);
      for (const { label, score } of all) {
        const id = Number(Object.entries(classify.model.config.id2label).find(([, l]) => l === label)![0]);
        assert.ok(Math.abs(score - expected[id]) <= 1e-6, `${name} ${label}: ${score} vs ${expected[id]}`);
      }
      assert.ok(all.every((r, i) => i === 0 || all[i - 1].score >= r.score));
      const raw = (await classify.run(text, { topK: 1, functionToApply: 'none' })) as { score: number }[];
      assert.equal(raw.length, 1);
      assert.ok(Math.abs(raw[0].score - Math.max(...logits)) <= 1e-6);
      await classify.dispose();
    }
  },
);

test(
  'token-classification: batched equals single; entities come from the model logits of the same tokens',
  { skip },
  async () => {
    const dir = fixture('bert-tokcls', {
      ...labelConfig(NER_LABELS),
    });
    const ner = await pipeline('ner', dir, OPTIONS);
    for (const aggregationStrategy of ['none', 'simple', 'first', 'average', 'max'] as const) {
      const results = await assertBatchEqualsSingles(
        (i, o) => ner.run(i as never, { aggregationStrategy, ...o }),
        TEXTS,
      );
      for (let i = 0; i < TEXTS.length; i++) {
        for (const entity of results[i] as { word: string; start: number; end: number }[]) {
          // Offsets are positions in the text; whole-word strategies give exactly the word there.
          assert.ok(entity.start >= 0 && entity.end <= TEXTS[i].length && entity.start < entity.end);
          if (aggregationStrategy !== 'none' && aggregationStrategy !== 'simple') {
            assert.equal(
              TEXTS[i].slice(entity.start, entity.end).replace(/ /g, ''),
              entity.word.replace(/ /g, ''),
            );
          }
        }
      }
    }
    // 'none' with no ignored label: one entity per non-special token, scored by the softmax of the model logits.
    const text = 'john lives in new york';
    const entities = (await ner.run(text, { ignoreLabels: [] })) as {
      entity: string;
      score: number;
      index: number;
    }[];
    const encoding = ner.tokenizer.encode(text);
    const logits = (await ner.model.forward([encoding])).logits!.toArray() as number[][][];
    assert.equal(entities.length, encoding.length - 2);
    for (const entity of entities) {
      const probs = softmax(logits[0][entity.index]);
      const best = probs.indexOf(Math.max(...probs));
      assert.equal(entity.entity, NER_LABELS[best as keyof typeof NER_LABELS]);
      assert.ok(Math.abs(entity.score - probs[best]) <= 1e-6);
    }
    // Long texts in overlapping windows (stride): per-window entities merged as Python does.
    const long = Array.from({ length: 14 }, () => 'john lives in new york .').join(' ');
    const windows = ner.tokenizer.encodeBatch([long], null, {
      truncation: true,
      maxLength: 64,
      stride: 10,
      returnOverflowingTokens: true,
    }).encodings;
    assert.ok(windows.length >= 2);
    const perWindow: EntityGroup[] = [];
    for (const w of windows) {
      const rows = (await ner.model.forward([w])).logits!.toArray() as number[][][];
      const tokens = w.ids.map((id, t) => ({
        id,
        token: w.tokens[t],
        offset: w.offsets[t],
        special: w.specialTokensMask[t] === 1,
        scores: softmax(rows[0][t]),
      }));
      const context = {
        text: long,
        id2label: NER_LABELS,
        subwordPrefixAware: true,
        unkId: 1,
        tokensToString: (t: string[]) => ner.tokenizer.decoder!.decode(t),
      };
      perWindow.push(...(aggregateTokens(tokens, 'first', context) as EntityGroup[]));
    }
    const strided = await ner.run([long, 'john'], { aggregationStrategy: 'first', stride: 10 });
    assert.ok(perWindow.length > mergeOverlappingEntities(perWindow).length, 'windows overlap');
    assertClose(strided[0], mergeOverlappingEntities(perWindow));
    assertClose(strided[1], await ner.run('john', { aggregationStrategy: 'first' }));
    await assert.rejects(
      ner.run(long, { stride: 10 }),
      (e) => e instanceof InputError && e.argument === 'stride',
    );
    await assert.rejects(
      ner.run('x', { aggregationStrategy: 'mean' as never }),
      (e) => e instanceof InputError && e.argument === 'aggregationStrategy',
    );
    await ner.dispose();
  },
);

const LONG_CONTEXT = Array.from(
  { length: 9 },
  (_, i) =>
    ['the cat sat on the mat .', 'john lives in new york .', 'paris is a big city in france .'][i % 3],
).join(' ');

test(
  'question-answering: long contexts in windows; the answer is the best span of the windows run one by one',
  { skip },
  async () => {
    const dir = fixture('bert-qa');
    const qa = await pipeline('question-answering', dir, OPTIONS);
    const options = { maxSeqLen: 24, docStride: 6, topK: 3 };
    const inputs = [
      { question: 'where is paris ?', context: LONG_CONTEXT },
      { question: 'who lives in new york ?', context: 'john lives in new york .' },
      { question: 'what sat on the mat ?', context: LONG_CONTEXT.slice(0, 60) },
    ];
    const results = (await assertBatchEqualsSingles(
      (i, o) => qa.run(i as never, { ...options, ...o }),
      inputs,
    )) as {
      start: number;
      end: number;
      answer: string;
    }[][];
    // Independent assembly: windows from the tokenizer, each run alone through the model, spans selected per window.
    const windows = qa.tokenizer.encodeBatch([inputs[0].question], [inputs[0].context], {
      truncation: 'only_second',
      maxLength: 24,
      stride: 6,
      returnOverflowingTokens: true,
    }).encodings;
    assert.ok(windows.length >= 4, `${windows.length} windows`);
    const model = await AutoModelForQuestionAnswering.fromPretrained(dir, { cacheDir: false });
    const qaWindows = [];
    for (const w of windows) {
      const out = await model.forward([w]);
      const seq = w.getSequenceIds();
      qaWindows.push({
        startLogits: out.start_logits!.data,
        endLogits: out.end_logits!.data,
        pMask: seq.map((s, t) => (w.ids[t] === 2 || s === 1 ? 0 : 1)),
        charSpan: (s: number, e: number): [number, number] => [w.offsets[s][0], w.offsets[e][1]],
      });
    }
    const expected = selectSpans(inputs[0].context, qaWindows, {
      topK: 3,
      maxAnswerLen: 15,
      handleImpossibleAnswer: false,
    });
    assertClose(results[0], expected);
    for (const answers of results) {
      for (const a of answers) assert.ok(a.answer.length > 0 && a.end - a.start === a.answer.length);
    }
    // topK 1 gives one answer object; the impossible answer can be offered.
    const one = await qa.run(inputs[1]);
    assert.ok(one && !Array.isArray(one) && typeof one.score === 'number');
    const withNull = (await qa.run(inputs[1], { topK: 50, handleImpossibleAnswer: true })) as {
      answer: string;
    }[];
    assert.ok(withNull.some((a) => a.answer === ''));
    // maxQuestionLen cuts the question after that many tokens.
    assert.deepEqual(
      await qa.run({ question: 'where is paris in france ?', context: LONG_CONTEXT }, { maxQuestionLen: 3 }),
      await qa.run({ question: 'where is paris', context: LONG_CONTEXT }),
    );
    // A tokenizer padding on the left puts the context first (only_first truncation), as Python does.
    const leftTokenizer = fixtureTokenizer();
    leftTokenizer.paddingSide = 'left';
    const leftQa = await pipeline('question-answering', dir, { ...OPTIONS, tokenizer: leftTokenizer });
    const left = (await assertBatchEqualsSingles(
      (i, o) => leftQa.run(i as never, { ...options, ...o }),
      inputs,
    )) as {
      start: number;
      end: number;
      answer: string;
    }[][];
    left.forEach((answers, i) => {
      assert.ok(answers.length > 0);
      for (const a of answers) assert.equal(inputs[i].context.slice(a.start, a.end), a.answer);
    });
    await leftQa.dispose();
    // Bad input names the field.
    const isInputError = (argument: string) => (e: unknown) =>
      e instanceof InputError && e.argument === argument;
    await assert.rejects(qa.run({ question: '', context: 'x' }), isInputError('inputs[0].question'));
    await assert.rejects(
      qa.run([{ question: 'q', context: 'x' }, { question: 'q' } as never]),
      isInputError('inputs[1].context'),
    );
    await assert.rejects(qa.run(inputs[1], { maxSeqLen: 500 }), isInputError('maxSeqLen'));
    // A question that fills the whole window leaves no room for the context.
    await assert.rejects(
      qa.run(
        { question: 'the cat sat on the mat the cat sat on the mat', context: 'john' },
        { maxSeqLen: 8, docStride: 2 },
      ),
      (e) => e instanceof InputError,
    );
    await Promise.all([qa.dispose(), model.dispose()]);
  },
);

test('fill-mask: top tokens of the softmax at each mask, targets, several masks', { skip }, async () => {
  const fill = await pipeline('fill-mask', fixture('bert-mlm'), OPTIONS);
  const texts = ['the cat sat on the [MASK] .', '[MASK] lives in paris', 'the [MASK] sat on the [MASK] .'];
  const results = await assertBatchEqualsSingles((i, o) => fill.run(i as never, o), texts);
  const encoding = fill.tokenizer.encode(texts[0]);
  const logits = (await fill.model.forward([encoding])).logits!.toArray() as number[][][];
  const probs = softmax(logits[0][encoding.ids.indexOf(4)]);
  const ranked = probs
    .map((p, id) => ({ p, id }))
    .sort((a, b) => b.p - a.p)
    .slice(0, 5);
  const predictions = results[0] as { score: number; token: number; token_str: string; sequence: string }[];
  assert.deepEqual(
    predictions.map((p) => p.token),
    ranked.map((r) => r.id),
  );
  predictions.forEach((p, k) => {
    assert.ok(Math.abs(p.score - ranked[k].p) <= 1e-6);
    assert.equal(p.token_str, fill.tokenizer.decode([p.token]));
    assert.equal(
      p.sequence,
      fill.tokenizer.decode(
        encoding.ids.map((id) => (id === 4 ? p.token : id)),
        { skipSpecialTokens: true },
      ),
    );
  });
  // Two masks: one list per mask.
  assert.equal((results[2] as unknown[][]).length, 2);
  // Targets restrict the candidates; scores stay those of the full softmax.
  const targeted = (await fill.run(texts[0], { targets: ['dog', 'mat', 'cat'] })) as {
    token: number;
    score: number;
  }[];
  assert.deepEqual(
    targeted.map((t) => t.token).sort(),
    [FIXTURE_VOCAB.indexOf('cat'), FIXTURE_VOCAB.indexOf('dog'), FIXTURE_VOCAB.indexOf('mat')].sort(),
  );
  for (const t of targeted) assert.ok(Math.abs(t.score - probs[t.token]) <= 1e-6);
  const warnings: string[] = [];
  const replaced = (await fill.run(texts[0], { targets: ['zebra'], onWarning: (m) => warnings.push(m) })) as {
    token: number;
  }[];
  assert.deepEqual(
    replaced.map((r) => r.token),
    [FIXTURE_VOCAB.indexOf('z')],
  );
  assert.equal(warnings.length, 1);
  const isInputError = (argument: string) => (e: unknown) =>
    e instanceof InputError && e.argument === argument;
  await assert.rejects(fill.run('no mask here'), isInputError('inputs[0]'));
  await assert.rejects(fill.run(texts[0], { targets: [] }), isInputError('targets'));
  await fill.dispose();
});

test(
  'zero-shot-classification: every text × label pair in shared batches, entailment from the label names',
  { skip },
  async () => {
    const dir = fixture('bert-seqcls', labelConfig(NLI_LABELS));
    const zsc = await pipeline('zero-shot-classification', dir, OPTIONS);
    const candidateLabels = ['cat', 'city', 'river'];
    const results = (await assertBatchEqualsSingles(
      (i, o) => zsc.run(i as never, { candidateLabels, ...o }),
      TEXTS,
    )) as {
      sequence: string;
      labels: string[];
      scores: number[];
    }[];
    // By hand: the entailment logit of each (text, "This example is <label>.") pair, softmax across labels.
    const text = TEXTS[1];
    const entail: number[] = [];
    const perLabel: number[] = [];
    for (const label of candidateLabels) {
      const encoding = zsc.tokenizer.encode(text, `This example is ${label}.`, { truncation: 'only_first' });
      const row = Array.from((await zsc.model.forward([encoding])).logits!.data);
      entail.push(row[2]);
      perLabel.push(Math.exp(row[2]) / (Math.exp(row[0]) + Math.exp(row[2])));
    }
    const expected = softmax(entail);
    assert.equal(results[1].sequence, text);
    results[1].labels.forEach((label, k) => {
      assert.ok(Math.abs(results[1].scores[k] - expected[candidateLabels.indexOf(label)]) <= 1e-6);
    });
    assert.ok(results[1].scores[0] >= results[1].scores[1] && results[1].scores[1] >= results[1].scores[2]);
    const multi = (await zsc.run(text, {
      candidateLabels: 'cat, city,river',
      multiLabel: true,
    })) as (typeof results)[0];
    multi.labels.forEach((label, k) =>
      assert.ok(Math.abs(multi.scores[k] - perLabel[candidateLabels.indexOf(label)]) <= 1e-6),
    );
    const isInputError = (argument: string) => (e: unknown) =>
      e instanceof InputError && e.argument === argument;
    await assert.rejects(zsc.run(text, { candidateLabels: [] }), isInputError('candidateLabels'));
    await assert.rejects(zsc.run(text), isInputError('candidateLabels'));
    await assert.rejects(
      zsc.run(text, { candidateLabels, hypothesisTemplate: 'no slot' }),
      isInputError('hypothesisTemplate'),
    );
    assert.deepEqual(await zsc.run([], { candidateLabels }), []);
    await zsc.dispose();
  },
);
