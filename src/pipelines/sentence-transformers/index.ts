/** sentence-transformers folders run as `SentenceTransformer.encode` runs them: one module per file. */
export {
  ACTIVATION_NAMES,
  activationFunction,
  activationPath,
  type ActivationFunction,
} from './activations.js';
export { DenseLayer, readDenseConfig, type DenseConfig } from './dense.js';
export {
  readSentenceTransformersConfig,
  type SentenceModule,
  type SentenceTransformersConfig,
} from './folder-config.js';
export { SentenceModuleStack } from './module-stack.js';
export {
  POOLING_MODES,
  orderPoolingModes,
  poolTokens,
  readPoolingConfig,
  type PoolingConfig,
  type PoolingMode,
} from './pooling.js';
export {
  PRECISIONS,
  checkPrecision,
  needsRanges,
  quantizationRanges,
  quantizeEmbedding,
  quantizeEmbeddings,
  resolveCalibration,
  type Calibration,
  type Precision,
  type QuantizationRanges,
} from './quantize.js';
export {
  SIMILARITY_FUNCTIONS,
  checkSimilarityFunction,
  similarity,
  similarityPairwise,
  type SimilarityFunctionName,
} from './similarity.js';
export { TextPreparation, pythonStrip, resolvePrompt, type PromptOptions } from './text-preparation.js';
