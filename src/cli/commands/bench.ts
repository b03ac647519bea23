/**
 * `seqbatch bench`: a quick throughput measurement of a model on some texts. The texts run through the pipeline
 * once to warm up (graph build, first-run allocations), then once per batching strategy: length-sorted buckets
 * (seqbatch's default) and input order (the naive baseline). Reports sequences/s, tokens/s, batches and the share
 * of computed tokens that were padding. With `--dtype int8` the fp32 model runs the same texts in the same run
 * (sorted batches), and the report adds the int8-against-fp32 comparison of bench-dtype.ts.
 */
import type { Readable, Writable } from 'node:stream';
import { Option, type Command } from 'commander';
import { InputError } from '../../errors.js';
import type { BatchRunStats } from '../../batching/index.js';
import {
  pipeline,
  type FeatureExtractionPipeline,
  type TextClassificationPipeline,
} from '../../pipelines/index.js';
import { checkpointTasks } from '../../server/engine-pipelines.js';
import { AutoConfig } from '../../models/config.js';
import {
  compareEmbeddings,
  compareLabels,
  formatComparison,
  type EmbeddingComparison,
  type LabelComparison,
} from './bench-dtype.js';
import { integerFlag } from './shared-flags.js';
import { addModelOptions, resolveModelFlags, type ModelCliOptions } from './shared-model.js';
import { addTextInputOptions, readTexts, type TextInputCliOptions } from './shared-texts.js';

export interface BenchCliOptions extends ModelCliOptions, TextInputCliOptions {
  limit?: string;
  batchSize?: string;
  maxBatchTokens?: string;
  task?: 'classify' | 'embed';
  json?: boolean;
  labelColumn?: string;
}

export interface BenchResult {
  dtype: 'fp32' | 'int8';
  strategy: 'sorted' | 'input-order';
  stats: BatchRunStats;
}

export interface BenchReport {
  model: string;
  task: 'classify' | 'embed';
  texts: number;
  batchSize: number;
  results: BenchResult[];
  /** With --dtype int8: int8 against fp32 on the same texts. */
  comparison?: LabelComparison | EmbeddingComparison;
}

export function register(program: Command): void {
  const command = program
    .command('bench')
    .description(
      'measure throughput (sequences/s) and padding of a model on some texts, sorted vs input-order batches',
    )
    .argument('[texts...]', 'texts to run (instead of --input)');
  addModelOptions(command, { defaultsToDemo: true, needs: 'checkpoint to measure' });
  addTextInputOptions(command)
    .option('--limit <n>', 'use at most the first N texts', '2000')
    .option('--batch-size <n>', 'sequences per batch', '32')
    .option('--max-batch-tokens <n>', 'padded tokens per batch (default: the scheduler default)')
    .addOption(
      new Option(
        '--task <task>',
        'what to run (default: classify for a classification checkpoint, else embed)',
      ).choices(['classify', 'embed']),
    )
    .option('--json', 'print the report as JSON')
    .option(
      '--label-column <name>',
      "with --dtype int8 and --input: the column holding each text's label (index or name), for accuracy",
    )
    .action(async (texts: string[], options: BenchCliOptions) => {
      await runBench(texts, options);
    });
}

function formatReport(report: BenchReport): string {
  const lines = [
    `model ${report.model}, task ${report.task}, ${report.texts} texts, batch size ${report.batchSize}`,
    '',
    '| dtype | batching | batches | padding | sequences/s | tokens/s | seconds |',
    '|---|---|---:|---:|---:|---:|---:|',
  ];
  for (const { dtype, strategy, stats } of report.results) {
    lines.push(
      `| ${dtype} | ${strategy} | ${stats.batches} | ${(100 * stats.paddingRatio).toFixed(1)}% | ` +
        `${stats.sequencesPerSecond.toFixed(1)} | ${stats.tokensPerSecond.toFixed(0)} | ${(stats.elapsedMs / 1000).toFixed(2)} |`,
    );
  }
  return lines.join('\n') + '\n' + (report.comparison ? `\n${formatComparison(report.comparison)}` : '');
}

