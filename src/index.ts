/** Public API of seqbatch. */
export * from './errors.js';
export { Encoding } from './encoding/encoding.js';
