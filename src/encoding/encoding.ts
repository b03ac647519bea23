/**
 * One encoded sequence (or pair, once merged), field for field like the Rust `tokenizers` Encoding.
 * All arrays have the same length (one entry per token). Offsets are [start, end) in UTF-16 code units of
 * the text the token came from (the first or the second text of a pair); special and pad tokens have [0, 0].
 */
export class Encoding {
  constructor(
    public ids: number[] = [],
    public typeIds: number[] = [],
    public tokens: string[] = [],
    /** Word index of each token inside its own sequence; null for special and pad tokens. */
    public words: (number | null)[] = [],
    public offsets: [number, number][] = [],
    public specialTokensMask: number[] = [],
    public attentionMask: number[] = [],
    /** Windows produced by truncation with overflow (each one a full Encoding). */
    public overflowing: Encoding[] = [],
    /** Sequence id (0 = first text, 1 = second text) → [start, end) token range. */
    public sequenceRanges: Map<number, [number, number]> = new Map(),
  ) {}

  get length(): number {
    return this.ids.length;
  }

  /** Sequence id of each token (0 or 1), null for special and pad tokens. */
  getSequenceIds(): (number | null)[] {
    const result: (number | null)[] = new Array(this.ids.length).fill(null);
    for (const [seq, [start, end]] of this.sequenceRanges) {
      for (let i = start; i < end; i++) result[i] = seq;
    }
    return result;
  }
}
