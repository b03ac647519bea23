/**
 * question-answering: transformers' QuestionAnsweringPipeline. The context is cut into windows of `maxSeqLen`
 * tokens sharing `docStride` tokens (the tokenizer's overflow, truncating only the context), every window runs
 * through the model in the shared batches, and the best span across windows is chosen as Python does
 * (qa-spans.ts), then mapped back to characters of the context (whole words with `alignToWords`).
 */
import type { Encoding } from '../encoding/encoding.js';
import { InputError, TruncationError } from '../errors.js';
import { Pipeline } from './base.js';
import { sliceRowPositions, toRow } from './model-batch.js';
import { selectSpans, type QaAnswer, type QaWindow } from './qa-spans.js';
import type { TaskSteps } from './runner.js';
import { describeValue } from './text-inputs.js';

export interface QuestionInput {
  question: string;
  context: string;
}

export interface QuestionAnsweringOptions {
  /** Answers per question. Default 1: the answer (or null when no span is possible); more: an array. */
  topK?: number;
  /** Tokens per window, special tokens included. Default min(model maximum, 384). */
  maxSeqLen?: number;
  /** Tokens shared by consecutive windows. Default min(maxSeqLen / 2, 128). */
  docStride?: number;
  /** Longest answer in tokens. Default 15. */
  maxAnswerLen?: number;
  /** Questions longer than this many tokens are cut to it (the slow-tokenizer rule). Default 64. */
  maxQuestionLen?: number;
  /** Also offer the empty answer, scored by the CLS token. Default false. */
  handleImpossibleAnswer?: boolean;
  /** Extend answers to whole words. Default true. */
  alignToWords?: boolean;
}

interface QaState {
  context: string;
  windows: Encoding[];
}

interface WindowLogits {
  start: Float32Array;
  end: Float32Array;
}

function positiveInteger(value: unknown, argument: string): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 1) {
    throw new InputError(`${argument}: expected a positive integer, got ${JSON.stringify(value)}`, {
      argument,
    });
  }
  return value;
}

/** Characters of the context covered by word `word` in sequence `sequence` of the window (Rust's word_to_chars). */
function wordChars(
  encoding: Encoding,
  sequenceIds: (number | null)[],
  word: number,
  sequence: number,
): [number, number] | null {
  let first = -1;
  let last = -1;
  for (let t = 0; t < encoding.length; t++) {
    if (sequenceIds[t] === sequence && encoding.words[t] === word) {
      if (first < 0) first = t;
      last = t;
    }
  }
  return first < 0 ? null : [encoding.offsets[first][0], encoding.offsets[last][1]];
}

export class QuestionAnsweringPipeline extends Pipeline<
  QuestionInput,
  QaAnswer | QaAnswer[] | null,
  QuestionAnsweringOptions
