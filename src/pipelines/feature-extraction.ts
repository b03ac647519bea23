/**
 * feature-extraction: token embeddings (transformers' FeatureExtractionPipeline) or pooled sentence vectors.
 * A sentence-transformers folder (modules.json) is run as `SentenceTransformer.encode` runs it: prompt, text
 * stripping and lower-casing, truncation at max_seq_length, Pooling, Dense and Normalize modules, then
 * `truncateDim`, `normalize` and `precision` (see sentence-transformers/).
 */
import { Encoding } from '../encoding/encoding.js';
import type { Side } from '../encoding/truncation.js';
import { InputError } from '../errors.js';
import { Pipeline, type PipelineTask, type WholeCall } from './base.js';
import { checkTruncationSide, encodeInput, resolveLongInputs, type LongInputOptions } from './long-inputs.js';
import { l2Normalize, VectorCombiner } from './math.js';
import { sliceRowPositions, type ModelRow } from './model-batch.js';
import type { PipelineBatchOptions, TaskSteps } from './runner.js';
import {
  POOLING_MODES,
  SentenceModuleStack,
  TextPreparation,
  checkPrecision,
  checkSimilarityFunction,
  needsRanges,
  poolTokens,
  quantizeEmbedding,
  quantizeEmbeddings,
  resolveCalibration,
  resolvePrompt,
  similarity,
  similarityPairwise,
  type Calibration,
  type PoolingMode,
  type Precision,
  type PromptOptions,
  type SentenceTransformersConfig,
  type SimilarityFunctionName,
} from './sentence-transformers/index.js';
import { readTextOrPair, type TextOrEncoding } from './text-inputs.js';
import type { PreTrainedModel } from '../models/auto.js';
import type { Tokenizer } from '../tokenizers/tokenizer.js';

/** 'none': one vector per token (special tokens included), as Python's pipeline returns. */
export type Pooling = 'none' | PoolingMode;

export interface FeatureExtractionOptions extends LongInputOptions, PromptOptions {
  /** Default: the sentence-transformers pooling of the folder, else 'none'. */
  pooling?: Pooling;
  /**
   * Unset: the folder's Normalize module (if any) runs in its place, nothing more (Python's default). true: also
   * L2-normalise the final vector, after `truncateDim` (Python's normalize_embeddings). false: no normalisation at
   * all, not even the folder's Normalize module.
   */
  normalize?: boolean;
  /** Keep the first N dimensions of each vector (Matryoshka), after the whole module stack. */
  truncateDim?: number;
  /** 'float32' (default), 'int8', 'uint8', 'binary' or 'ubinary' (sentence-transformers' quantize_embeddings). */
  precision?: Precision;
  /**
   * int8 / uint8 ranges: `{ min, max }` per dimension, or calibration embeddings to take them from. Without it the
   * ranges are those of the call's own embeddings (as Python), which needs the whole call at once (an array).
   */
  calibration?: Calibration;
}

/** One vector per input (pooled), or one per token (`pooling: 'none'`). */
export type Features = number[] | number[][];

/** A model row and how many of its first tokens (a prompt) the pooling leaves out. */
interface PooledRow extends ModelRow {
  maskedPrefix: number;
}

/** The rows of one input, the first one's `maskedPrefix` tokens (its prompt) left out of pooling. */
function* pooledRows(rows: Iterable<ModelRow>, maskedPrefix: number): Generator<PooledRow> {
  let first = true;
  for (const row of rows) {
    yield { ...row, maskedPrefix: first ? maskedPrefix : 0 };
    first = false;
  }
}

function checkPositiveInteger(value: unknown, argument: string): number | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 1) {
    throw new InputError(`${argument}: expected a positive integer, got ${JSON.stringify(value)}`, {
      argument,
    });
  }
  return value;
}

/**
 * A text input as sentence-transformers prepares it: the prompt in front, then `clean` (strip, lower-case) on
 * each text. An Encoding runs as it is (it has no text), so it cannot take a prompt.
 */
function prepareText(
  input: TextOrEncoding,
  index: number,
  prompt: string | null,
  clean: (text: string) => string,
): TextOrEncoding {
  if (input instanceof Encoding) {
    if (prompt === null) return input;
    throw new InputError(`inputs[${index}]: an Encoding cannot take a prompt; pass the text`, {
      argument: `inputs[${index}]`,
    });
  }
  const { text, pair } = readTextOrPair(input, index);
  const first = clean(prompt === null ? text : prompt + text);
  return pair === null ? first : { text: first, textPair: clean(pair) };
}

