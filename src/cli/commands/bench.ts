/**
 * `seqbatch bench`: a quick throughput measurement of a model on some texts. The texts run through the pipeline
 * once to warm up (graph build, first-run allocations), then once per batching strategy: length-sorted buckets
 * (seqbatch's default) and input order (the naive baseline). Reports sequences/s, tokens/s, batches and the share
 * of computed tokens that were padding.
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
import { integerFlag } from './shared-flags.js';
import { addModelOptions, resolveModelFlags, type ModelCliOptions } from './shared-model.js';
import { addTextInputOptions, readTexts, type TextInputCliOptions } from './shared-texts.js';

export interface BenchCliOptions extends ModelCliOptions, TextInputCliOptions {
  limit?: string;
  batchSize?: string;
  maxBatchTokens?: string;
  task?: 'classify' | 'embed';
  json?: boolean;
}

export interface BenchResult {
  strategy: 'sorted' | 'input-order';
  stats: BatchRunStats;
}

export interface BenchReport {
  model: string;
  task: 'classify' | 'embed';
  texts: number;
  batchSize: number;
  results: BenchResult[];
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
    .action(async (texts: string[], options: BenchCliOptions) => {
      await runBench(texts, options);
    });
}

function formatReport(report: BenchReport): string {
  const lines = [
    `model ${report.model}, task ${report.task}, ${report.texts} texts, batch size ${report.batchSize}`,
    '',
    '| batching | batches | padding | sequences/s | tokens/s | seconds |',
    '|---|---:|---:|---:|---:|---:|',
  ];
  for (const { strategy, stats } of report.results) {
    lines.push(
      `| ${strategy} | ${stats.batches} | ${(100 * stats.paddingRatio).toFixed(1)}% | ` +
        `${stats.sequencesPerSecond.toFixed(1)} | ${stats.tokensPerSecond.toFixed(0)} | ${(stats.elapsedMs / 1000).toFixed(2)} |`,
    );
  }
  return lines.join('\n') + '\n';
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
  const pipe: TextClassificationPipeline | FeatureExtractionPipeline =
    task === 'classify'
      ? await pipeline('text-classification', model.dir, { ...model.load, ...batching, truncation: true })
      : await pipeline('feature-extraction', model.dir, {
          ...model.load,
          ...batching,
          truncation: true,
          pooling: 'mean',
        });
  const results: BenchResult[] = [];
  try {
    // Warm-up: builds the session and touches every code path once, so the timed runs measure steady state.
    await (pipe.run as (inputs: string[]) => Promise<unknown>)(rows.slice(0, batchSize));
    for (const strategy of ['sorted', 'input-order'] as const) {
      await (pipe.run as (inputs: string[], options: object) => Promise<unknown>)(rows, {
        sortByLength: strategy === 'sorted',
      });
      results.push({ strategy, stats: pipe.lastRunStats! });
    }
  } finally {
    await pipe.dispose();
  }
  const report: BenchReport = { model: model.modelId, task, texts: rows.length, batchSize, results };
  const stdout = io.stdout ?? process.stdout;
  stdout.write(options.json ? JSON.stringify(report, null, 2) + '\n' : formatReport(report));
  return report;
}
