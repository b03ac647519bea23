/**
 * A bounded word → result cache. The Rust BPE and Unigram models cache words to skip re-running the merge /
 * Viterbi loop on repeated words; this does the same, with the same policy: once full, new words are simply
 * not cached. Evicting instead (FIFO or LRU) thrashes when a corpus cycles through slightly more distinct words
 * than the capacity, which made every lookup miss; keeping the first words seen keeps the frequent ones in a
 * Zipf-distributed text stream.
 */
export class WordCache<V> {
  private readonly entries = new Map<string, V>();

  /** `maxKeyLength` skips caching very long words, which are rare and would only churn the cache. */
  constructor(
    readonly capacity = 10_000,
    readonly maxKeyLength = 256,
  ) {}

  get(key: string): V | undefined {
    return this.entries.get(key);
  }

  set(key: string, value: V): void {
    if (this.entries.size >= this.capacity || key.length >= this.maxKeyLength) return;
    this.entries.set(key, value);
  }

  clear(): void {
    this.entries.clear();
  }

  get size(): number {
    return this.entries.size;
  }
}
