/** Seeded randomness for property tests, so every run (and every failure) is reproducible. */
export { mulberry32 } from '../../src/util/random.js';