export class FeatureExtractionPipeline extends Pipeline<TextOrEncoding, Features, FeatureExtractionOptions> {
  constructor(
    task: PipelineTask,
    tokenizer: Tokenizer,
    model: PreTrainedModel,
    defaults: FeatureExtractionOptions & PipelineBatchOptions,
    /** The folder's sentence-transformers configuration, if any. */
    readonly sentenceTransformers: SentenceTransformersConfig | null = null,
    /** Its Dense and Normalize modules, loaded. */
    private readonly moduleStack: SentenceModuleStack | null = null,
  ) {
    super(task, tokenizer, model, defaults);
  }

  /** Tokens per row sentence-transformers runs: max_seq_length, else the model maximum (and never more). */
  get maxSeqLength(): number {
    return Math.min(this.sentenceTransformers?.maxSeqLength ?? Infinity, this.modelMaxLength);
  }

  /** The width of the sentence vectors (Python's get_sentence_embedding_dimension), before `truncateDim`. */
  get embeddingDimension(): number {
    const width = this.model.config.hiddenSize * (this.sentenceTransformers?.modes.length ?? 1);
    return this.moduleStack?.outputDimension(width) ?? width;
  }

  /** The folder's similarity function (config_sentence_transformers.json similarity_fn_name), default cosine. */
  get similarityFnName(): SimilarityFunctionName {
    return this.sentenceTransformers?.similarityFnName ?? 'cosine';
  }

  /**
   * The Encoding the model runs for `text` by default, as `SentenceTransformer.tokenize` makes it: the call's
   * prompt in front, stripped and lower-cased for a sentence-transformers folder, truncated at max_seq_length.
   */
  encodeText(
    text: string,
    options: PromptOptions & { truncate?: boolean; truncationSide?: Side } = {},
  ): Encoding {
    const st = this.sentenceTransformers;
    const prompt = this.promptFor(options);
    const preparation = new TextPreparation(this.tokenizer, this.maxSeqLength, st?.doLowerCase ?? false);
    const withPrompt = prompt === null ? text : prompt + text;
    const truncationSide = checkTruncationSide(options.truncationSide, this.tokenizer.truncationSide);
    // `truncate: false` gives the whole text's tokens (the server counts them to refuse over-long inputs, as TEI).
    return this.tokenizer.encode(
      st === null ? withPrompt : preparation.clean(withPrompt),
      null,
      options.truncate === false
        ? {}
        : { truncation: 'longest_first', maxLength: this.maxSeqLength, truncationSide },
    );
  }

  /** The prompt text a call with these options puts in front of each text (null: none), by Python's precedence. */
  promptFor(options: PromptOptions = {}): string | null {
    const st = this.sentenceTransformers;
    return resolvePrompt(options, st?.prompts ?? {}, st?.defaultPromptName ?? null);
  }

  /** The [a × b] similarity matrix of two lists of embeddings, with the model's similarity function by default. */
  similarity(
    a: readonly (readonly number[])[] | readonly number[],
    b: readonly (readonly number[])[] | readonly number[],
    fn: SimilarityFunctionName = this.similarityFnName,
  ): number[][] {
    return similarity(a, b, checkSimilarityFunction(fn));
  }

  /** Row i of a against row i of b, with the model's similarity function by default. */
  similarityPairwise(
    a: readonly (readonly number[])[],
    b: readonly (readonly number[])[],
    fn: SimilarityFunctionName = this.similarityFnName,
  ): number[] {
    return similarityPairwise(a, b, checkSimilarityFunction(fn));
  }

  protected override wholeCall(
    options: FeatureExtractionOptions,
  ): WholeCall<FeatureExtractionOptions, Features> | null {
    if (options.precision === undefined || options.calibration !== undefined) return null;
    const precision = checkPrecision(options.precision);
    if (!needsRanges(precision)) return null;
    return {
      options: { ...options, precision: 'float32' },
      // An empty call has nothing to take ranges from, and nothing to quantize.
      finish: (outputs) => (outputs.length === 0 ? [] : quantizeEmbeddings(outputs as number[][], precision)),
      streamError: new InputError(
        `precision: ${precision} takes its ranges from all the embeddings of the call, so it needs an array of ` +
          'inputs; pass calibration (ranges or calibration embeddings) to quantize a stream',
        { argument: 'calibration' },
      ),
    };
  }

