/**
 * `seqbatch classify`: text (or text-pair) classification of many rows with the text-classification pipeline.
 * Without `--model` it runs the bundled seqbatch-demo-sst2 sentiment model, so it works offline on a fresh
 * clone. Each output row holds `label` and `score`; with `--top-k` both are lists (best first); `--logits` adds
 * the raw logits in label-id order.
 */
import { Option, type Command } from 'commander';
import { ConfigError } from '../../errors.js';
import {
  pipeline,
  type ClassificationFunction,
  type LabelScore,
  type TextClassificationOptions,
  type TextClassificationPipeline,
} from '../../pipelines/index.js';
import {
  applyClassificationFunction,
  defaultClassificationFunction,
  labelScores,
} from '../../pipelines/text-classification.js';
import type { OutputRecord, RowsCliOptions, RowsCommandIO, RowsCommandSummary } from '../io/index.js';
import { integerFlag } from './shared-flags.js';
import { addModelOptions, resolveModelFlags, type ModelCliOptions } from './shared-model.js';
import {
  addLongInputOptions,
  addRowCommandOptions,
  batchingFrom,
  longInputsFrom,
  rowError,
  rowInputs,
  runPipelineRows,
  type BatchingCliOptions,
} from './shared-rows.js';

export interface ClassifyCliOptions extends RowsCliOptions, BatchingCliOptions, ModelCliOptions {
  topK?: string;
  function?: ClassificationFunction;
  logits?: boolean;
}

export function register(program: Command): void {
  const command = program
    .command('classify')
    .description(
      'classify texts (or text pairs) with a sequence-classification model; one {label, score} row per input',
    )
    .argument('[texts...]', 'texts to classify (instead of --input)');
  addModelOptions(command, { defaultsToDemo: true, needs: 'sequence-classification model' });
  addRowCommandOptions(command);
  addLongInputOptions(command);
  command
    .option('--top-k <n>', 'the best N labels (or "all"), as lists in label and score, best first')
    .addOption(
      new Option(
        '--function <fn>',
        'score function (default as transformers: sigmoid for multi-label or one label, else softmax)',
      ).choices(['softmax', 'sigmoid', 'none']),
    )
    .option('--logits', 'add the raw logits (label-id order) to each row')
    .action(async (texts: string[], options: ClassifyCliOptions) => {
      await runClassify(texts, options);
    });
}

/** --top-k: a positive whole number, or "all" (null: every label). Undefined: the best label alone. */
export function topKFlag(value: string | undefined): number | null | undefined {
  if (value === undefined) return undefined;
  if (value.trim().toLowerCase() === 'all') return null;
  return integerFlag(value, '--top-k');
}

/** One output record from a pipeline result: scalars for the best label, parallel lists with --top-k. */
function classificationRecord(result: LabelScore | LabelScore[]): OutputRecord {
  if (Array.isArray(result)) {
    return { label: result.map((r) => r.label), score: result.map((r) => r.score) };
  }
  return { label: result.label, score: result.score };
}

/** Label → id, for putting the sorted `none` results of the pipeline back into logit order. */
function labelIndex(classifier: TextClassificationPipeline): Map<string, number> {
  const { id2label, numLabels } = classifier.model.config;
  const index = new Map<string, number>();
  for (let i = 0; i < numLabels; i++) {
    const label = id2label[i] ?? `LABEL_${i}`;
    if (index.has(label)) {
      throw new ConfigError(
        `config.json: id2label names "${label}" twice, so --logits cannot tell the logits apart`,
        { file: 'config.json', field: 'id2label' },
      );
    }
    index.set(label, i);
  }
  return index;
}

/** The command's work, with injectable streams (tests). Resolves with the rows skipped and written. */
export async function runClassify(
  texts: readonly string[],
  options: ClassifyCliOptions,
  io: RowsCommandIO = {},
): Promise<RowsCommandSummary> {
  const topK = topKFlag(options.topK);
  const model = await resolveModelFlags(options);
  const callOptions: TextClassificationOptions = { ...longInputsFrom(options) };
  if (options.function !== undefined) callOptions.functionToApply = options.function;
  if (topK !== undefined) callOptions.topK = topK;
  const batching = batchingFrom(options);
  const classifier = await pipeline('text-classification', model.dir, { ...model.load, ...batching });
  try {
    // Bad flags (a --max-length above the model's, ...) fail now, before any input is read.
    await classifier.run([], callOptions).catch((error: unknown) => {
      throw rowError(error, [], texts, options.input);
    });
    const logitOrder = options.logits ? labelIndex(classifier) : null;
    const fn = callOptions.functionToApply ?? defaultClassificationFunction(classifier.model.config);
    return await runPipelineRows(
      texts,
      options,
      async (rows) => {
        const inputs = rowInputs(rows);
        if (logitOrder === null) {
          const results = await classifier.run(inputs, callOptions);
          return results.map(classificationRecord);
        }
        // One run for both: the raw logits, then the same function and top-k the pipeline would apply.
        const raw = (await classifier.run(inputs, {
          ...callOptions,
          functionToApply: 'none',
          topK: null,
        })) as LabelScore[][];
        return raw.map((labels) => {
          const logits = new Array<number>(logitOrder.size);
          for (const { label, score } of labels) logits[logitOrder.get(label)!] = score;
          const scores = applyClassificationFunction(logits, fn);
          const result = labelScores(scores, classifier.model.config.id2label, topK);
          return { ...classificationRecord(result), logits };
        });
      },
      io,
    );
  } finally {
    await classifier.dispose();
  }
}
