/**
 * text-classification on the bundled demo model (DistilBERT SST-2) against the PyTorch reference outputs, plus
 * batching (mixed lengths, caller's order, streams), long inputs (errors, truncation, sliding windows checked
 * against windows run one by one) and bad input.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { join } from 'node:path';
import { InputError } from '../src/errors.js';
import {
  pipeline,
  type LabelScore,
  type LabelScoresWithLogits,
  type LabelScoreWithLogits,
  type TextClassificationPipeline,
  type TextClassificationResult,
} from '../src/pipelines/index.js';
import { softmax } from '../src/pipelines/math.js';
import { readSharedJson, REPO_ROOT, skipUnlessShared } from './helpers/shared.js';
import { assertDeepClose } from './helpers/assert-close.js';

const DEMO = join(REPO_ROOT, 'models', 'seqbatch-demo-sst2');
const REFERENCE = ['models', 'seqbatch-demo-sst2', 'reference'];
const skip = skipUnlessShared(...REFERENCE);

interface SeedExample {
  text: string;
  logits: number[];
  pipeline_output: { label: string; score: number };
}
interface DevExample {
  index: number;
  sentence: string;
  logits: number[];
}

const within = (got: number, expected: number, what: string) =>
  assert.ok(Math.abs(got - expected) <= 1e-4 + 1e-4 * Math.abs(expected), `${what}: ${got} vs ${expected}`);

let classify: TextClassificationPipeline;
before(async () => {
  classify = await pipeline('sentiment-analysis', DEMO, { cacheDir: false });
});
after(async () => {
  await classify?.dispose();
});

/** Raw logits by label id, through functionToApply 'none'. */
function logitsOf(result: TextClassificationResult): number[] {
  const byLabel = Object.fromEntries((result as LabelScore[]).map((r) => [r.label, r.score]));
  return [byLabel.NEGATIVE, byLabel.POSITIVE];
}

test('seed examples: label and score of the Python pipeline, logits of PyTorch', { skip }, async () => {
  const { examples } = readSharedJson<{ examples: SeedExample[] }>(...REFERENCE, 'seed-examples.json');
  const results = (await classify.run(examples.map((e) => e.text))) as LabelScore[];
  examples.forEach((example, i) => {
    assert.equal(results[i].label, example.pipeline_output.label);
    within(results[i].score, example.pipeline_output.score, `example ${i} score`);
  });
  const logits = await classify.run(
    examples.map((e) => e.text),
    { functionToApply: 'none', topK: null },
  );
  examples.forEach((example, i) => {
    logitsOf(logits[i]).forEach((v, k) => within(v, example.logits[k], `example ${i} logit ${k}`));
  });
});

test(
  'a sample of SST-2 dev in one mixed-length call: reference logits, in the caller order',
  { skip },
  async () => {
    const { examples } = readSharedJson<{ examples: DevExample[] }>(...REFERENCE, 'sst2-dev.json');
    const sample = examples.filter((_, i) => i % 9 === 0);
    const results = await classify.run(
      sample.map((e) => e.sentence),
      { functionToApply: 'none', topK: null, batchSize: 16 },
    );
    sample.forEach((example, i) => {
      logitsOf(results[i]).forEach((v, k) => within(v, example.logits[k], `dev ${example.index} logit ${k}`));
    });
    const stats = classify.lastRunStats;
    assert.ok(
      stats && stats.done && stats.sequences === sample.length && stats.batches >= sample.length / 16,
    );
    assert.ok(stats.paddingRatio >= 0 && stats.paddingRatio < 0.2, `padding ratio ${stats.paddingRatio}`);
  },
);

