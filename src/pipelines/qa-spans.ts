/**
 * Span selection of transformers' QuestionAnsweringPipeline as a pure function over the windows of one
 * question/context: per window, logits of tokens that cannot answer (p_mask) are set to -10000, start and end
 * logits each go through a softmax, the CLS position is zeroed (its product is kept as the "no answer" score),
 * every span with start ≤ end < start + maxAnswerLen scores start·end, and only spans whose both ends are
 * context tokens are kept. The best spans of all windows are then sorted together.
 */
import { softmax } from './math.js';

export interface QaWindow {
  startLogits: ArrayLike<number>;
  endLogits: ArrayLike<number>;
  /** 1 for tokens that cannot be part of an answer (question, special and pad tokens), 0 for the others. */
  pMask: ArrayLike<number>;
  /** [start, end) in the context of the span from token `start` to token `end` (inclusive). */
  charSpan(start: number, end: number): [number, number];
}

export interface SpanSelectionOptions {
  topK: number;
  maxAnswerLen: number;
  handleImpossibleAnswer: boolean;
}

export interface QaAnswer {
  score: number;
  /** [start, end) of the answer in the context, UTF-16 code units. */
  start: number;
  end: number;
  answer: string;
}

interface Span {
  start: number;
  end: number;
  score: number;
}

/** The best `topK` spans of one window (Python's `select_starts_ends` + `decode_spans`) and its null score. */
export function windowSpans(
  window: QaWindow,
  options: SpanSelectionOptions,
): { spans: Span[]; nullScore: number } {
  const { pMask } = window;
  const length = pMask.length;
  const allowed = Array.from(pMask, (m) => m === 0);
  const masked = (logits: ArrayLike<number>) =>
    Array.from({ length }, (_, i) => (allowed[i] ? logits[i] : -10000));
  const start = softmax(masked(window.startLogits));
  const end = softmax(masked(window.endLogits));
  const nullScore = start[0] * end[0];
  start[0] = 0;
  end[0] = 0;
  // Every span in the band, in row-major order (numpy's flat order, so the first maximum wins ties).
  const band: Span[] = [];
  for (let s = 0; s < length; s++) {
    const last = Math.min(length - 1, s + options.maxAnswerLen - 1);
    for (let e = s; e <= last; e++) band.push({ start: s, end: e, score: start[s] * end[e] });
  }
  let best: Span[];
  if (options.topK === 1) {
    let top = band[0];
    for (const span of band) if (span.score > top.score) top = span;
    best = top ? [top] : [];
  } else {
    best = band.sort((a, b) => b.score - a.score).slice(0, options.topK);
  }
  return { spans: best.filter((span) => allowed[span.start] && allowed[span.end]), nullScore };
}

/** Answers for one question over all windows of its context, best first (at most `topK`). */
export function selectSpans(
  context: string,
  windows: readonly QaWindow[],
  options: SpanSelectionOptions,
): QaAnswer[] {
  const answers: QaAnswer[] = [];
  let minNullScore = 1000000;
  for (const window of windows) {
    const { spans, nullScore } = windowSpans(window, options);
    minNullScore = Math.min(minNullScore, nullScore);
    for (const span of spans) {
      const [start, end] = window.charSpan(span.start, span.end);
      answers.push({ score: span.score, start, end, answer: context.slice(start, end) });
    }
  }
  if (options.handleImpossibleAnswer) answers.push({ score: minNullScore, start: 0, end: 0, answer: '' });
  return answers.sort((a, b) => b.score - a.score).slice(0, options.topK);
}
