/**
 * `seqbatch viz`: writes a self-contained HTML report of what tokenization, padding and attention masks do to a set
 * of texts: tokens, batch grids per padding strategy, a length histogram with each strategy's padding waste,
 * attention weights per layer and head for one text, and the overflow windows of a long input.
 */
import { readFile, writeFile } from 'node:fs/promises';
import { basename } from 'node:path';
import type { Command } from 'commander';
import { InputError } from '../../errors.js';
import { AutoConfig } from '../../models/config.js';
import { Tokenizer } from '../../tokenizers/tokenizer.js';
import { collectVizData } from '../../viz/collect.js';
import { renderReport } from '../../viz/report.js';
import type { Readable } from 'node:stream';
import { integerFlag } from './shared-flags.js';
import { addModelOptions, resolveModelFlags, type ModelCliOptions } from './shared-model.js';
import { addTextInputOptions, readTexts, type TextInputCliOptions } from './shared-texts.js';

export interface VizCliOptions extends ModelCliOptions, TextInputCliOptions {
  output: string;
  attentionText?: string;
  longText?: string;
  longTextChars?: string;
  windowLength?: string;
  stride?: string;
  batchSize?: string;
  gridRows?: string;
}

export function register(program: Command): void {
  const command = program
    .command('viz')
    .description(
      'write an HTML report: tokens, padding grids per strategy, length histogram and waste, attention maps, long-input windows',
    )
    .argument('[texts...]', 'texts to show (instead of --input)');
  addModelOptions(command, { defaultsToDemo: true, needs: 'checkpoint (its tokenizer and model)' });
  addTextInputOptions(command)
    .requiredOption('-o, --output <file>', 'the HTML file to write')
    .option(
      '--attention-text <n>',
      'show the attention weights of the Nth text (1-based; 0: no attention section)',
      '1',
    )
    .option('--long-text <file>', 'a long text file to cut into overflow windows')
    .option('--long-text-chars <n>', 'use only the first N characters of --long-text', '4000')
    .option('--window-length <n>', 'tokens per window, special tokens included (default: the model maximum)')
    .option('--stride <n>', 'tokens shared by consecutive windows (default: a quarter of the window)')
    .option('--batch-size <n>', 'rows per batch in the grids and the waste table', '32')
    .option('--grid-rows <n>', 'rows drawn in each grid', '24')
    .action(async (texts: string[], options: VizCliOptions) => {
      const summary = await runViz(texts, options);
      process.stderr.write(`seqbatch: wrote ${options.output} (${summary.texts} texts)\n`);
    });
}

export interface VizSummary {
  texts: number;
  bytes: number;
}

export async function runViz(
  texts: readonly string[],
  options: VizCliOptions,
  io: { stdin?: Readable } = {},
): Promise<VizSummary> {
  const attentionText = integerFlag(options.attentionText ?? '1', '--attention-text', 0)!;
  const batchSize = integerFlag(options.batchSize ?? '32', '--batch-size')!;
  const gridRows = integerFlag(options.gridRows ?? '24', '--grid-rows')!;
  const longTextChars = integerFlag(options.longTextChars ?? '4000', '--long-text-chars')!;
  const windowLength = integerFlag(options.windowLength, '--window-length');
  const stride = integerFlag(options.stride, '--stride', 0);
  const model = await resolveModelFlags(options);
  // The long text is encoded whole on purpose (to place its windows), so the tokenizer's "longer than the
  // model" warning would only be noise; the report itself shows every length against the maximum.
  const tokenizer =
    model.load.tokenizer ?? (await Tokenizer.fromPretrained(model.dir, { onWarning: () => {} }));
  const maxLength = Math.min(
    tokenizer.modelMaxLength,
    AutoConfig.fromPretrained(model.dir).maxSequenceLength,
  );
  const rows = await readTexts(texts, options, io.stdin);
  if (attentionText > rows.length) {
    throw new InputError(`--attention-text: expected 0..${rows.length}, got ${attentionText}`, {
      argument: '--attention-text',
    });
  }
  if (windowLength !== undefined && windowLength > maxLength) {
    throw new InputError(
      `--window-length: ${windowLength} exceeds the model maximum of ${maxLength} tokens`,
      {
        argument: '--window-length',
      },
    );
  }
  let longText: string | undefined;
  if (options.longText !== undefined) {
    try {
      longText = (await readFile(options.longText, 'utf8')).slice(0, longTextChars);
    } catch (error) {
      throw new InputError(
        `--long-text: cannot read ${options.longText} (${(error as NodeJS.ErrnoException).code ?? String(error)})`,
        { argument: '--long-text', cause: error },
      );
    }
  }
  let data;
  try {
    data = await collectVizData({
      title: `seqbatch report: ${basename(model.modelId)}`,
      subtitle: `Model ${model.modelId}`,
      texts: rows,
      tokenizer,
      modelDir: attentionText === 0 ? undefined : model.dir,
      load: { threads: model.load.threads, cacheDir: model.load.cacheDir },
      attentionIndex: attentionText - 1,
      longText,
      windowLength,
      stride,
      batchSize,
      maxLength,
      gridRows,
    });
  } catch (error) {
    // The tokenizer names its own option (stride too large for the window, ...): point at the flag.
    if (error instanceof InputError && error.argument === 'stride') {
      throw new InputError(`--stride: ${error.message}`, { argument: '--stride', cause: error });
    }
    throw error;
  }
  const html = renderReport(data);
  try {
    await writeFile(options.output, html);
  } catch (error) {
    throw new InputError(
      `--output: cannot write ${options.output} (${(error as NodeJS.ErrnoException).code ?? String(error)})`,
      { argument: '--output', cause: error },
    );
  }
  return { texts: rows.length, bytes: Buffer.byteLength(html) };
}
