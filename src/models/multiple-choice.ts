/**
 * The model API's side of multiple choice (HF's `*ForMultipleChoice`): inputs come as [batch, choices, sequence]
 * and run as batch·choices rows of one sequence each (`input_ids.view(-1, seq)` and likewise every per-token
 * input); the per-row scores come back as `logits` [batch, choices]; labels [batch] are the right choice's index,
 * scored by cross-entropy over the choices. The graph side (one score per row, reshaped in the padded graph) is
 * in index.ts and each architecture's head.
 */
import { InputError } from '../errors.js';
import { toNumericTensor, type FlatTensorLike, type NumericTensor } from '../runtime/inputs.js';
import { crossEntropy } from '../runtime/losses.js';

/** The choice layout of a multiple-choice batch. */
export interface ChoiceShape {
  batch: number;
  choices: number;
  sequence: number;
}

/**
 * Replaces every per-token input in `inputs` (by HF name) with its [batch·choices, sequence] flattening, checking
 * each is [batch, choices, sequence] like input_ids. Returns the layout.
 */
export function flattenChoiceInputs(
  inputs: Record<string, unknown>,
  perTokenNames: readonly string[],
  fromTokenizer: boolean,
): ChoiceShape {
  if (fromTokenizer) {
    throw new InputError(
      'input_ids: multiple choice takes [batch, choices, sequence] inputs; a tokenizer batch is [rows, sequence] ' +
        '(give input_ids etc. as nested [batch][choices][sequence] arrays, or use the multiple-choice pipeline)',
      { argument: 'input_ids' },
    );
  }
  const ids = toNumericTensor(inputs.input_ids, 'input_ids');
  if (ids.dims.length !== 3) {
    throw new InputError(
      `input_ids: multiple choice takes shape [batch, choices, sequence], got [${ids.dims.join(', ')}]`,
      { argument: 'input_ids' },
    );
  }
  const [batch, choices, sequence] = ids.dims as [number, number, number];
  for (const name of perTokenNames) {
    const value = name === 'input_ids' ? ids : inputs[name];
    if (value === undefined) continue;
    const tensor = name === 'input_ids' ? ids : toNumericTensor(value, name);
    if (tensor.dims.length !== 3 || tensor.dims.some((d, i) => d !== ids.dims[i])) {
      throw new InputError(
        `${name}: shape [${tensor.dims.join(', ')}] does not match input_ids [${ids.dims.join(', ')}]`,
        { argument: name },
      );
    }
    inputs[name] = { data: tensor.data, dims: [batch * choices, sequence] } satisfies FlatTensorLike;
  }
  return { batch, choices, sequence };
}

/** The per-row scores ([batch·choices] values) as `logits` dims [batch, choices]. */
export function choiceLogitDims(scores: number, shape: ChoiceShape): number[] {
  if (scores !== shape.batch * shape.choices) {
    throw new Error(`multiple choice: ${scores} scores for ${shape.batch}×${shape.choices} choices`);
  }
  return [shape.batch, shape.choices];
}

/** HF's multiple-choice loss: mean cross-entropy of logits [batch, choices] against the right choice per example. */
export function multipleChoiceLoss(
  logits: { data: ArrayLike<number>; dims: readonly number[] },
  labels: NumericTensor,
): number {
  const [batch, choices] = logits.dims as [number, number];
  if (labels.data.length !== batch || labels.dims.length > 1) {
    throw new InputError(
      `labels: multiple choice takes one choice index per example ([${batch}]), got shape [${labels.dims.join(', ')}]`,
      { argument: 'labels' },
    );
  }
  return crossEntropy(logits.data, choices, labels.data);
}