test(
  'returnLogits: the PyTorch logits in label-id order next to the usual label and score',
  { skip },
  async () => {
    const { examples } = readSharedJson<{ examples: SeedExample[] }>(...REFERENCE, 'seed-examples.json');
    const texts = examples.map((e) => e.text);
    const plain = (await classify.run(texts)) as LabelScore[];
    const withLogits = (await classify.run(texts, { returnLogits: true })) as LabelScoreWithLogits[];
    examples.forEach((example, i) => {
      const { logits, ...labelScore } = withLogits[i];
      assert.deepEqual(labelScore, plain[i], `example ${i}: label and score as without returnLogits`);
      assert.equal(logits.length, 2);
      logits.forEach((v, k) => within(v, example.logits[k], `example ${i} logit ${k}`));
      // The score is the softmax of exactly these logits.
      assert.equal(labelScore.score, Math.max(...softmax(logits)));
    });
    // With topK: the sorted labels (as without returnLogits) and the same logits.
    const top = (await classify.run(texts, { topK: 1, returnLogits: true })) as LabelScoresWithLogits[];
    const topPlain = (await classify.run(texts, { topK: 1 })) as LabelScore[][];
    top.forEach((result, i) => {
      assert.deepEqual(result.labels, topPlain[i]);
      assert.deepEqual(result.logits, withLogits[i].logits);
    });
    // functionToApply changes the scores, never the logits.
    const sigmoid = (await classify.run(texts[0], {
      functionToApply: 'sigmoid',
      returnLogits: true,
    })) as LabelScoreWithLogits;
    // A single run against a row of a batch (which may run packed): within 1e-5.
    assertDeepClose(sigmoid.logits, withLogits[0].logits, 1e-5, 'sigmoid logits');
    assert.equal(sigmoid.score, 1 / (1 + Math.exp(-Math.max(...sigmoid.logits))));
    await assert.rejects(
      classify.run('x', { returnLogits: 'yes' as never }),
      (e: unknown) => e instanceof InputError && e.argument === 'returnLogits',
    );
  },
);

test('each row of a mixed-length batch equals its one-at-a-time run (≤ 1e-5)', async () => {
  const texts = [
    'a',
    'the movie was a long , slow , and ultimately pointless exercise in self-indulgence .',
    '',
    'great !',
    'not the best , not the worst , just forgettable and a bit too long for what it is .',
    'i loved it',
  ];
  const batched = await classify.run(texts, { functionToApply: 'none', topK: null, batchSize: 4 });
  for (let i = 0; i < texts.length; i++) {
    const alone = await classify.run(texts[i], { functionToApply: 'none', topK: null });
    const [a, b] = [logitsOf(batched[i]), logitsOf(alone)];
    a.forEach((v, k) => assert.ok(Math.abs(v - b[k]) <= 1e-5, `row ${i}: ${v} vs ${b[k]}`));
  }
});

test('streams: an async iterable in gives an async iterable out, in order', async () => {
  const texts = ['good', 'bad and boring', 'an unexpectedly moving and funny film', 'meh'];
  async function* source() {
    for (const t of texts) yield t;
  }
  const streamed: LabelScore[] = [];
  for await (const r of classify.run(source(), { batchSize: 2 })) streamed.push(r as LabelScore);
  assert.deepEqual(streamed, await classify.run(texts));
  // Options of the stream form are checked when it is called, before the source is read.
  let pulled = 0;
  const counted = (function* () {
    for (const t of texts) {
      pulled++;
      yield t;
    }
  })();
  assert.throws(
    () => classify.run(counted, { batchSize: 0 }),
    (e: unknown) => e instanceof InputError && e.argument === 'batchSize',
  );
  assert.throws(
    () => classify.run(counted, { topK: -1 }),
    (e: unknown) => e instanceof InputError && e.argument === 'topK',
  );
  assert.equal(pulled, 0);
  // Breaking out early closes the source without reading the rest.
  let closed = false;
  async function* endless() {
    try {
      for (let i = 0; ; i++) yield `text number ${i}`;
    } finally {
      closed = true;
    }
  }
  let taken = 0;
  for await (const r of classify.run(endless(), { windowSize: 8, batchSize: 4 })) {
    assert.ok(r);
    if (++taken === 5) break;
  }
  assert.ok(closed);
});

test('text pairs run as the tokenizer encodes them', async () => {
  const pair = { text: 'the plot', textPair: 'was thin but the acting saved it' };
  const [result] = (await classify.run([pair], { functionToApply: 'none', topK: null })) as LabelScore[][];
  const encoding = classify.tokenizer.encode(pair.text, pair.textPair);
  const output = await classify.model.forward([encoding]);
  const expected = Array.from(output.logits!.data);
  logitsOf(result).forEach((v, k) => assert.ok(Math.abs(v - expected[k]) <= 1e-5));
});

