/**
 * The contract between the shared model code (graph building, config reading, the model API) and one model
 * family. Everything that differs per family is declared here by the family's own file, so shared code never
 * names a `model_type`: adding an architecture is one new file exporting an `Architecture` plus one line in
 * registry.ts (docs/models.md, "Adding an architecture").
 */
import { InputError } from '../errors.js';
import type { IntMatrix, NumericTensor } from '../runtime/inputs.js';
import type { ConfigReader, EncoderInputs, ModelGraph, NamedOutput } from './layers/index.js';

export const MODEL_TASKS = [
  'base',
  'sequence-classification',
  'token-classification',
  'question-answering',
  'masked-lm',
  'multiple-choice',
] as const;
export type ModelTask = (typeof MODEL_TASKS)[number];

/**
 * Outputs of the sequence classifier: one score per sequence for multiple choice (HF's `*ForMultipleChoice` heads
 * are the sequence-classification head with `Linear(hidden, 1)`, run on every choice of the flattened
 * [batch·choices, sequence] rows), `num_labels` otherwise. The shared graph code reshapes the multiple-choice
 * scores [batch·choices, 1] to `logits` [batch, choices].
 */
export function classifierWidth(task: ModelTask, numLabels: () => number): number {
  return task === 'multiple-choice' ? 1 : numLabels();
}

/** The request an architecture builds for. */
export interface GraphRequest {
  task: ModelTask;
  outputHiddenStates: boolean;
  outputAttentions: boolean;
  /** `BuildModelGraphOptions.firstTokenOnly` (default true). */
  firstTokenOnly: boolean;
}

/**
 * How HF makes `position_ids` when the caller gives none: `arange` is 0..L-1 (BERT), `from-input-ids` is
 * RoBERTa's pad-aware `cumsum(ids != pad) · (ids != pad) + pad`, which also costs the position table `pad + 1`
 * rows of usable length.
 */
export type PositionScheme = { kind: 'arange' } | { kind: 'from-input-ids'; padTokenId: number };

/**
 * An integer input beyond input_ids / attention_mask / token_type_ids / position_ids that the architecture's
 * graph declares itself (Longformer's `global_attention_mask`). The model API accepts it under `name` or
 * `alias`, checks it, and fills HF's default when the caller leaves it out.
 */
export interface ExtraInput {
  /** The HF name: the forward() key and the graph input name. */
  readonly name: string;
  /** The camelCase spelling forward() accepts too. */
  readonly alias: string;
  /** Throws InputError (naming the input) when a given value is malformed for `inputIds`. */
  check(value: IntMatrix, inputIds: IntMatrix): void;
  /** HF's default when the input is absent, for this task and batch. */
  defaultValue(task: ModelTask, inputIds: IntMatrix, config: ConfigReader): IntMatrix;
}

/** One model family (one file in this folder, one line in registry.ts). */
export interface Architecture {
  /** config.json `model_type` values this file builds. */
  readonly modelTypes: readonly string[];
  /** Whether the HF forward() takes token_type_ids / position_ids at all. */
  readonly accepts: { tokenTypeIds: boolean; positionIds: boolean };
  /**
   * Whether a packed (padding-free) graph exists (see packed-layout.ts). When not, `why` completes the InputError
   * "packed: <model_type> models have no packed graph (<why>)", and packed: 'auto' runs padded.
   */
  readonly packed: PackedSupport;
  /**
   * For a family that has a packed graph: why this checkpoint's config has none (a head whose HF result reads
   * padding positions), or null. Absent, every config of the family packs.
   */
  packedUnsupportedBy?(config: ConfigReader): string | null;
  /**
   * transformers' `attribute_map`: common config names → the names this family writes in config.json (DistilBERT's
   * `dim` for `hidden_size`), so `PretrainedConfig.hiddenSize` and friends read the right field.
   */
  readonly attributeMap?: Readonly<Record<string, string>>;
  /** Inputs the graph declares beyond the common four (see ExtraInput). */
  readonly extraInputs?: readonly ExtraInput[];
  /** Validates the config fields that change the math (ConfigError naming the field otherwise). */
  checkConfig(config: ConfigReader): void;
  /** How the default positions are made when `position_ids` is absent. */
  positions(config: ConfigReader): PositionScheme;
  /** Rows of the token type table; 0 when the family has no token types (DistilBERT). */
  typeVocabSize(config: ConfigReader): number;
  /**
   * The graph outputs of `request.task` on `inputs`. A 'multiple-choice' request sees the flattened
   * [batch·choices, sequence] rows and returns `logits` [batch, 1] (see `classifierWidth`); an architecture whose HF
   * family has no such head throws InputError naming itself.
   */
  build(m: ModelGraph, config: ConfigReader, inputs: EncoderInputs, request: GraphRequest): NamedOutput[];
  /**
   * The sequence-classification loss when config.json has no `problem_type`, for heads whose HF class has a rule of
   * its own (DeBERTa); absent, transformers' usual inference applies (src/runtime/losses.ts).
   */
  inferredSequenceClassificationLoss?: SequenceClassificationLoss;
}

export type PackedSupport = { supported: true } | { supported: false; why: string };

/** Whether this checkpoint (not only its family) has a packed graph: the family's answer, then its config's. */
export function packedSupport(arch: Architecture, config: ConfigReader): PackedSupport {
  if (!arch.packed.supported) return arch.packed;
  const why = arch.packedUnsupportedBy?.(config) ?? null;
  return why === null ? arch.packed : { supported: false, why };
}

/**
 * Refuses a packed graph this checkpoint has none of, or one asked to return attention probabilities (only the
 * padded graph does): InputError, naming `attentionsArgument` for the latter.
 */
export function checkPackedRequest(
  packed: PackedSupport,
  modelType: string,
  outputAttentions: boolean,
  attentionsArgument: string,
): void {
  if (!packed.supported) {
    throw new InputError(`packed: ${modelType} models have no packed graph (${packed.why})`, {
      argument: 'packed',
    });
  }
  if (outputAttentions) {
    throw new InputError('packed: attention probabilities are only returned by the padded graph', {
      argument: attentionsArgument,
    });
  }
}

/** A sequence-classification loss on logits [batch, num_labels]. */
export type SequenceClassificationLoss = (
  logits: { data: ArrayLike<number>; dims: number[] },
  labels: NumericTensor,
  numLabels: number,
) => number;
