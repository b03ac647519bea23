/** Public API of seqbatch. */
export * from './errors.js';
export { Encoding } from './encoding/encoding.js';
export { resolveModel, type ResolveModelOptions, type DownloadProgress } from './hub/index.js';
