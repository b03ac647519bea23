/**
 * Refuses a pipeline whose task does not fit the checkpoint's head. transformers builds any head the task asks
 * for, initialising missing weights at random with only a log line; here a mismatch is an error unless the caller
 * says it is intended (`allowHeadMismatch`). Every architecture's classes are named `<Model>For<Head>` (or
 * `<Model>Model` for the bare encoder), so the head is read from `config.architectures`, never from model types.
 */
import { InputError } from '../errors.js';
import type { PretrainedConfig } from '../models/config.js';
import type { PipelineTask } from './base.js';
import { entailmentId } from './zero-shot.js';

/** The heads each task can run on; feature extraction runs on the encoder inside any head. */
const HEADS_FOR_TASK: Record<PipelineTask, readonly string[] | 'any'> = {
  'text-classification': ['ForSequenceClassification'],
  'zero-shot-classification': ['ForSequenceClassification'],
  'text-ranking': ['ForSequenceClassification'],
  'multiple-choice': ['ForMultipleChoice'],
  'token-classification': ['ForTokenClassification'],
  'question-answering': ['ForQuestionAnswering'],
  // BERT's pre-training checkpoints carry the masked-LM head beside the next-sentence one.
  'fill-mask': ['ForMaskedLM', 'ForPreTraining'],
  'feature-extraction': 'any',
};

/** `ForSequenceClassification` of `BertForSequenceClassification`; `Model` (no head) of `BertModel`. */
function headOf(architecture: string): string {
  return /(For[A-Z][A-Za-z]*)$/.exec(architecture)?.[1] ?? 'Model';
}

export const HEAD_OVERRIDE_HINT =
  'pass allowHeadMismatch: true (CLI: --allow-head-mismatch) to run it anyway';

/**
 * Throws InputError (argument `allowHeadMismatch`) when `config.architectures` names heads and none fits `task`,
 * or when zero-shot classification finds no label starting with "entail". A config without `architectures`
 * cannot be checked and passes.
 */
export function checkTaskFitsHead(
  task: PipelineTask,
  config: PretrainedConfig,
  allowHeadMismatch = false,
): void {
  if (allowHeadMismatch) return;
  const needed = HEADS_FOR_TASK[task];
  const architectures = config.architectures;
  if (needed !== 'any' && architectures.length > 0) {
    const fits = architectures.some((a) => needed.includes(headOf(a)));
    if (!fits) {
      throw new InputError(
        `${config.file}: the checkpoint's head is ${architectures.join(', ')}, but ${task} needs a ` +
          `${needed.map((h) => `*${h}`).join(' or ')} head; its outputs would not mean what the task reads. ` +
          `Use a checkpoint trained for ${task}, or ${HEAD_OVERRIDE_HINT}`,
        { file: config.file, field: 'architectures', argument: 'allowHeadMismatch' },
      );
    }
  }
  if (task === 'zero-shot-classification' && entailmentId(config.label2id) < 0) {
    throw new InputError(
      `${config.file}: zero-shot classification needs a natural-language-inference head with an "entailment" ` +
        `label, but the labels are ${Object.keys(config.label2id).join(', ') || '(none)'} (id2label). ` +
        `Use an NLI checkpoint, or ${HEAD_OVERRIDE_HINT} (the last label then counts as entailment, as in Python)`,
      { file: config.file, field: 'id2label', argument: 'allowHeadMismatch' },
    );
  }
}
