/** Public API of seqbatch. */
export * from './errors.js';
export { Encoding } from './encoding/encoding.js';
export {
  Tokenizer,
  cleanUpTokenization,
  type TokenizerOptions,
  type DecodeOptions,
} from './tokenizers/tokenizer.js';
export { models, modelFromJSON, WordPiece, BPE, Unigram, WordLevel } from './tokenizers/models/index.js';
export { decoders, decoderFromJSON, type Decoder } from './tokenizers/decoders/index.js';
export { TokenizerPipeline, type TokenizerPipelineOptions } from './tokenizers/pipeline.js';
export { BatchEncoding, type EncodedRow, type TensorField } from './encoding/batch-encoding.js';
export type { EncodeOptions, PaddingOption, TruncationOption } from './encoding/call-options.js';
export type { PadOptions, PaddedFeatures } from './encoding/pad-features.js';
export { featuresToTensors } from './encoding/pad-features.js';
export type { IntTensor, TensorDType } from './encoding/tensors.js';
export type { TextInput } from './encoding/encode-batch.js';
export type { Side, TruncationStrategy } from './encoding/truncation.js';
export * from './batching/index.js';
export { resolveModel, type ResolveModelOptions, type DownloadProgress } from './hub/index.js';
export {
  AutoModel,
  AutoModelForSequenceClassification,
  AutoModelForTokenClassification,
  AutoModelForQuestionAnswering,
  AutoModelForMaskedLM,
  AutoModelForMultipleChoice,
  PreTrainedModel,
  type FromPretrainedOptions,
  type ModelInputs,
  type ModelOutput,
  type ForwardInput,
  type ForwardOptions,
  type GraphLayout,
} from './models/auto.js';
export { AutoConfig, PretrainedConfig, SUPPORTED_MODEL_TYPES } from './models/config.js';
export { FloatTensor } from './runtime/tensor.js';
export {
  PACKED_AUTO_OPEN_PADDING,
  PACKED_AUTO_PADDING_SHARE,
  paddingShare,
  type PackedMode,
} from './runtime/packed.js';
export type { RuntimeOptions, GraphOptimizationLevel } from './runtime/session.js';
export { loadWeights, type WeightStore } from './weights/index.js';
export * from './pipelines/index.js';