test("an Encoding of the pipeline's tokenizer runs as it is: the results of its text, alone or mixed with texts", async () => {
  const texts = [
    'a gorgeous , witty film',
    'flat',
    { text: 'the plot', textPair: 'was thin but the acting saved it' },
  ];
  const encodings = texts.map((t) =>
    typeof t === 'string' ? classify.tokenizer.encode(t) : classify.tokenizer.encode(t.text, t.textPair),
  );
  const options = { functionToApply: 'none' as const, topK: null };
  const fromText = await classify.run(texts, options);
  // The same rows in the same batch: bit for bit.
  assert.deepEqual(await classify.run(encodings, options), fromText);
  // Mixed with texts, in another order and batch.
  const mixed = await classify.run([encodings[2]!, 'flat', encodings[0]!, encodings[1]!], options);
  assertDeepClose(mixed, [fromText[2], fromText[1], fromText[0], fromText[1]], 1e-5, 'mixed');
  assertDeepClose(await classify.run(encodings[0]!, options), fromText[0], 1e-5, 'single');
});

test('an Encoding that does not fit, or is padded, is an InputError naming the input', async () => {
  const long = classify.tokenizer.encode('a very long review . '.repeat(40));
  assert.ok(long.length > 128);
  for (const options of [{}, { truncation: true }, { longInputs: 'sliding-window' as const }]) {
    await assert.rejects(
      classify.run(['fine', long], options),
      (e: unknown) =>
        e instanceof InputError && e.argument === 'inputs[1]' && /pass its text/.test(e.message),
    );
  }
  const padded = classify.tokenizer.call(['short', 'a somewhat longer text'], { padding: true })
    .encodings[0]!;
  await assert.rejects(
    classify.run([padded]),
    (e: unknown) => e instanceof InputError && e.argument === 'inputs[0]' && /padded/.test(e.message),
  );
});

const LONG = Array.from(
  { length: 12 },
  (_, i) =>
    `sentence ${i} says the film is ${i % 3 === 0 ? 'wonderful' : 'dull and tiresome'} in every way .`,
).join(' ');

test('long inputs: an InputError naming truncation by default; truncation keeps the first window', async () => {
  await assert.rejects(
    classify.run(LONG),
    (e: unknown) => e instanceof InputError && e.argument === 'truncation',
  );
  const truncated = await classify.run(LONG, { truncation: true, functionToApply: 'none', topK: null });
  const first = classify.tokenizer.encode(LONG, null, { truncation: true, maxLength: 128 });
  assert.equal(first.length, 128);
  const expected = Array.from((await classify.model.forward([first])).logits!.data);
  logitsOf(truncated).forEach((v, k) => assert.ok(Math.abs(v - expected[k]) <= 1e-5));
  assert.deepEqual(
    await classify.run(LONG, { longInputs: 'truncate' }),
    await classify.run(LONG, { truncation: true }),
  );
});

test('long pairs: truncation cuts longest-first; sliding windows run over the first text', async () => {
  const pair = { text: LONG, textPair: 'in short , it was fine' };
  const run = async (encoding: Parameters<typeof classify.model.forward>[0]) =>
    Array.from((await classify.model.forward(encoding)).logits!.data);
  const truncated = await classify.run(pair, { truncation: true, functionToApply: 'none', topK: null });
  const cut = classify.tokenizer.encode(pair.text, pair.textPair, {
    truncation: 'longest_first',
    maxLength: 128,
  });
  const expected = await run([cut]);
  logitsOf(truncated).forEach((v, k) => assert.ok(Math.abs(v - expected[k]) <= 1e-5));
  const windows = classify.tokenizer.encodeBatch([pair.text], [pair.textPair], {
    truncation: 'only_first',
    maxLength: 128,
    stride: 16,
    returnOverflowingTokens: true,
  }).encodings;
  assert.ok(windows.length >= 2);
  const perWindow: number[][] = [];
  for (const w of windows) perWindow.push(await run([w]));
  const mean = [0, 1].map((k) => perWindow.reduce((s, l) => s + l[k], 0) / perWindow.length);
  const slid = await classify.run(pair, {
    longInputs: 'sliding-window',
    stride: 16,
    functionToApply: 'none',
    topK: null,
  });
  logitsOf(slid).forEach((v, k) => assert.ok(Math.abs(v - mean[k]) <= 1e-5));
});

