/**
 * `seqbatch qa`: extractive question answering. Each row is a question and its context: the `question` and
 * `context` columns (or `--column`/`--pair-column`) of a JSONL/CSV/TSV file, or one `--question` asked of every
 * text. Long contexts are cut into windows sharing `--doc-stride` tokens.
 */
import type { Command } from 'commander';
import { InputError } from '../../errors.js';
import {
  pipeline,
  type QaAnswer,
  type QuestionAnsweringOptions,
  type QuestionAnsweringPipeline,
  type QuestionInput,
} from '../../pipelines/index.js';
import {
  resolveInputFormat,
  type InputRow,
  type OutputRecord,
  type RowsCliOptions,
  type RowsCommandIO,
  type RowsCommandSummary,
} from '../io/index.js';
import type { InputFormat } from '../io/index.js';
import { integerFlag } from './shared-flags.js';
import { addModelOptions, type ModelCliOptions } from './shared-model.js';
import {
  addRowCommandOptions,
  runPipelineCommand,
  type BatchingCliOptions,
  type PipelineRowTask,
} from './shared-rows.js';

export interface QaCliOptions extends RowsCliOptions, BatchingCliOptions, ModelCliOptions {
  question?: string;
  topK?: string;
  docStride?: string;
  maxSeqLen?: string;
  maxAnswerLen?: string;
  maxQuestionLen?: string;
  handleImpossibleAnswer?: boolean;
}

export function register(program: Command): void {
  const command = program
    .command('qa')
    .description(
      'answer questions from contexts with a question-answering model; one {answer, score, start, end} row per input',
    )
    .argument('[contexts...]', 'contexts to ask --question of (instead of --input)');
  addModelOptions(command, { defaultsToDemo: false, needs: 'question-answering model', checksHead: true });
  addRowCommandOptions(command);
  command
    .option('-q, --question <text>', 'ask this question of every row (each row is then a context)')
    .option('--top-k <n>', 'answers per question; above 1 the fields are lists, best first', '1')
    .option(
      '--doc-stride <n>',
      'context tokens shared by consecutive windows (default: min(max-seq-len/2, 128))',
    )
    .option(
      '--max-seq-len <n>',
      'tokens per window, special tokens included (default: min(model maximum, 384))',
    )
    .option('--max-answer-len <n>', 'longest answer, in tokens', '15')
    .option('--max-question-len <n>', 'questions are cut after this many tokens', '64')
    .option('--handle-impossible-answer', 'also offer the empty answer, scored by the CLS token')
    .action(async (contexts: string[], options: QaCliOptions) => {
      await runQa(contexts, options);
    });
}

function isTabular(format: InputFormat): boolean {
  return format === 'jsonl' || format === 'csv' || format === 'tsv';
}

/** Each row as a question/context pair (a fixed --question, or the row's text and pair). */
function questionInputs(rows: readonly InputRow[], question: string | undefined): QuestionInput[] {
  return rows.map((row) => {
    if (question !== undefined) return { question, context: row.text };
    if (row.textPair === undefined) {
      throw new InputError(
        `row ${row.line}: no context (give --question, or a context column with --pair-column)`,
        { argument: '--pair-column' },
      );
    }
    return { question: row.text, context: row.textPair };
  });
}

function answerRecord(result: QaAnswer | QaAnswer[] | null): OutputRecord {
  if (result === null) return { answer: null, score: null, start: null, end: null };
  if (!Array.isArray(result)) return { ...result };
  return {
    answer: result.map((a) => a.answer),
    score: result.map((a) => a.score),
    start: result.map((a) => a.start),
    end: result.map((a) => a.end),
  };
}

/**
 * What qa does with a model under these flags: the pipeline it opens and the records of some rows (shared by the
 * local command and `seqbatch jobs worker`).
 */
export function qaRowTask(options: QaCliOptions): PipelineRowTask<QuestionAnsweringPipeline> {
  const callOptions: QuestionAnsweringOptions = {};
  const set = (key: keyof QuestionAnsweringOptions, value: string | undefined, flag: string, min = 1) => {
    const n = integerFlag(value, flag, min);
    if (n !== undefined) (callOptions as Record<string, number>)[key] = n;
  };
  set('topK', options.topK, '--top-k');
  set('docStride', options.docStride, '--doc-stride', 0);
  set('maxSeqLen', options.maxSeqLen, '--max-seq-len');
  set('maxAnswerLen', options.maxAnswerLen, '--max-answer-len');
  set('maxQuestionLen', options.maxQuestionLen, '--max-question-len');
  if (options.handleImpossibleAnswer) callOptions.handleImpossibleAnswer = true;
  const question = options.question;
  if (question !== undefined && question.trim() === '') {
    throw new InputError('--question: expected a question, got an empty string', { argument: '--question' });
  }
  return {
    open: (dir, load) => pipeline('question-answering', dir, load),
    recordsOf: (reader) => async (rows) => {
      const results = await reader.run(questionInputs(rows, question), callOptions);
      return results.map(answerRecord);
    },
  };
}

/** The rows' columns: question/context files name them so, unless a fixed --question makes every row a context. */
export function qaRowsOptions(contexts: readonly string[], options: QaCliOptions): QaCliOptions {
  const rowsOptions: QaCliOptions = { ...options };
  const format = resolveInputFormat({ file: options.input, format: options.inputFormat as InputFormat });
  if (contexts.length === 0 && isTabular(format) && options.question === undefined) {
    rowsOptions.column ??= 'question';
    rowsOptions.pairColumn ??= 'context';
  }
  return rowsOptions;
}

export async function runQa(
  contexts: readonly string[],
  options: QaCliOptions,
  io: RowsCommandIO = {},
): Promise<RowsCommandSummary> {
  const task = qaRowTask(options);
  if (contexts.length > 0 && options.question === undefined) {
    throw new InputError('--question: positional texts are contexts, so --question is needed', {
      argument: '--question',
    });
  }
  return runPipelineCommand(contexts, qaRowsOptions(contexts, options), task.open, task.recordsOf, io);
}