> {
  protected steps(
    options: QuestionAnsweringOptions,
  ): TaskSteps<QuestionInput, unknown, unknown, QaAnswer | QaAnswer[] | null> {
    const topK = positiveInteger(options.topK ?? 1, 'topK');
    const maxSeqLen = positiveInteger(options.maxSeqLen ?? Math.min(this.modelMaxLength, 384), 'maxSeqLen');
    if (maxSeqLen > this.modelMaxLength) {
      throw new InputError(`maxSeqLen: ${maxSeqLen} exceeds the model maximum of ${this.modelMaxLength}`, {
        argument: 'maxSeqLen',
      });
    }
    const docStride = options.docStride ?? Math.min(Math.floor(maxSeqLen / 2), 128);
    if (!Number.isSafeInteger(docStride) || docStride < 0 || docStride > maxSeqLen) {
      throw new InputError(
        `docStride: expected an integer from 0 to maxSeqLen (${maxSeqLen}), got ${docStride}`,
        {
          argument: 'docStride',
        },
      );
    }
    const maxAnswerLen = positiveInteger(options.maxAnswerLen ?? 15, 'maxAnswerLen');
    const maxQuestionLen = positiveInteger(options.maxQuestionLen ?? 64, 'maxQuestionLen');
    const handleImpossibleAnswer = options.handleImpossibleAnswer ?? false;
    const alignToWords = options.alignToWords ?? true;
    const { tokenizer } = this;
    // Python puts the question first when the tokenizer pads on the right.
    const questionFirst = tokenizer.paddingSide === 'right';
    const contextSequence = questionFirst ? 1 : 0;
    const clsId = tokenizer.clsTokenId;

    const cutQuestion = (question: string): string => {
      const encoding = tokenizer.encode(question, null, { addSpecialTokens: false, verbose: false });
      return encoding.length <= maxQuestionLen
        ? question
        : question.slice(0, encoding.offsets[maxQuestionLen - 1][1]);
    };

    const steps: TaskSteps<QuestionInput, QaState, WindowLogits, QaAnswer | QaAnswer[] | null> = {
      prepare: (input, index) => {
        if (input === null || typeof input !== 'object' || Array.isArray(input)) {
          throw new InputError(
            `inputs[${index}]: expected { question, context }, got ${describeValue(input)}`,
            {
              argument: `inputs[${index}]`,
            },
          );
        }
        for (const key of ['question', 'context'] as const) {
          if (typeof input[key] !== 'string' || input[key].length === 0) {
            throw new InputError(
              `inputs[${index}].${key}: expected a non-empty string, got ${describeValue(input[key])}`,
              {
                argument: `inputs[${index}].${key}`,
              },
            );
          }
        }
        const question = cutQuestion(input.question);
        const { context } = input;
        let windows: Encoding[];
        try {
          windows = [
            ...tokenizer.encodeBatch(
              [questionFirst ? question : context],
              [questionFirst ? context : question],
              {
                truncation: questionFirst ? 'only_second' : 'only_first',
                maxLength: maxSeqLen,
                stride: docStride,
                returnOverflowingTokens: true,
                verbose: false,
              },
            ).encodings,
          ];
        } catch (error) {
          if (!(error instanceof TruncationError)) throw error;
          throw new InputError(
            `inputs[${index}].question: the question leaves no room for the context in ${maxSeqLen}-token windows ` +
              `with docStride ${docStride} (${error.message}); raise maxSeqLen or lower maxQuestionLen / docStride`,
            { argument: `inputs[${index}].question`, cause: error },
          );
        }
        return { rows: windows.map(toRow), state: { context, windows } };
      },
      extract: (output, b, row, paddedLength) => {
        if (!output.start_logits || !output.end_logits) {
          throw new InputError('the model returned no start/end logits', { argument: 'model' });
        }
        return {
          start: sliceRowPositions(output.start_logits.data, b, paddedLength, row.ids.length, 1),
          end: sliceRowPositions(output.end_logits.data, b, paddedLength, row.ids.length, 1),
        };
      },
      finish: ({ context, windows }, logits) => {
        const qaWindows: QaWindow[] = windows.map((encoding, w) => {
          const sequenceIds = encoding.getSequenceIds();
          const pMask = sequenceIds.map((seq, t) =>
            encoding.ids[t] === clsId ? 0 : seq === contextSequence ? 0 : 1,
          );
          // A window without context tokens has no span to offer.
          if (!sequenceIds.includes(contextSequence)) pMask.fill(1);
          return {
            startLogits: logits[w].start,
            endLogits: logits[w].end,
            pMask,
            charSpan: (s, e) => {
              if (alignToWords) {
                const startWord = encoding.words[s];
                const endWord = encoding.words[e];
                const first =
                  startWord === null ? null : wordChars(encoding, sequenceIds, startWord, contextSequence);
                const last =
                  endWord === null ? null : wordChars(encoding, sequenceIds, endWord, contextSequence);
                if (first && last) return [first[0], last[1]];
              }
              return [encoding.offsets[s][0], encoding.offsets[e][1]];
            },
          };
        });
        const answers = selectSpans(context, qaWindows, { topK, maxAnswerLen, handleImpossibleAnswer });
        return topK === 1 ? (answers[0] ?? null) : answers;
      },
    };
    return steps as TaskSteps<QuestionInput, unknown, unknown, QaAnswer | QaAnswer[] | null>;
  }
}