  protected steps(options: FeatureExtractionOptions): TaskSteps<TextOrEncoding, unknown, unknown, Features> {
    const st = this.sentenceTransformers;
    const pooling = options.pooling;
    if (pooling !== undefined && pooling !== 'none' && !POOLING_MODES.includes(pooling)) {
      throw new InputError(
        `pooling: expected 'none', ${POOLING_MODES.map((m) => `'${m}'`).join(', ')}, got ${JSON.stringify(pooling)}`,
        { argument: 'pooling' },
      );
    }
    const modes: PoolingMode[] | null =
      pooling === undefined ? (st?.modes ?? null) : pooling === 'none' ? null : [pooling];
    const normalize = options.normalize;
    if (normalize !== undefined && typeof normalize !== 'boolean') {
      throw new InputError(`normalize: expected true or false`, { argument: 'normalize' });
    }
    const truncateDim = checkPositiveInteger(options.truncateDim, 'truncateDim');
    const precision = checkPrecision(options.precision ?? 'float32');
    if (modes === null && precision !== 'float32') {
      throw new InputError(
        `precision: ${precision} quantizes sentence vectors; choose a pooling other than 'none'`,
        {
          argument: 'precision',
        },
      );
    }
    const ranges =
      needsRanges(precision) && options.calibration !== undefined
        ? resolveCalibration(options.calibration)
        : undefined;
    if (needsRanges(precision) && ranges === undefined) {
      // wholeCall runs such calls in float32 and quantizes them together; reaching here means a caller bypassed it.
      throw new InputError(`precision: ${precision} needs calibration here`, { argument: 'calibration' });
    }
    const prompt = resolvePrompt(options, st?.prompts ?? {}, st?.defaultPromptName ?? null);
    // sentence-transformers always truncates, at max_seq_length; explicit long-input options take over.
    const stDefaults =
      st !== null && options.truncation === undefined && options.longInputs === undefined
        ? { truncation: true, maxLength: options.maxLength ?? this.maxSeqLength }
        : {};
    const limits = resolveLongInputs(
      { ...options, ...stDefaults },
      this.modelMaxLength,
      this.tokenizer.numSpecialTokensToAdd(false),
      this.tokenizer.truncationSide,
    );
    if (limits.mode === 'sliding-window' && modes === null) {
      throw new InputError(
        "longInputs: 'sliding-window' combines pooled vectors; choose a pooling other than 'none'",
        { argument: 'longInputs' },
      );
    }
    const { tokenizer } = this;
    const preparation = new TextPreparation(tokenizer, limits.maxLength, st?.doLowerCase ?? false);
    const clean = (text: string) => (st === null ? text : preparation.clean(text));
    const maskedPrefix = st !== null && !st.pooling.includePrompt ? preparation.promptLength(prompt) : 0;
    const width = this.model.config.hiddenSize;
    const stack = this.moduleStack;
    const finishVector = (pooled: number[]): number[] => {
      let vector = stack === null ? pooled : stack.apply(pooled, normalize !== false);
      if (truncateDim !== undefined) vector = vector.slice(0, truncateDim);
      if (normalize === true) vector = l2Normalize(vector);
      return precision === 'float32' ? vector : quantizeEmbedding(vector, precision, ranges);
    };
    // Pooled windows are combined as they arrive (a long text may have thousands of windows); token vectors
    // ('none') come from one row and are kept as they are.
    const steps: TaskSteps<TextOrEncoding, VectorCombiner | null, Features, Features> = {
      prepare: (input, index) => {
        const value = st === null && prompt === null ? input : prepareText(input, index, prompt, clean);
        return {
          rows: pooledRows(encodeInput(tokenizer, value, limits, index), maskedPrefix),
          state: modes === null ? null : new VectorCombiner(limits.aggregation),
        };
      },
      extract: (output, b, row, paddedLength) => {
        const hidden = output.last_hidden_state;
        if (!hidden) throw new InputError('the model returned no last_hidden_state', { argument: 'model' });
        const tokens = sliceRowPositions(hidden.data, b, paddedLength, row.ids.length, width);
        if (modes === null) {
          return Array.from({ length: row.ids.length }, (_, t) => {
            const vector = Array.from(tokens.subarray(t * width, (t + 1) * width));
            return truncateDim === undefined ? vector : vector.slice(0, truncateDim);
          });
        }
        return poolTokens(tokens, row.ids.length, width, modes, (row as PooledRow).maskedPrefix);
      },
      ...(modes === null ? {} : { absorb: (combiner, pooled) => combiner!.add(pooled as number[]) }),
      finish: (combiner, windows) => {
        if (combiner === null) return windows[0]!;
        return finishVector(combiner.result() as number[]);
      },
    };
    return steps as TaskSteps<TextOrEncoding, unknown, unknown, Features>;
  }
}