test('sliding windows: mean / max of the windows run one by one, then softmax', async () => {
  const windows = classify.tokenizer.encodeBatch([LONG], null, {
    truncation: true,
    maxLength: 128,
    stride: 32,
    returnOverflowingTokens: true,
  }).encodings;
  assert.ok(windows.length >= 2, `${windows.length} windows`);
  const perWindow: number[][] = [];
  for (const w of windows) perWindow.push(Array.from((await classify.model.forward([w])).logits!.data));
  for (const how of ['mean', 'max'] as const) {
    const combined = [0, 1].map((k) =>
      how === 'mean'
        ? perWindow.reduce((s, l) => s + l[k], 0) / perWindow.length
        : Math.max(...perWindow.map((l) => l[k])),
    );
    const expected = softmax(combined);
    const result = await classify.run(LONG, {
      longInputs: 'sliding-window',
      stride: 32,
      windowAggregation: how,
      topK: null,
    });
    logitsOf(result).forEach((v, k) => assert.ok(Math.abs(v - expected[k]) <= 1e-5, `${how} ${k}: ${v}`));
  }
  // returnLogits gives the combined logits the scores came from.
  const slid = (await classify.run(LONG, {
    longInputs: 'sliding-window',
    stride: 32,
    windowAggregation: 'max',
    returnLogits: true,
  })) as LabelScoreWithLogits;
  const maxLogits = [0, 1].map((k) => Math.max(...perWindow.map((l) => l[k])));
  slid.logits.forEach((v, k) => assert.ok(Math.abs(v - maxLogits[k]) <= 1e-5, `max logit ${k}: ${v}`));
  // Long and short inputs together: each long input's windows come back to it.
  const mixed = await classify.run(['short one', LONG, 'another'], {
    longInputs: 'sliding-window',
    stride: 32,
  });
  // Within 1e-5, not bit for bit: the mixed batch may run packed (padding-free) where the single run does not.
  assertDeepClose(
    mixed[1],
    await classify.run(LONG, { longInputs: 'sliding-window', stride: 32 }),
    1e-5,
    'long',
  );
  assertDeepClose(mixed[0], await classify.run('short one'), 1e-5, 'short');
});

test('bad input: empty arrays, empty strings, missing pair sides, bad options, tiny token budgets', async () => {
  assert.deepEqual(await classify.run([]), []);
  const empty = (await classify.run('')) as LabelScore;
  assert.ok(empty.label === 'NEGATIVE' || empty.label === 'POSITIVE');
  const isInputError = (argument: string) => (e: unknown) =>
    e instanceof InputError && e.argument === argument;
  await assert.rejects(classify.run([{ text: 'a', textPair: null }]), isInputError('inputs[0].textPair'));
  await assert.rejects(classify.run(['ok', { textPair: 'b' } as never]), isInputError('inputs[1].text'));
  await assert.rejects(classify.run(['ok', 42 as never]), isInputError('inputs[1]'));
  await assert.rejects(
    classify.run('x', { functionToApply: 'tanh' as never }),
    isInputError('functionToApply'),
  );
  await assert.rejects(classify.run('x', { topK: 0 }), isInputError('topK'));
  await assert.rejects(classify.run('x', { longInputs: 'chunk' as never }), isInputError('longInputs'));
  await assert.rejects(
    classify.run('x', { longInputs: 'sliding-window', stride: 500 }),
    isInputError('stride'),
  );
  await assert.rejects(
    classify.run(['a fairly long sentence here'], { maxBatchTokens: 3 }),
    isInputError('maxBatchTokens'),
  );
  await assert.rejects(pipeline('summarization' as never, DEMO), isInputError('task'));
});
