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

  /**
   * Sequence id of each token (0 or 1), null for special and pad tokens. Like the Rust core, an encoding that
   * never had its sequence ranges set counts as one sequence 0 covering every token.
   */
  getSequenceIds(): (number | null)[] {
    if (this.sequenceRanges.size === 0) return new Array<number | null>(this.ids.length).fill(0);
    const result: (number | null)[] = new Array(this.ids.length).fill(null);
    for (const [seq, [start, end]] of this.sequenceRanges) {
      for (let i = start; i < end; i++) result[i] = seq;
    }
    return result;
  }

  /** Marks every token as belonging to sequence `id` (what the Rust core does before post-processing). */
  setSequenceId(id: number): void {
    this.sequenceRanges = new Map([[id, [0, this.ids.length]]]);
  }

  /** Sets every type id to `typeId`. */
  setTypeIds(typeId: number): void {
    this.typeIds = new Array<number>(this.ids.length).fill(typeId);
  }

  /** Tokens [start, end) as a new Encoding without overflow windows or sequence ranges (a truncation window). */
  slice(start: number, end: number): Encoding {
    return new Encoding(
      this.ids.slice(start, end),
      this.typeIds.slice(start, end),
      this.tokens.slice(start, end),
      this.words.slice(start, end),
      this.offsets.slice(start, end).map(([s, e]) => [s, e] as [number, number]),
      this.specialTokensMask.slice(start, end),
      this.attentionMask.slice(start, end),
    );
  }

  /** A deep copy (overflow windows included). */
  clone(): Encoding {
    const copy = this.slice(0, this.ids.length);
    copy.overflowing = this.overflowing.map((window) => window.clone());
    copy.sequenceRanges = new Map([...this.sequenceRanges].map(([seq, [s, e]]) => [seq, [s, e]]));
    return copy;
  }

  /** The encoding without its overflow windows (shares the token arrays). */
  withoutOverflow(): Encoding {
    return new Encoding(
      this.ids,
      this.typeIds,
      this.tokens,
      this.words,
      this.offsets,
      this.specialTokensMask,
      this.attentionMask,
      [],
      this.sequenceRanges,
    );
  }

  /**
   * Concatenates encodings (e.g. `[CLS] A [SEP]` and `B [SEP]`) into a new one. Offsets are kept as they are
   * (each token stays relative to its own text) and sequence ranges are shifted to their new positions.
   * Overflow windows are not merged here: post-processors combine windows explicitly.
   */
  static concat(parts: readonly Encoding[]): Encoding {
    if (parts.length === 1) return parts[0].withoutOverflow();
    const merged = new Encoding();
    for (const part of parts) {
      const shift = merged.ids.length;
      for (const [seq, [s, e]] of part.sequenceRanges) merged.sequenceRanges.set(seq, [s + shift, e + shift]);
      pushAll(merged.ids, part.ids);
      pushAll(merged.typeIds, part.typeIds);
      pushAll(merged.tokens, part.tokens);
      pushAll(merged.words, part.words);
      pushAll(merged.offsets, part.offsets);
      pushAll(merged.specialTokensMask, part.specialTokensMask);
      pushAll(merged.attentionMask, part.attentionMask);
    }
    return merged;
  }
}

function pushAll<T>(target: T[], source: readonly T[]): void {
  for (let i = 0; i < source.length; i++) target.push(source[i]);
}
