/**
 * A bounded word → result cache. The Rust BPE and Unigram models cache words to skip re-running the merge /
 * Viterbi loop on repeated words; this does the same. When full, the oldest entry is evicted (Map keeps
 * insertion order), so memory stays bounded in a long-running process whose vocabulary of words drifts.
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
    if (this.capacity <= 0 || key.length >= this.maxKeyLength) return;
    if (this.entries.size >= this.capacity) {
      const oldest = this.entries.keys().next();
      if (!oldest.done) this.entries.delete(oldest.value);
    }
    this.entries.set(key, value);
  }

  clear(): void {
    this.entries.clear();
  }

  get size(): number {
    return this.entries.size;
  }
}
