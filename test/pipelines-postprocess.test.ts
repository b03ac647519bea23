/**
 * The pipelines' post-processing as pure functions, checked by hand on constructed scores and logits: NER
 * aggregation (every strategy), QA span selection across windows, zero-shot scoring, pooling, label sorting.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  aggregateTokens,
  mergeOverlappingEntities,
  type EntityGroup,
  type TokenPrediction,
} from '../src/pipelines/token-aggregation.js';
import { selectSpans, type QaWindow } from '../src/pipelines/qa-spans.js';
import { zeroShotScores, entailmentId } from '../src/pipelines/zero-shot.js';
import { poolTokens } from '../src/pipelines/sentence-transformers/pooling.js';
import { labelScores } from '../src/pipelines/text-classification.js';
import { combineVectors, l2Normalize, softmax } from '../src/pipelines/math.js';

const close = (a: number, b: number, tol = 1e-12) => assert.ok(Math.abs(a - b) <= tol, `${a} vs ${b}`);

const ID2LABEL = { 0: 'O', 1: 'B-PER', 2: 'I-PER', 3: 'B-LOC', 4: 'I-LOC' };
// A WordPiece-style join ("##" pieces glue to the previous token), enough for these hand-built tokens.
const join = (tokens: string[]) =>
  tokens.map((t, i) => (i > 0 && t.startsWith('##') ? t.slice(2) : (i > 0 ? ' ' : '') + t)).join('');
const context = (text: string, subwordPrefixAware = true) => ({
  text,
  id2label: ID2LABEL,
  subwordPrefixAware,
  unkId: 1,
  tokensToString: join,
});

function tok(
  token: string,
  offset: [number, number],
  scores: number[],
  id = 100,
  special = false,
): TokenPrediction {
  return { token, offset, scores, id, special };
}

// "Jonas lives": "jon" leans B-PER (0.6), "##as" leans B-LOC (0.8), "lives" is O.
const JONAS = [
  tok('[CLS]', [0, 0], [1, 0, 0, 0, 0], 2, true),
  tok('jon', [0, 3], [0.1, 0.6, 0.3, 0, 0]),
  tok('##as', [3, 5], [0.05, 0.05, 0.1, 0.8, 0]),
  tok('lives', [6, 11], [0.9, 0.05, 0.05, 0, 0]),
  tok('[SEP]', [0, 0], [1, 0, 0, 0, 0], 3, true),
];

test('NER none: one entity per non-special token, O dropped, indices count the special tokens', () => {
  assert.deepEqual(aggregateTokens(JONAS, 'none', context('Jonas lives')), [
    { entity: 'B-PER', score: 0.6, index: 1, word: 'jon', start: 0, end: 3 },
    { entity: 'B-LOC', score: 0.8, index: 2, word: '##as', start: 3, end: 5 },
  ]);
  // ignoreLabels replaces the default ['O'].
  const all = aggregateTokens(JONAS, 'none', context('Jonas lives'), []);
  assert.equal(all.length, 3);
});

test('NER simple: tokens grouped by tag, a new group at a different tag; mean score', () => {
  assert.deepEqual(aggregateTokens(JONAS, 'simple', context('Jonas lives')), [
    { entity_group: 'PER', score: 0.6, word: 'jon', start: 0, end: 3 },
    { entity_group: 'LOC', score: 0.8, word: '##as', start: 3, end: 5 },
  ]);
});

test('NER first / max / average merge subwords into the word first', () => {
  assert.deepEqual(aggregateTokens(JONAS, 'first', context('Jonas lives')), [
    { entity_group: 'PER', score: 0.6, word: 'jonas', start: 0, end: 5 },
  ]);
  assert.deepEqual(aggregateTokens(JONAS, 'max', context('Jonas lives')), [
    { entity_group: 'LOC', score: 0.8, word: 'jonas', start: 0, end: 5 },
  ]);
  const [average] = aggregateTokens(JONAS, 'average', context('Jonas lives')) as EntityGroup[];
  // mean of the two score vectors: [0.075, 0.325, 0.2, 0.4, 0] → B-LOC with 0.4.
  assert.equal(average.entity_group, 'LOC');
  close(average.score, 0.4, 1e-15);
});

test('NER simple groups B- then I- of one tag, splits at a new B-, averages the scores', () => {
  const text = 'ann lee bob in new york';
  const tokens = [
    tok('ann', [0, 3], [0, 0.9, 0.1, 0, 0]),
    tok('lee', [4, 7], [0, 0.2, 0.7, 0.1, 0]),
    tok('bob', [8, 11], [0, 0.5, 0.4, 0.1, 0]),
    tok('in', [12, 14], [0.99, 0, 0, 0.01, 0]),
    tok('new', [15, 18], [0, 0, 0, 0.6, 0.4]),
    tok('york', [19, 23], [0, 0, 0.1, 0.2, 0.7]),
  ];
  const groups = aggregateTokens(tokens, 'simple', context(text)) as { score: number }[];
  assert.deepEqual(
    groups.map((g) => ({ ...g, score: Math.round(g.score * 1e12) / 1e12 })),
    [
      { entity_group: 'PER', score: 0.8, word: 'ann lee', start: 0, end: 7 },
      { entity_group: 'PER', score: 0.5, word: 'bob', start: 8, end: 11 },
      { entity_group: 'LOC', score: 0.65, word: 'new york', start: 15, end: 23 },
    ],
  );
});

test('NER subword heuristic without a continuing prefix; unknown tokens take their text and start words', () => {
  // Byte-level style tokens: "jon" + "as" with no space between them is a subword by Python's heuristic.
  const tokens = [
    tok('jon', [0, 3], [0.1, 0.6, 0.3, 0, 0]),
    tok('as', [3, 5], [0.05, 0.05, 0.1, 0.8, 0]),
    tok('lives', [6, 11], [0.1, 0.05, 0.05, 0, 0.8]),
  ];
  const first = aggregateTokens(tokens, 'first', context('Jonas lives', false));
  assert.deepEqual(
    first.map((g) => [(g as { entity_group: string }).entity_group, g.start, g.end]),
    [
      ['PER', 0, 5],
      ['LOC', 6, 11],
    ],
  );
  // An unknown token is never a subword (so it starts a word of its own) and shows the text it covers.
  const unk = [tok('jon', [0, 3], [0.1, 0.6, 0.3, 0, 0]), tok('[UNK]', [3, 5], [0.1, 0.6, 0.3, 0, 0], 1)];
  const words = aggregateTokens(unk, 'first', context('Jonas', false), []);
  assert.deepEqual(
    words.map((g) => g.word),
    ['jon', 'as'],
  );
  const none = aggregateTokens(unk, 'none', context('Jonas', false));
  assert.equal(none[1].word, 'as');
});

test('NER windows: overlapping entities keep the longer one, or the higher score at equal length', () => {
  const e = (start: number, end: number, score: number) => ({
    entity_group: 'X',
    word: '',
    start,
    end,
    score,
  });
  assert.deepEqual(
    mergeOverlappingEntities([e(10, 14, 0.5), e(0, 4, 0.9), e(2, 8, 0.1), e(10, 14, 0.7), e(20, 22, 0.3)]),
    [e(2, 8, 0.1), e(10, 14, 0.7), e(20, 22, 0.3)],
  );
  // An entity that starts where the previous one ends does not overlap it.
  assert.deepEqual(mergeOverlappingEntities([e(0, 4, 0.5), e(4, 6, 0.9)]), [e(0, 4, 0.5), e(4, 6, 0.9)]);
  assert.deepEqual(mergeOverlappingEntities([]), []);
});

// Three windows of one context: [CLS] q q [SEP] c c c c [SEP]; only context tokens (4..7) and CLS may answer.
const P_MASK = [0, 1, 1, 1, 0, 0, 0, 0, 1];
function window(w: number, start: number[], end: number[]): QaWindow {
  return {
    startLogits: start,
    endLogits: end,
    pMask: P_MASK,
    // Window w covers characters 100·w + token index (one character per token).
    charSpan: (s, e) => [w * 100 + s, w * 100 + e + 1],
  };
}
const flat = () => new Array(9).fill(0);
const peak = (i: number, value = 10, base = flat()) => base.map((v, k) => (k === i ? value : v));
const CONTEXT = 'x'.repeat(400);
const OPTS = { topK: 1, maxAnswerLen: 15, handleImpossibleAnswer: false };

test('QA: an answer present only in the third window is found, scored as softmax(start)·softmax(end)', () => {
  const windows = [window(0, flat(), flat()), window(1, flat(), flat()), window(2, peak(5), peak(6))];
  const [answer, ...rest] = selectSpans(CONTEXT, windows, OPTS);
  assert.equal(rest.length, 0);
  assert.deepEqual([answer.start, answer.end], [205, 207]);
  // 5 tokens take part in each softmax (CLS + 4 context tokens); masked ones are exp(-10000) = 0.
  const p = Math.exp(10) / (Math.exp(10) + 4);
  close(answer.score, p * p, 1e-12);
  assert.equal(answer.answer, CONTEXT.slice(205, 207));
});

test('QA: end before start, too-long spans and question tokens are never chosen', () => {
  // Start peaks after the end peak: the best valid span has start ≤ end.
  const [answer] = selectSpans(CONTEXT, [window(0, peak(7), peak(5))], OPTS);
  assert.ok(answer.start - 0 <= answer.end - 1, JSON.stringify(answer));
  // Peaks on question tokens (masked) are ignored.
  const [q] = selectSpans(CONTEXT, [window(0, peak(1, 50, peak(6)), peak(2, 50, peak(6)))], OPTS);
  assert.deepEqual([q.start, q.end], [6, 7]);
  // maxAnswerLen 2 forbids the span 4..7 (4 tokens): the best has at most 2 tokens.
  const spans = selectSpans(CONTEXT, [window(0, peak(4), peak(7))], { ...OPTS, topK: 3, maxAnswerLen: 2 });
  for (const s of spans) assert.ok(s.end - s.start <= 2, JSON.stringify(s));
  assert.equal(spans.length, 3);
  assert.ok(spans[0].score >= spans[1].score && spans[1].score >= spans[2].score);
});

test('QA: topK across windows, and the impossible answer scored by the smallest CLS product', () => {
  const windows = [window(0, peak(4, 3), peak(4, 3)), window(1, peak(6, 5), peak(7, 5))];
  const answers = selectSpans(CONTEXT, windows, { ...OPTS, topK: 2 });
  assert.deepEqual(
    answers.map((a) => [a.start, a.end]),
    [
      [106, 108],
      [4, 5],
    ],
  );
  const cls = [window(0, peak(0, 4), peak(0, 4)), window(1, peak(0, 2), peak(0, 2))];
  const withNull = selectSpans(CONTEXT, cls, { ...OPTS, topK: 10, handleImpossibleAnswer: true });
  const nullAnswer = withNull.find((a) => a.answer === '' && a.start === 0 && a.end === 0);
  assert.ok(nullAnswer);
  const q = Math.exp(2) / (Math.exp(2) + 4); // window 1's CLS probability: the smaller one
  close(nullAnswer.score, q * q, 1e-12);
});

test('zero-shot: softmax of entailment logits across labels, or entailment vs contradiction per label', () => {
  const logits = [
    [0, 0, 2],
    [1, 0, 0],
  ];
  const single = zeroShotScores(logits, ['sports', 'politics'], 2, false);
  assert.deepEqual(single.labels, ['sports', 'politics']);
  close(single.scores[0], Math.exp(2) / (Math.exp(2) + 1));
  const multi = zeroShotScores(logits, ['sports', 'politics'], 2, true);
  close(multi.scores[0], Math.exp(2) / (Math.exp(2) + 1)); // vs contradiction logit 0
  close(multi.scores[1], 1 / (1 + Math.exp(1)));
  // entailment -1 means the last class; contradiction is then class 0.
  assert.deepEqual(
    zeroShotScores(logits, ['a', 'b'], -1, true),
    multi && zeroShotScores(logits, ['a', 'b'], 2, true),
  );
  assert.equal(entailmentId({ CONTRADICTION: 0, NEUTRAL: 1, ENTAILMENT: 2 }), 2);
  assert.equal(entailmentId({ LABEL_0: 0, LABEL_1: 1 }), -1);
});

test('pooling modes and their concatenation, normalisation, window combination', () => {
  const tokens = Float32Array.from([1, 2, 3, 4]);
  assert.deepEqual(poolTokens(tokens, 2, 2, ['cls']), [1, 2]);
  assert.deepEqual(poolTokens(tokens, 2, 2, ['mean']), [2, 3]);
  assert.deepEqual(poolTokens(tokens, 2, 2, ['max']), [3, 4]);
  assert.deepEqual(poolTokens(tokens, 2, 2, ['mean_sqrt_len']), [4 / Math.SQRT2, 6 / Math.SQRT2]);
  assert.deepEqual(poolTokens(tokens, 2, 2, ['cls', 'max']), [1, 2, 3, 4]);
  assert.deepEqual(l2Normalize([3, 4]), [0.6, 0.8]);
  assert.deepEqual(l2Normalize([0, 0]), [0, 0]);
  assert.deepEqual(
    combineVectors(
      [
        [1, 5],
        [3, 1],
      ],
      'mean',
    ),
    [2, 3],
  );
  assert.deepEqual(
    combineVectors(
      [
        [1, 5],
        [3, 1],
      ],
      'max',
    ),
    [3, 5],
  );
});

test('labelScores: best label by default, sorted topK, all labels with null; softmax sums to one', () => {
  const scores = softmax([0.5, 2, -1]);
  close(
    scores.reduce((a, b) => a + b, 0),
    1,
    1e-15,
  );
  const id2label = { 0: 'a', 1: 'b', 2: 'c' };
  assert.deepEqual(labelScores(scores, id2label, undefined), { label: 'b', score: scores[1] });
  assert.deepEqual(
    (labelScores(scores, id2label, null) as { label: string }[]).map((l) => l.label),
    ['b', 'a', 'c'],
  );
  assert.equal((labelScores(scores, id2label, 2) as unknown[]).length, 2);
});
