/**
 * What `forward` accepts and how it becomes one set of HF-named inputs: plain `{input_ids, ...}` objects (snake or
 * camel case), a tokenizer's BatchEncoding, or a list of Encodings; and the inputs HF fills when the caller
 * leaves them out (mask of ones, type ids of zeros, the architecture's default positions and extra inputs).
 */
import { InputError } from '../errors.js';
import type { FlatTensorLike, IntMatrix, IntTensorInput } from '../runtime/inputs.js';
import type { ModelTask } from './architecture.js';
import type { PretrainedConfig } from './config.js';
import { defaultPositionIds } from './index.js';
import { ConfigReader } from './layers/index.js';
import { ARCHITECTURES } from './registry.js';

/**
 * A per-token input: [batch, sequence] (see IntTensorInput), or for multiple choice [batch, choices, sequence]
 * nested arrays (or a `{ data, dims }` tensor with three dims).
 */
export type TokenInput = IntTensorInput | ReadonlyArray<ReadonlyArray<ReadonlyArray<number | bigint>>>;

/** Integer inputs by their HF names (camelCase spellings are accepted too). */
export interface ModelInputs {
  input_ids: TokenInput;
  attention_mask?: TokenInput;
  token_type_ids?: TokenInput;
  position_ids?: TokenInput;
  /** Longformer: 1 marks tokens with global attention (default as in HF: see `defaultGlobalAttentionMask` in longformer.ts). */
  global_attention_mask?: TokenInput;
  /** Class ids [batch] (or float targets for regression / multi-hot [batch, num_labels]); per-token for token tasks. */
  labels?: unknown;
  start_positions?: unknown;
  end_positions?: unknown;
}

/** What `forward` accepts: ModelInputs, a camelCase BatchEncoding-like object, or a list of Encodings. */
export type ForwardInput =
  | ModelInputs
  | {
      inputIds: TokenInput;
      attentionMask?: TokenInput;
      tokenTypeIds?: TokenInput;
      positionIds?: TokenInput;
      globalAttentionMask?: TokenInput;
      labels?: unknown;
      startPositions?: unknown;
      endPositions?: unknown;
    }
  | ReadonlyArray<{ ids: readonly number[]; attentionMask: readonly number[]; typeIds: readonly number[] }>;

/** HF name → camelCase spelling of every input forward() takes: the common ones, then each architecture's extra ones. */
const INPUT_ALIASES: ReadonlyArray<[string, string]> = [
  ['input_ids', 'inputIds'],
  ['attention_mask', 'attentionMask'],
  ['token_type_ids', 'tokenTypeIds'],
  ['position_ids', 'positionIds'],
  ...ARCHITECTURES.flatMap((a) => (a.extraInputs ?? []).map((e): [string, string] => [e.name, e.alias])),
  ['labels', 'labels'],
  ['start_positions', 'startPositions'],
  ['end_positions', 'endPositions'],
];

/** A tokenizer's BatchEncoding: builds int64 tensors for the fields its model takes. */
interface TensorSource {
  modelInputNames?: readonly string[];
  toTensors(dtype: 'int64', fields?: readonly string[]): Record<string, FlatTensorLike | undefined>;
}

const TOKENIZER_FIELDS = ['input_ids', 'attention_mask', 'token_type_ids'];

/**
 * The inputs under their HF names, and whether they came from a tokenizer (Encodings or a BatchEncoding). Tokenizer
 * output always carries type ids, which models without token types (DistilBERT) do not take: those are dropped
 * rather than refused.
 */
export function normaliseInputs(input: ForwardInput): { inputs: ModelInputs; fromTokenizer: boolean } {
  if (Array.isArray(input)) {
    const encodings = input as ReadonlyArray<{
      ids: readonly number[];
      attentionMask: readonly number[];
      typeIds: readonly number[];
    }>;
    const inputs = {
      input_ids: encodings.map((e) => e.ids),
      attention_mask: encodings.map((e) => e.attentionMask),
      token_type_ids: encodings.map((e) => e.typeIds),
    };
    return { inputs, fromTokenizer: true };
  }
  if (input === null || typeof input !== 'object') {
    throw new InputError(
      'forward() expects {input_ids, attention_mask?, ...}, a BatchEncoding or Encodings',
      {
        argument: 'inputs',
      },
    );
  }
  const source = input as Record<string, unknown>;
  const out: Record<string, unknown> = {};
  let fromTokenizer = false;
  if (typeof (source as Partial<TensorSource>).toTensors === 'function') {
    // A BatchEncoding: one pass into int64 tensors, only for the fields its tokenizer gives a model.
    const tensorSource = source as unknown as TensorSource;
    const fields = (tensorSource.modelInputNames ?? TOKENIZER_FIELDS).filter((f) =>
      TOKENIZER_FIELDS.includes(f),
    );
    const tensors = tensorSource.toTensors(
      'int64',
      fields.includes('input_ids') ? fields : ['input_ids', ...fields],
    );
    for (const [name, tensor] of Object.entries(tensors)) if (tensor) out[name] = tensor;
    fromTokenizer = true;
  }
  for (const [snake, camel] of INPUT_ALIASES) {
    if (out[snake] !== undefined) continue;
    const value = source[snake] ?? source[camel];
    if (value !== undefined && value !== null) out[snake] = value;
  }
  if (out.input_ids === undefined) {
    throw new InputError('input_ids is required', { argument: 'input_ids' });
  }
  return { inputs: out as unknown as ModelInputs, fromTokenizer };
}

/**
 * HF's value of an input the caller left out: attention_mask all ones, token_type_ids all zeros, the
 * architecture's default position_ids, or its extra input's default (Longformer's global attention).
 */
export function defaultModelInput(
  name: string,
  ids: IntMatrix,
  config: PretrainedConfig,
  task: ModelTask,
): IntMatrix {
  const size = ids.data.length;
  switch (name) {
    case 'attention_mask':
      return { data: new BigInt64Array(size).fill(1n), dims: ids.dims };
    case 'token_type_ids':
      return { data: new BigInt64Array(size), dims: ids.dims };
    case 'position_ids': {
      const [batch, seq] = ids.dims;
      const rows = Array.from({ length: batch }, (_, b) =>
        Array.from(ids.data.subarray(b * seq, (b + 1) * seq), Number),
      );
      const positions = defaultPositionIds(config.toJSON(), rows);
      return { data: BigInt64Array.from(positions.flat(), BigInt), dims: ids.dims };
    }
  }
  const extra = config.architecture.extraInputs?.find((e) => e.name === name);
  if (extra) return extra.defaultValue(task, ids, new ConfigReader(config.toJSON(), config.file));
  throw new InputError(`the model graph needs an input "${name}" that seqbatch does not know how to fill`, {
    argument: name,
  });
}
