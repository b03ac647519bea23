/**
 * token-classification (ner): per-token label scores aggregated into entities exactly as transformers'
 * TokenClassificationPipeline does (see token-aggregation.ts). Inputs are truncated to the model maximum, as in
 * Python.
 */
import { InputError } from '../errors.js';
import type { Encoding } from '../encoding/encoding.js';
import { Pipeline } from './base.js';
import { softmax } from './math.js';
import { sliceRowPositions } from './model-batch.js';
import type { TaskSteps } from './runner.js';
import { readText } from './text-inputs.js';
import { toRow } from './text-classification.js';
import {
  aggregateTokens,
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
    if (!Array.isArray(ignoreLabels) || !ignoreLabels.every((l) => typeof l === 'string')) {
      throw new InputError('ignoreLabels: expected an array of label names', { argument: 'ignoreLabels' });
    }
    const { tokenizer, model } = this;
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
      { text: string; encoding: Encoding },
      Float32Array,
      TokenEntity[] | EntityGroup[]
    > = {
      prepare: (input, index) => {
        const text = readText(input, index);
        const encoding = tokenizer.encodeBatch([text], null, { truncation: true, maxLength, verbose: false })
          .encodings[0];
        return { rows: [toRow(encoding)], state: { text, encoding } };
      },
      extract: (output, b, row, paddedLength) => {
        if (!output.logits) throw new InputError('the model returned no logits', { argument: 'model' });
        return sliceRowPositions(output.logits.data, b, paddedLength, row.ids.length, numLabels);
      },
      finish: ({ text, encoding }, [logits]) => {
        const context: AggregationContext = { ...base, text };
        const tokens = encoding.ids.map((id, t) => ({
          id,
          token: encoding.tokens[t],
          offset: encoding.offsets[t],
          special: encoding.specialTokensMask[t] === 1,
          scores: softmax(logits.subarray(t * numLabels, (t + 1) * numLabels)),
        }));
        return aggregateTokens(tokens, strategy, context, ignoreLabels);
      },
    };
    return steps as TaskSteps<string, unknown, unknown, TokenEntity[] | EntityGroup[]>;
  }
}
