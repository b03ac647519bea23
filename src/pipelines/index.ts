/**
 * `pipeline(task, modelDirOrId, options)`: transformers' pipelines on seqbatch's tokenizer, batch scheduler and
 * ONNX Runtime models. See docs/pipelines.md.
 */
import { InputError } from '../errors.js';
import { resolveModel, type ResolveModelOptions } from '../hub/index.js';
import { PreTrainedModel, type FromPretrainedOptions, type ModelTask } from '../models/auto.js';
import { AutoConfig } from '../models/config.js';
import { Tokenizer, type TokenizerOptions } from '../tokenizers/tokenizer.js';
import type { PipelineTask } from './base.js';
import { checkTaskFitsHead } from './head-check.js';
import { FeatureExtractionPipeline, type FeatureExtractionOptions } from './feature-extraction.js';
import { readSentenceTransformersConfig, SentenceModuleStack } from './sentence-transformers/index.js';
import { TextRankingPipeline, type TextRankingOptions } from './text-ranking.js';
import { FillMaskPipeline, type FillMaskOptions } from './fill-mask.js';
import { MultipleChoicePipeline, type MultipleChoiceOptions } from './multiple-choice.js';
import { QuestionAnsweringPipeline, type QuestionAnsweringOptions } from './question-answering.js';
import type { PipelineBatchOptions } from './runner.js';
import { TextClassificationPipeline, type TextClassificationOptions } from './text-classification.js';
import { TokenClassificationPipeline, type TokenClassificationOptions } from './token-classification.js';
import { ZeroShotClassificationPipeline, type ZeroShotOptions } from './zero-shot.js';

export { Pipeline, type PipelineTask } from './base.js';
export type { PipelineBatchOptions } from './runner.js';
export type { LongInputOptions, LongInputs, WindowAggregation } from './long-inputs.js';
export type { TextOrEncoding, TextOrPair } from './text-inputs.js';
export {
  TextClassificationPipeline,
  labelScores,
  type ClassificationFunction,
  type LabelScore,
  type LabelScoreWithLogits,
  type LabelScoresWithLogits,
  type TextClassificationOptions,
  type TextClassificationResult,
} from './text-classification.js';
export {
  FeatureExtractionPipeline,
  type FeatureExtractionOptions,
  type Features,
  type Pooling,
} from './feature-extraction.js';
export {
  POOLING_MODES,
  PRECISIONS,
  SIMILARITY_FUNCTIONS,
  poolTokens,
  pythonStrip,
  quantizationRanges,
  quantizeEmbeddings,
  readSentenceTransformersConfig,
  resolveCalibration,
  similarity,
  similarityPairwise,
  type Calibration,
  type PoolingMode,
  type Precision,
  type PromptOptions,
  type QuantizationRanges,
  type SentenceTransformersConfig,
  type SimilarityFunctionName,
} from './sentence-transformers/index.js';
export {
  TextRankingPipeline,
  crossEncoderActivationPath,
  isCrossEncoder,
  type PairScore,
  type RankOptions,
  type RankResult,
  type RankingInput,
  type RankingPair,
  type RankingTruncation,
  type TextRankingOptions,
} from './text-ranking.js';
export { TokenClassificationPipeline, type TokenClassificationOptions } from './token-classification.js';
export {
  aggregateTokens,
  mergeOverlappingEntities,
  type AggregationStrategy,
  type TokenEntity,
  type EntityGroup,
  type TokenPrediction,
} from './token-aggregation.js';
export {
  QuestionAnsweringPipeline,
  type QuestionAnsweringOptions,
  type QuestionInput,
} from './question-answering.js';
export { selectSpans, type QaAnswer, type QaWindow, type SpanSelectionOptions } from './qa-spans.js';
export { FillMaskPipeline, type FillMaskOptions, type FillMaskPrediction } from './fill-mask.js';
export {
  MultipleChoicePipeline,
  type MultipleChoiceInput,
  type MultipleChoiceOptions,
  type MultipleChoiceResult,
} from './multiple-choice.js';
export {
  ZeroShotClassificationPipeline,
  zeroShotScores,
  type ZeroShotOptions,
  type ZeroShotResult,
} from './zero-shot.js';

export interface PipelineOptions extends FromPretrainedOptions, PipelineBatchOptions {
  /** Use this tokenizer instead of loading the model folder's. */
  tokenizer?: Tokenizer;
  /** Options for loading the folder's tokenizer. */
  tokenizerOptions?: TokenizerOptions;
  /** How a Hub id is resolved (cache, revision, offline…). */
  hub?: ResolveModelOptions;
  /**
   * Packed (padding-free) execution, as in the model API, but 'auto' by default: a batch over 5% padding runs on
   * the packed graph, others on the padded graph, as fast on length-sorted batches; the packed graph (a
   * second session) opens only for a batch wasting at least 256 positions. Pipelines read real positions only, so
   * this changes what they return by float rounding alone (about 1e-7); it pays off on batches that are not
   * length-sorted (`sortByLength: false`, a server's batches).
   */
  packed?: FromPretrainedOptions['packed'];
  /**
   * Run the task even when config.json's `architectures` name a head that does not fit it (NER on a
   * sequence-classification head, zero-shot without an entailment label, ...). Default false: such a pipeline is
   * refused with an InputError naming the head found and the head needed.
   */
  allowHeadMismatch?: boolean;
}

