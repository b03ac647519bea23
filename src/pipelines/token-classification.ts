/**
 * token-classification (ner): per-token label scores aggregated into entities exactly as transformers'
 * TokenClassificationPipeline does (see token-aggregation.ts). Inputs are truncated to the model maximum, as in
 * Python.
 */
import { InputError } from '../errors.js';
import type { Encoding } from '../encoding/encoding.js';
import { Pipeline } from './base.js';
import { softmax } from './math.js';
import { sliceRowPositions, toRow } from './model-batch.js';
import type { TaskSteps } from './runner.js';
import { readText } from './text-inputs.js';
import {
  aggregateTokens,
  mergeOverlappingEntities,
  type AggregationContext,
  type AggregationStrategy,
  type EntityGroup,
  type TokenEntity,
} from './token-aggregation.js';

export interface TokenClassificationOptions {
  /** Default 'none' (one entity per token), as Python. */
  aggregationStrategy?: AggregationStrategy;
  /** Labels left out of the result. Default ['O']. */
  ignoreLabels?: string[];
  /**
   * Long texts: cut into windows of the model maximum sharing `stride` tokens, entities of overlapping windows
   * merged as Python does. Needs an aggregation other than 'none'. Default: truncate to the model maximum.
   */
  stride?: number;
}

const STRATEGIES: AggregationStrategy[] = ['none', 'simple', 'first', 'average', 'max'];

export class TokenClassificationPipeline extends Pipeline<
  string,
  TokenEntity[] | EntityGroup[],
  TokenClassificationOptions
> {
  /** Whether the tokenizer's model marks subwords with a prefix (WordPiece "##"), as Python checks. */
  get subwordPrefixAware(): boolean {
    const prefix = (this.tokenizer.pipeline.model as { continuingSubwordPrefix?: unknown })
      .continuingSubwordPrefix;
    return typeof prefix === 'string' && prefix.length > 0;
  }

  protected steps(
    options: TokenClassificationOptions,
  ): TaskSteps<string, unknown, unknown, TokenEntity[] | EntityGroup[]> {
    const strategy = options.aggregationStrategy ?? 'none';
    if (!STRATEGIES.includes(strategy)) {
      throw new InputError(
        `aggregationStrategy: expected one of ${STRATEGIES.join(', ')}, got ${JSON.stringify(strategy)}`,
        { argument: 'aggregationStrategy' },
      );
    }
    const ignoreLabels = options.ignoreLabels ?? ['O'];
    const { tokenizer } = this;
    if (!Array.isArray(ignoreLabels) || !ignoreLabels.every((l) => typeof l === 'string')) {
      throw new InputError('ignoreLabels: expected an array of label names', { argument: 'ignoreLabels' });
    }
    const stride = options.stride;
    if (stride !== undefined) {
      const room = this.modelMaxLength - tokenizer.numSpecialTokensToAdd(false);
      if (!Number.isSafeInteger(stride) || stride < 0 || stride >= room) {
        throw new InputError(
          `stride: expected an integer from 0 to ${room - 1}, got ${JSON.stringify(stride)}`,
          {
            argument: 'stride',
          },
        );
      }
      if (strategy === 'none') {
        throw new InputError(
          "stride: windows overlap, so aggregationStrategy 'none' would repeat tokens; choose another strategy",
          { argument: 'stride' },
        );
      }
    }
    const { model } = this;
    const numLabels = model.config.numLabels;
    const maxLength = this.modelMaxLength;
    const base = {
      id2label: model.config.id2label,
      subwordPrefixAware: this.subwordPrefixAware,
      unkId: tokenizer.unkTokenId,
      tokensToString: (tokens: string[]) =>
        tokenizer.decoder ? tokenizer.decoder.decode(tokens) : tokens.join(' '),
    };
    const steps: TaskSteps<
      string,
      { text: string; windows: Encoding[] },
      Float32Array,
      TokenEntity[] | EntityGroup[]
    > = {
      prepare: (input, index) => {
        const text = readText(input, index);
        const windows = tokenizer.encodeBatch([text], null, {
          truncation: true,
          maxLength,
          verbose: false,
          ...(stride === undefined ? {} : { stride, returnOverflowingTokens: true }),
        }).encodings;
        return { rows: windows.map(toRow), state: { text, windows: [...windows] } };
      },
      extract: (output, b, row, paddedLength) => {
        if (!output.logits) throw new InputError('the model returned no logits', { argument: 'model' });
        return sliceRowPositions(output.logits.data, b, paddedLength, row.ids.length, numLabels);
      },
      finish: ({ text, windows }, logits) => {
        const context: AggregationContext = { ...base, text };
        const entities = windows.flatMap((encoding, w) => {
          const tokens = encoding.ids.map((id, t) => ({
            id,
            token: encoding.tokens[t],
            offset: encoding.offsets[t],
            special: encoding.specialTokensMask[t] === 1,
            scores: softmax(logits[w].subarray(t * numLabels, (t + 1) * numLabels)),
          }));
          return aggregateTokens(tokens, strategy, context, ignoreLabels) as EntityGroup[];
        });
        return windows.length > 1 ? mergeOverlappingEntities(entities) : entities;
      },
    };
    return steps as TaskSteps<string, unknown, unknown, TokenEntity[] | EntityGroup[]>;
  }
}