export async function runBench(
  texts: readonly string[],
  options: BenchCliOptions,
  io: { stdin?: Readable; stdout?: Writable } = {},
): Promise<BenchReport> {
  const limit = integerFlag(options.limit ?? '2000', '--limit')!;
  const batchSize = integerFlag(options.batchSize ?? '32', '--batch-size')!;
  const maxBatchTokens = integerFlag(options.maxBatchTokens, '--max-batch-tokens');
  const rows = await readTexts(texts, options, io.stdin, limit);
  const model = await resolveModelFlags(options);
  const task = options.task ?? (checkpointTasks(model.dir).includes('classify') ? 'classify' : 'embed');
  if (task === 'classify' && !checkpointTasks(model.dir).includes('classify')) {
    throw new InputError(`--task: ${model.modelId} has no sequence-classification head`, {
      argument: '--task',
    });
  }
  const batching = { batchSize, ...(maxBatchTokens === undefined ? {} : { maxBatchTokens }) };
  const labelColumn = options.labelColumn;
  if (labelColumn !== undefined && (options.dtype !== 'int8' || options.input === undefined)) {
    throw new InputError('--label-column: only with --dtype int8 and --input', {
      argument: '--label-column',
    });
  }
  const int8 = options.dtype === 'int8';
  const results: BenchResult[] = [];
  const outputs: Partial<Record<'fp32' | 'int8', number[][]>> = {};
  // fp32 first when comparing: the int8 run is then the one measured on a warm page cache as well.
  for (const dtype of int8 ? (['fp32', 'int8'] as const) : (['fp32'] as const)) {
    const load =
      dtype === 'int8'
        ? model.load
        : { ...model.load, dtype: undefined, int8Exclude: undefined, int8Weights: undefined };
    const pipe: TextClassificationPipeline | FeatureExtractionPipeline =
      task === 'classify'
        ? await pipeline('text-classification', model.dir, { ...load, ...batching, truncation: true })
        : await pipeline('feature-extraction', model.dir, {
            ...load,
            ...batching,
            truncation: true,
            pooling: 'mean',
          });
    try {
      // Warm-up: builds the session and touches every code path once, so the timed runs measure steady state.
      await (pipe.run as (inputs: string[]) => Promise<unknown>)(rows.slice(0, batchSize));
      const strategies = int8 ? (['sorted'] as const) : (['sorted', 'input-order'] as const);
      for (const strategy of strategies) {
        const out = await (pipe.run as (inputs: string[], options: object) => Promise<unknown[]>)(rows, {
          sortByLength: strategy === 'sorted',
          // Logits only for the int8 comparison, so a plain fp32 bench times what it always timed.
          ...(int8 && task === 'classify' ? { returnLogits: true } : {}),
        });
        results.push({ dtype, strategy, stats: pipe.lastRunStats! });
        if (int8) {
          outputs[dtype] = out.map((o) =>
            task === 'classify' ? (o as { logits: number[] }).logits : (o as number[]),
          );
        }
      }
    } finally {
      await pipe.dispose();
    }
  }
  let comparison: BenchReport['comparison'];
  if (int8) {
    const labels = labelColumn
      ? await readTexts([], { ...options, column: labelColumn }, io.stdin, limit)
      : undefined;
    comparison =
      task === 'classify'
        ? compareLabels(outputs.fp32!, outputs.int8!, checkpointLabels(model.dir), labels)
        : compareEmbeddings(outputs.fp32!, outputs.int8!);
  }
  const report: BenchReport = {
    model: model.modelId,
    task,
    texts: rows.length,
    batchSize,
    results,
    ...(comparison ? { comparison } : {}),
  };
  const stdout = io.stdout ?? process.stdout;
  stdout.write(options.json ? JSON.stringify(report, null, 2) + '\n' : formatReport(report));
  return report;
}

function checkpointLabels(dir: string): Readonly<Record<number, string>> {
  return AutoConfig.fromPretrained(dir).id2label;
}
