/**
 * Refuses model outputs that are not finite. NaN or infinite weights (a damaged or badly converted checkpoint)
 * make every score NaN, which JSON writes as `null`: a run would "succeed" with no answer in it. Only the real
 * positions of each row are checked (what the pipelines read), and the error names the model and the input.
 */
import { InferenceError } from '../errors.js';
import type { ModelOutput } from '../models/auto.js';
import type { FloatTensor } from '../runtime/tensor.js';

/** The outputs pipelines read. Hidden states and attentions are only returned on request, and not read here. */
const CHECKED_OUTPUTS = [
  'logits',
  'start_logits',
  'end_logits',
  'last_hidden_state',
  'pooler_output',
] as const;

/**
 * Throws InferenceError when an output of batch row `b` holds NaN or ±Infinity at one of its first
 * `rowLengths[b]` positions. `inputIndexOf(b)` is the caller's index of the input that row belongs to.
 */
export function checkFiniteOutputs(
  output: ModelOutput,
  rowLengths: readonly number[],
  paddedLength: number,
  modelName: string,
  inputIndexOf: (batchRow: number) => number,
): void {
  for (const name of CHECKED_OUTPUTS) {
    const tensor: FloatTensor | undefined = output[name];
    if (!tensor || tensor.dims[0] !== rowLengths.length) continue;
    // [batch, seq, ...] outputs and the span logits ([batch, seq]) hold one value or vector per position; the
    // others ([batch, labels], [batch, hidden]) one per row.
    const perPosition = tensor.dims.length >= 3 || name === 'start_logits' || name === 'end_logits';
    const rowStride = tensor.data.length / rowLengths.length;
    const positionWidth = perPosition ? rowStride / paddedLength : rowStride;
    for (let b = 0; b < rowLengths.length; b++) {
      const end = b * rowStride + (perPosition ? rowLengths[b]! * positionWidth : rowStride);
      for (let i = b * rowStride; i < end; i++) {
        if (Number.isFinite(tensor.data[i])) continue;
        const position = perPosition ? Math.floor((i - b * rowStride) / positionWidth) : undefined;
        throw new InferenceError(
          `${modelName}: the model's ${name} for input ${inputIndexOf(b)} (counting from 0) contains ${String(tensor.data[i])}` +
            `${position === undefined ? '' : ` at token ${position}`}; the checkpoint's weights may hold NaN or infinite values`,
          { argument: 'inputs' },
        );
      }
    }
  }
}
