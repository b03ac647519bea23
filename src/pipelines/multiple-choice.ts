/**
 * multiple-choice: a `*ForMultipleChoice` checkpoint scores each choice of a question (SWAG, RACE-style tasks).
 * transformers has no pipeline for it; this one does what its multiple-choice examples do by hand: each
 * (question, choice) pair is tokenized as a text pair (truncated longest_first at the model maximum), the model
 * scores every pair, and a softmax over one question's choices gives their probabilities. Pairs of all questions
 * share the length-sorted batches: HF's head scores each pair on its own, so grouping does not change a score.
 */
import { InputError, TruncationError } from '../errors.js';
import { Pipeline, type PairTruncation } from './base.js';
import { toRow } from './model-batch.js';
import type { TaskSteps } from './runner.js';
import { argmax, softmax } from './math.js';
import { describeValue } from './text-inputs.js';

/** One question (or context, or a SWAG first sentence) and the choices to score against it. */
export interface MultipleChoiceInput {
  question: string;
  choices: readonly string[];
}

export interface MultipleChoiceOptions {
  /** 'longest_first' (default) or 'only_second' (never cut the question). */
  truncation?: PairTruncation;
  /** Tokens per (question, choice) pair, special tokens included. Default: the model maximum. */
  maxLength?: number;
}

export interface MultipleChoiceResult {
  /** Softmax over the choices' logits, in the input's choice order. */
  scores: number[];
  /** The model's logit per choice. */
  logits: number[];
  /** Index of the best choice (the first of equal scores). */
  best: number;
  /** Text of the best choice. */
  choice: string;
}

function readInput(value: unknown, index: number): MultipleChoiceInput {
  const input = value as Partial<MultipleChoiceInput> | null;
  if (
    input !== null &&
    typeof input === 'object' &&
    typeof input.question === 'string' &&
    Array.isArray(input.choices) &&
    input.choices.length > 0 &&
    input.choices.every((c) => typeof c === 'string')
  ) {
    return input as MultipleChoiceInput;
  }
  throw new InputError(
    `inputs[${index}]: expected { question: string, choices: string[] } with at least one choice, got ${describeValue(value)}`,
    { argument: `inputs[${index}]` },
  );
}

export class MultipleChoicePipeline extends Pipeline<
  MultipleChoiceInput,
  MultipleChoiceResult,
  MultipleChoiceOptions
> {
  protected steps(
    options: MultipleChoiceOptions,
  ): TaskSteps<MultipleChoiceInput, unknown, unknown, MultipleChoiceResult> {
    const { truncation, maxLength } = this.pairTruncation(options);
    const { tokenizer } = this;
    const steps: TaskSteps<MultipleChoiceInput, readonly string[], number, MultipleChoiceResult> = {
      prepare: (value, index) => {
        const { question, choices } = readInput(value, index);
        let encodings;
        try {
          encodings = tokenizer.encodeBatch(
            choices.map(() => question),
            [...choices],
            { truncation, maxLength, verbose: false },
          ).encodings;
        } catch (error) {
          if (!(error instanceof TruncationError)) throw error;
          throw new InputError(
            `inputs[${index}]: a (question, choice) pair cannot be cut to ${maxLength} tokens with ${truncation} ` +
              `truncation (${error.message})`,
            { argument: `inputs[${index}]`, cause: error },
          );
        }
        return { rows: encodings.map(toRow), state: choices };
      },
      // The batch runs as one example whose choices are the batch's rows (see runModelBatch): logits [1, rows].
      extract: (output, b) => {
        if (!output.logits) throw new InputError('the model returned no logits', { argument: 'model' });
        return output.logits.data[b]!;
      },
      finish: (choices, logits) => {
        const scores = softmax(logits);
        const best = argmax(scores);
        return { scores, logits: [...logits], best, choice: choices[best]! };
      },
    };
    return steps as TaskSteps<MultipleChoiceInput, unknown, unknown, MultipleChoiceResult>;
  }
}