const TASK_ALIASES: Record<string, PipelineTask> = {
  'text-classification': 'text-classification',
  'sentiment-analysis': 'text-classification',
  'feature-extraction': 'feature-extraction',
  'token-classification': 'token-classification',
  ner: 'token-classification',
  'question-answering': 'question-answering',
  'fill-mask': 'fill-mask',
  'zero-shot-classification': 'zero-shot-classification',
  'text-ranking': 'text-ranking',
  rerank: 'text-ranking',
  'multiple-choice': 'multiple-choice',
};

const MODEL_TASK: Record<PipelineTask, ModelTask> = {
  'text-classification': 'sequence-classification',
  'feature-extraction': 'base',
  'token-classification': 'token-classification',
  'question-answering': 'question-answering',
  'fill-mask': 'masked-lm',
  'zero-shot-classification': 'sequence-classification',
  'text-ranking': 'sequence-classification',
  'multiple-choice': 'multiple-choice',
};

export function pipeline(
  task: 'text-classification' | 'sentiment-analysis',
  model: string,
  options?: PipelineOptions & TextClassificationOptions,
): Promise<TextClassificationPipeline>;
export function pipeline(
  task: 'feature-extraction',
  model: string,
  options?: PipelineOptions & FeatureExtractionOptions,
): Promise<FeatureExtractionPipeline>;
export function pipeline(
  task: 'token-classification' | 'ner',
  model: string,
  options?: PipelineOptions & TokenClassificationOptions,
): Promise<TokenClassificationPipeline>;
export function pipeline(
  task: 'question-answering',
  model: string,
  options?: PipelineOptions & QuestionAnsweringOptions,
): Promise<QuestionAnsweringPipeline>;
export function pipeline(
  task: 'fill-mask',
  model: string,
  options?: PipelineOptions & FillMaskOptions,
): Promise<FillMaskPipeline>;
export function pipeline(
  task: 'zero-shot-classification',
  model: string,
  options?: PipelineOptions & ZeroShotOptions,
): Promise<ZeroShotClassificationPipeline>;
export function pipeline(
  task: 'text-ranking' | 'rerank',
  model: string,
  options?: PipelineOptions & TextRankingOptions,
): Promise<TextRankingPipeline>;
export function pipeline(
  task: 'multiple-choice',
  model: string,
  options?: PipelineOptions & MultipleChoiceOptions,
): Promise<MultipleChoicePipeline>;
/**
 * Loads a model folder (or Hub id) with its tokenizer for `task`. Every option not about loading becomes a
 * default of each call (`pipe.run(inputs, options)` overrides them per call).
 */
export async function pipeline(
  task: string,
  modelDirOrId: string,
  options: PipelineOptions = {},
): Promise<
  | TextClassificationPipeline
  | FeatureExtractionPipeline
  | TokenClassificationPipeline
  | QuestionAnsweringPipeline
  | FillMaskPipeline
  | ZeroShotClassificationPipeline
  | TextRankingPipeline
  | MultipleChoicePipeline
> {
  const resolved = TASK_ALIASES[task];
  if (resolved === undefined) {
    throw new InputError(
      `task: unknown pipeline task ${JSON.stringify(task)}; expected one of ${Object.keys(TASK_ALIASES).join(', ')}`,
      { argument: 'task' },
    );
  }
  const {
    tokenizer: givenTokenizer,
    tokenizerOptions,
    hub,
    threads,
    interOpThreads,
    graphOptimizationLevel,
    runOn,
    profileFilePrefix,
    outputHiddenStates,
    outputAttentions,
    cacheDir,
    packed,
    dtype,
    int8Exclude,
    int8Weights,
    allowHeadMismatch,
    ...callDefaults
  } = options;
  const dir = await resolveModel(modelDirOrId, hub);
  const tokenizer = givenTokenizer ?? (await Tokenizer.fromPretrained(dir, tokenizerOptions));
  checkTaskFitsHead(resolved, AutoConfig.fromPretrained(dir), allowHeadMismatch);
  const model = await PreTrainedModel.fromPretrained(dir, MODEL_TASK[resolved], {
    threads,
    interOpThreads,
    graphOptimizationLevel,
    runOn,
    profileFilePrefix,
    outputHiddenStates,
    outputAttentions,
    cacheDir,
    // Per batch, padded or packed (see FromPretrainedOptions.packed).
    packed: packed ?? 'auto',
    dtype,
    int8Exclude,
    int8Weights,
  });
  switch (resolved) {
    case 'text-classification':
      return new TextClassificationPipeline(resolved, tokenizer, model, callDefaults);
    case 'feature-extraction': {
      const config = readSentenceTransformersConfig(dir);
      const stack = await SentenceModuleStack.load(config);
      return new FeatureExtractionPipeline(resolved, tokenizer, model, callDefaults, config, stack);
    }
    case 'text-ranking':
      return new TextRankingPipeline(resolved, tokenizer, model, callDefaults);
    case 'multiple-choice':
      return new MultipleChoicePipeline(resolved, tokenizer, model, callDefaults);
    case 'token-classification':
      return new TokenClassificationPipeline(resolved, tokenizer, model, callDefaults);
    case 'question-answering':
      return new QuestionAnsweringPipeline(resolved, tokenizer, model, callDefaults);
    case 'fill-mask':
      return new FillMaskPipeline(resolved, tokenizer, model, callDefaults);
    case 'zero-shot-classification':
      return new ZeroShotClassificationPipeline(resolved, tokenizer, model, callDefaults);
  }
}
