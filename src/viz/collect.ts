/**
 * Gathers what the HTML report (report.ts) draws, from a model folder and some texts: the tokens of each text,
 * the attention probabilities of one text (the model run once with attentions as outputs), and the overflow
 * windows of a long input. Everything here is real tokenizer/model output; report.ts only draws it.
 */
import { InputError } from '../errors.js';
import { PreTrainedModel, type FromPretrainedOptions } from '../models/auto.js';
import type { Tokenizer } from '../tokenizers/tokenizer.js';
import type { FloatTensor } from '../runtime/tensor.js';
import type { VizAttention, VizReportData, VizTextRow, VizWindows } from './report.js';

export interface CollectVizOptions {
  /** Report heading. */
  title: string;
  subtitle?: string;
  /** The texts whose tokens, grids and lengths are shown. */
  texts: readonly string[];
  tokenizer: Tokenizer;
  /** Checkpoint folder, for the attention section (omit to leave the section out). */
  modelDir?: string;
  /** Loading options of the model run for attentions. */
  load?: FromPretrainedOptions;
  /** Which text's attention to show (0-based index into `texts`). Default 0. */
  attentionIndex?: number;
  /** A long text to cut into overflow windows (omit to leave the section out). */
  longText?: string;
  /** Tokens per window, special tokens included. Default: the model maximum. */
  windowLength?: number;
  /** Tokens shared by consecutive windows. Default: a quarter of the window. */
  stride?: number;
  batchSize: number;
  /** The model maximum (tokens per row); rows longer than this count as truncated in the grids. */
  maxLength: number;
  /** How many rows each grid draws. Default 24. */
  gridRows?: number;
}

/** Tokens (special tokens included, no padding or truncation) of each text. */
export function tokenRows(tokenizer: Tokenizer, texts: readonly string[]): VizTextRow[] {
  return texts.map((text) => {
    const encoding = tokenizer.encode(text);
    return { text, tokens: [...encoding.tokens], specialTokensMask: Array.from(encoding.specialTokensMask) };
  });
}

/** [layer][head][query][key] from the per-layer [1, heads, n, n] tensors of a one-row run. */
export function attentionMatrices(attentions: readonly FloatTensor[]): number[][][][] {
  return attentions.map((tensor) => {
    const [batch, heads, queries, keys] = tensor.dims as [number, number, number, number];
    if (batch !== 1 || queries !== keys) {
      throw new InputError(`attentions: expected [1, heads, n, n], got [${tensor.dims.join(', ')}]`, {
        argument: 'attentions',
      });
    }
    const out: number[][][] = [];
    for (let h = 0; h < heads; h++) {
      const rows: number[][] = [];
      for (let q = 0; q < queries; q++) {
        const start = (h * queries + q) * keys;
        rows.push(Array.from(tensor.data.subarray(start, start + keys)));
      }
      out.push(rows);
    }
    return out;
  });
}

/** Runs the model on one text with attentions as outputs. */
export async function collectAttention(
  modelDir: string,
  tokenizer: Tokenizer,
  text: string,
  maxLength: number,
  load: FromPretrainedOptions = {},
): Promise<VizAttention> {
  const encoding = tokenizer.encode(text, null, { truncation: true, maxLength });
  const model = await PreTrainedModel.fromPretrained(modelDir, 'base', { ...load, outputAttentions: true });
  try {
    const output = await model.forward([encoding]);
    if (!output.attentions || output.attentions.length === 0) {
      throw new InputError(`${modelDir}: the model returned no attentions`, { argument: '--model' });
    }
    return { text, tokens: [...encoding.tokens], attentions: attentionMatrices(output.attentions) };
  } finally {
    await model.dispose();
  }
}

/**
 * The tokenizer's overflow windows of `text` (truncation to `windowLength` with `stride` shared tokens), each
 * placed on the text's content tokens by its offsets.
 */
export function collectWindows(
  tokenizer: Tokenizer,
  text: string,
  windowLength: number,
  stride: number,
): VizWindows {
  const whole = tokenizer.encode(text, null, { addSpecialTokens: false });
  const indexOfStart = new Map<number, number>();
  whole.offsets.forEach(([start], i) => {
    if (!indexOfStart.has(start)) indexOfStart.set(start, i);
  });
  const batch = tokenizer.encodeBatch([text], null, {
    truncation: true,
    maxLength: windowLength,
    stride,
    returnOverflowingTokens: true,
  });
  const windows = batch.encodings.map((window) => {
    const content: number[] = [];
    window.specialTokensMask.forEach((special, i) => {
      if (!special) content.push(i);
    });
    const first = content.length > 0 ? (indexOfStart.get(window.offsets[content[0]!]![0]) ?? 0) : 0;
    return {
      tokens: [...window.tokens],
      contentRange: [first, first + content.length] as [number, number],
    };
  });
  return { text, maxLength: windowLength, stride, contentTokens: whole.length, windows };
}

export async function collectVizData(options: CollectVizOptions): Promise<VizReportData> {
  const { texts, tokenizer, maxLength } = options;
  const rows = tokenRows(tokenizer, texts);
  const data: VizReportData = {
    title: options.title,
    subtitle: options.subtitle,
    rows,
    batchSize: options.batchSize,
    maxLength,
    gridRows: options.gridRows,
  };
  if (options.modelDir !== undefined && texts.length > 0) {
    const index = options.attentionIndex ?? 0;
    const text = texts[index];
    if (text === undefined) {
      throw new InputError(`--attention-text: expected 1..${texts.length}, got ${index + 1}`, {
        argument: '--attention-text',
      });
    }
    data.attention = await collectAttention(options.modelDir, tokenizer, text, maxLength, options.load);
  }
  if (options.longText !== undefined) {
    const windowLength = options.windowLength ?? maxLength;
    const stride = options.stride ?? Math.floor(windowLength / 4);
    data.windows = collectWindows(tokenizer, options.longText, windowLength, stride);
  }
  return data;
}
