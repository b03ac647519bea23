/**
 * fill-mask: transformers' FillMaskPipeline. For every mask token of the input, the `topK` most likely tokens
 * (softmax over the vocabulary, or over `targets` only) with the sequence the prediction gives. One mask gives a
 * list of predictions; several masks give one list per mask, in order.
 */
import { InputError } from '../errors.js';
import { Pipeline } from './base.js';
import { softmax } from './math.js';
import { toRow } from './model-batch.js';
import type { TaskSteps } from './runner.js';
import { readText } from './text-inputs.js';

export interface FillMaskOptions {
  /** Predictions per mask. Default 5 (capped at the number of targets). */
  topK?: number;
  /** Only score these tokens (words not in the vocabulary use their first token, with a warning). */
  targets?: string | string[];
  /** Default false, as Python: an input longer than the model is an InputError. */
  truncation?: boolean;
  /** Receives warnings (targets not in the vocabulary). Default: stderr. */
  onWarning?: (message: string) => void;
}

export interface FillMaskPrediction {
  score: number;
  token: number;
  token_str: string;
  sequence: string;
}

interface MaskState {
  ids: readonly number[];
  maskPositions: number[];
}

export class FillMaskPipeline extends Pipeline<
  string,
  FillMaskPrediction[] | FillMaskPrediction[][],
  FillMaskOptions
> {
  /** Vocabulary ids of `targets`, as Python resolves them. */
  targetIds(targets: string | string[], warn: (message: string) => void): number[] {
    const list = typeof targets === 'string' ? [targets] : targets;
    if (!Array.isArray(list) || !list.every((t) => typeof t === 'string')) {
      throw new InputError('targets: expected a string or an array of strings', { argument: 'targets' });
    }
    const vocab = this.tokenizer.getVocab();
    const ids: number[] = [];
    for (const target of list) {
      let id = vocab.get(target);
      if (id === undefined) {
        // As Python: the target's first token (tokenized without special tokens, truncated to one token).
        const encoded = this.tokenizer.encode(target, null, {
          addSpecialTokens: false,
          truncation: true,
          maxLength: 1,
          verbose: false,
        });
        if (encoded.length === 0) {
          warn(
            `The specified target token \`${target}\` does not exist in the model vocabulary. We cannot replace it with anything meaningful, ignoring it`,
          );
          continue;
        }
        id = encoded.ids[0];
        warn(
          `The specified target token \`${target}\` does not exist in the model vocabulary. Replacing with ` +
            `\`${this.tokenizer.convertIdsToTokens(id)}\`.`,
        );
      }
      if (!ids.includes(id)) ids.push(id);
    }
    if (ids.length === 0)
      throw new InputError('targets: at least one target must be provided', { argument: 'targets' });
    return ids;
  }

  protected steps(
    options: FillMaskOptions,
  ): TaskSteps<string, unknown, unknown, FillMaskPrediction[] | FillMaskPrediction[][]> {
    const { tokenizer, model } = this;
    const warn = options.onWarning ?? ((m: string) => process.stderr.write(`seqbatch: warning: ${m}\n`));
    const targets = options.targets === undefined ? null : this.targetIds(options.targets, warn);
    let topK = options.topK ?? 5;
    if (!Number.isSafeInteger(topK) || topK < 1) {
      throw new InputError(`topK: expected a positive integer, got ${JSON.stringify(topK)}`, {
        argument: 'topK',
      });
    }
    if (targets) topK = Math.min(topK, targets.length);
    const maskId = tokenizer.maskTokenId;
    if (maskId === null) throw new InputError('the tokenizer has no mask token', { argument: 'model' });
    const vocabSize = model.config.vocabSize;
    const maxLength = this.modelMaxLength;
    const truncation = options.truncation ?? false;
    const steps: TaskSteps<string, MaskState, Float32Array[], FillMaskPrediction[] | FillMaskPrediction[][]> =
      {
        prepare: (input, index) => {
          const text = readText(input, index);
          const encoding = tokenizer.encodeBatch(
            [text],
            null,
            truncation ? { truncation: true, maxLength, verbose: false } : { verbose: false },
          ).encodings[0];
          if (encoding.length > maxLength) {
            throw new InputError(
              `inputs[${index}]: ${encoding.length} tokens exceed the model maximum of ${maxLength}; pass truncation: true`,
              { argument: 'truncation' },
            );
          }
          const maskPositions = encoding.ids.flatMap((id, t) => (id === maskId ? [t] : []));
          if (maskPositions.length === 0) {
            throw new InputError(
              `inputs[${index}]: no mask token (${tokenizer.maskToken}) found in the input`,
              {
                argument: `inputs[${index}]`,
              },
            );
          }
          return { rows: [toRow(encoding)], state: { ids: encoding.ids, maskPositions } };
        },
        extract: (output, b, row, paddedLength) => {
          if (!output.logits) throw new InputError('the model returned no logits', { argument: 'model' });
          const data = output.logits.data;
          return row.ids.flatMap((id, t) => {
            if (id !== maskId) return [];
            const start = (b * paddedLength + t) * vocabSize;
            return [data.slice(start, start + vocabSize)];
          });
        },
        finish: ({ ids, maskPositions }, [maskLogits]) => {
          const single = maskPositions.length === 1;
          const perMask = maskPositions.map((position, m) => {
            const probs = softmax(maskLogits[m]);
            const candidates = targets ?? probs.map((_, id) => id);
            const ranked = candidates
              .map((id) => ({ id, p: probs[id] }))
              .sort((a, b) => b.p - a.p)
              .slice(0, topK);
            return ranked.map(({ id, p }) => {
              const filled = [...ids];
              filled[position] = id;
              return {
                score: p,
                token: id,
                token_str: tokenizer.decode([id]),
                sequence: tokenizer.decode(filled, { skipSpecialTokens: single }),
              };
            });
          });
          return single ? perMask[0] : perMask;
        },
      };
    return steps as TaskSteps<string, unknown, unknown, FillMaskPrediction[] | FillMaskPrediction[][]>;
  }
}
