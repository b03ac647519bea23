/** The batching HTTP server. */
export {
  createServer,
  closeOnSignals,
  resolveServerOptions,
  type ServerOptions,
  type SeqbatchServer,
} from './server.js';
export type {
  Engine,
  EngineInfo,
  EngineTask,
  TextItem,
  PreparedText,
  ClassifyOptions,
  Prediction,
  EmbedOptions,
  EmbedItem,
  ModelKind,
  ScoreOptions,
  DecodeOptions,
  TokenizeOptions,
  TokenizedText,
} from './engine.js';
export {
  DynamicBatcher,
  QueueFullError,
  type BatcherOptions,
  type BatchItem,
  type BatchStats,
} from './batcher.js';
export { replicatedEngine } from './replicas.js';
export {
  ApiError,
  type ApiErrorType,
  type ErrorBody,
  type ErrorDialect,
  type TeiErrorType,
} from './http-errors.js';
export { Counter, Gauge, Histogram, MetricsRegistry, PROMETHEUS_CONTENT_TYPE } from './metrics.js';
export { float32ToString } from '../util/float32-json.js';
export {
  addServeOptions,
  serveOptionsFrom,
  startServer,
  type ServeCliOptions,
  type ServeOptions,
} from './serve-options.js';
