/**
 * What the embedding routes (/embed, /v1/embeddings, /similarity, /) have in common: their inputs (texts, or token
 * ids run as they are), the checks of `prompt_name` and `dimensions` against the model, and the batched engine call.
 */
import { ApiError } from './http-errors.js';
import {
  batchItems,
  batchKey,
  checkInputCount,
  checkNotEmpty,
  requireTask,
  type ServerContext,
} from './context.js';
import type { EmbedItem, EmbedOptions, PreparedText, TruncationSide } from './engine.js';

/** One input: a text, or token ids. */
export type EmbedInput = string | readonly number[];

const tokenIds = { type: 'array', items: { type: 'integer', minimum: 0 } };

/** JSON schema of TEI's `inputs` (and OpenAI's `input`): a text, token ids, or an array of either. */
export const EMBED_INPUTS_SCHEMA = {
  anyOf: [{ type: 'string' }, tokenIds, { type: 'array', items: { anyOf: [{ type: 'string' }, tokenIds] } }],
};

export const EMBED_INPUTS_ACCEPTED =
  'a string, an array of token ids, or an array of strings or token id arrays';

/** TEI's reading of `inputs`: a string or one array of ids is one input; any other array is a batch. */
export function readEmbedInputs(inputs: EmbedInput | readonly EmbedInput[]): EmbedInput[] {
  if (typeof inputs === 'string') return [inputs];
  if (inputs.length > 0 && typeof inputs[0] === 'number') return [inputs as readonly number[]];
  return [...(inputs as readonly EmbedInput[])];
}

/** `prompt_name` must name one of the model's prompts (TEI: Validation). */
export function checkPromptName(context: ServerContext, name: string | null | undefined): string | undefined {
  if (name == null) return undefined;
  const prompts = context.engine.info.prompts ?? {};
  if (!(name in prompts)) {
    const known = Object.keys(prompts);
    throw new ApiError(
      400,
      'invalid_request_error',
      `prompt_name: ${JSON.stringify(name)} is not one of the model's prompts (${known.length > 0 ? known.join(', ') : 'it has none'})`,
    );
  }
  return name;
}

/** `dimensions` must be between 1 and the model's width. */
export function checkDimensions(
  context: ServerContext,
  dimensions: number | null | undefined,
): number | undefined {
  if (dimensions == null) return undefined;
  const width = context.engine.info.embeddingDimension;
  if (dimensions < 1 || (width !== undefined && dimensions > width)) {
    throw new ApiError(
      400,
      'invalid_request_error',
      `dimensions: expected 1 to ${width ?? 'the embedding width'}, got ${dimensions}`,
    );
  }
  return dimensions;
}

/**
 * TEI's `truncation_direction` (`"Right"` / `"Left"`, either case; the route's schema refuses anything else) as the
 * engine options' `truncationSide`; nothing when the request leaves it out (the tokenizer's own side applies).
 */
export function truncationSideOption(direction: string | undefined): { truncationSide?: TruncationSide } {
  return direction === undefined ? {} : { truncationSide: direction.toLowerCase() as TruncationSide };
}

/**
 * Embeds the inputs through the batcher (split over as many batches as the limits need) and counts the tokens the
 * model saw. `field` names the request field in errors.
 */
export async function embedInputs(
  context: ServerContext,
  inputs: EmbedInput[],
  options: EmbedOptions,
  field: string,
  route: string,
): Promise<{ vectors: ArrayLike<number>[]; promptTokens: number }> {
  requireTask(context, 'embed', route);
  checkNotEmpty(inputs.length, field);
  checkInputCount(context, inputs.length, field);
  const { engine } = context;
  const prepare = (item: EmbedItem): PreparedText => {
    if (item.ids !== undefined) {
      if (!engine.prepareIds) {
        throw new ApiError(422, 'invalid_request_error', `${field}: this model cannot take token ids`);
      }
      return engine.prepareIds(item.ids, options);
    }
    return (
      engine.prepareEmbed?.(item.text, options) ??
      engine.prepareText?.(item.text) ?? { tokens: engine.countTokens(item.text), encoded: undefined }
    );
  };
  const items = batchItems(
    context,
    inputs.map((input): EmbedItem =>
      typeof input === 'string' ? { text: input } : { text: '', ids: input },
    ),
    options.truncate,
    field,
    prepare,
  );
  const vectors = await context.batcher.submit(batchKey('embed', options), items, (batch) =>
    engine.embed(
      batch.map((input) => input.text),
      options,
      batch.map((input) => input.encoded),
    ),
  );
  return { vectors, promptTokens: items.reduce((sum, item) => sum + item.tokens, 0) };
}
