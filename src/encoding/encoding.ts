/**
 * One encoded sequence (or pair, once merged), field for field like the Rust `tokenizers` Encoding.
 * All arrays have the same length (one entry per token). Offsets are [start, end) in UTF-16 code units of
 * the text the token came from (the first or the second text of a pair); special and pad tokens have [0, 0].
 *
 * The batch layer builds offsets as one flat array of start/end numbers (`Encoding.withFlatOffsets`) and the
 * `offsets` pairs are only made when first read: most callers only need ids and masks, and one small array per
 * token was a large share of the encoding time.
 */
export class Encoding {
  /** The [start, end) pairs, once materialised or when given as pairs. */
  #offsets: [number, number][] | null;
  /** start0, end0, start1, end1, …, while the pairs are not materialised. */
  #flatOffsets: number[] | null = null;

  constructor(
    public ids: number[] = [],
    public typeIds: number[] = [],
    public tokens: string[] = [],
    /** Word index of each token inside its own sequence; null for special and pad tokens. */
    public words: (number | null)[] = [],
    offsets: [number, number][] = [],
    public specialTokensMask: number[] = [],
    public attentionMask: number[] = [],
    /** Windows produced by truncation with overflow (each one a full Encoding). */
    public overflowing: Encoding[] = [],
    /** Sequence id (0 = first text, 1 = second text) → [start, end) token range. */
    public sequenceRanges: Map<number, [number, number]> = new Map(),
  ) {
    this.#offsets = offsets;
  }

  /** An Encoding whose offsets are given flat (`[start0, end0, start1, end1, …]`, taken over, not copied). */
  static withFlatOffsets(
    ids: number[],
    typeIds: number[],
    tokens: string[],
    words: (number | null)[],
    flatOffsets: number[],
    specialTokensMask: number[],
    attentionMask: number[],
    sequenceRanges: Map<number, [number, number]>,
  ): Encoding {
    const encoding = new Encoding(
      ids,
      typeIds,
      tokens,
      words,
      undefined,
      specialTokensMask,
      attentionMask,
      [],
      sequenceRanges,
    );
    encoding.#offsets = null;
    encoding.#flatOffsets = flatOffsets;
    return encoding;
  }

  /** [start, end) of each token in UTF-16 code units of its own text; [0, 0] for special and pad tokens. */
  get offsets(): [number, number][] {
    if (this.#offsets === null) {
      const flat = this.#flatOffsets as number[];
      const pairs = new Array<[number, number]>(flat.length >> 1);
      for (let i = 0; i < pairs.length; i++) pairs[i] = [flat[2 * i]!, flat[2 * i + 1]!];
      this.#offsets = pairs;
      this.#flatOffsets = null;
    }
    return this.#offsets;
  }

  set offsets(offsets: [number, number][]) {
    this.#offsets = offsets;
    this.#flatOffsets = null;
  }

  /**
   * The flat offsets (`[start0, end0, …]`) while the pairs have not been materialised, else null. For one-pass
   * builders that copy offsets without reading them as pairs; the array must not be modified.
   */
  flatOffsets(): readonly number[] | null {
    return this.#flatOffsets;
  }

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
    const typeIds = this.typeIds;
    if (typeIds.length === this.ids.length && typeIds.every((t) => t === typeId)) return;
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
    const flat = this.#flatOffsets;
    if (flat !== null) {
      return Encoding.withFlatOffsets(
        this.ids,
        this.typeIds,
        this.tokens,
        this.words,
        flat,
        this.specialTokensMask,
        this.attentionMask,
        this.sequenceRanges,
      );
    }
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
   * Overflow windows are not merged here: post-processors combine windows explicitly. Parts registered with
   * `Encoding.markShared` (cached special tokens) get fresh offset pairs, so no two rows share one.
   */
  static concat(parts: readonly Encoding[]): Encoding {
    if (parts.length === 1 && !SHARED.has(parts[0])) return parts[0].withoutOverflow();
    let n = 0;
    for (const part of parts) n += part.ids.length;
    const merged = new Encoding(
      new Array<number>(n),
      new Array<number>(n),
      new Array<string>(n),
      new Array<number | null>(n),
      new Array<[number, number]>(n),
      new Array<number>(n),
      new Array<number>(n),
    );
    let k = 0;
    for (const part of parts) {
      for (const [seq, [s, e]] of part.sequenceRanges) merged.sequenceRanges.set(seq, [s + k, e + k]);
      const shared = SHARED.has(part);
      const length = part.ids.length;
      for (let i = 0; i < length; i++, k++) {
        merged.ids[k] = part.ids[i];
        merged.typeIds[k] = part.typeIds[i];
        merged.tokens[k] = part.tokens[i];
        merged.words[k] = part.words[i];
        const offset = part.offsets[i];
        merged.offsets[k] = shared ? [offset[0], offset[1]] : offset;
        merged.specialTokensMask[k] = part.specialTokensMask[i];
        merged.attentionMask[k] = part.attentionMask[i];
      }
    }
    return merged;
  }

  /**
   * Marks an encoding as shared between rows (a cached special-token encoding): `concat` copies its offset pairs
   * instead of reusing them. Returns the encoding.
   */
  static markShared(encoding: Encoding): Encoding {
    SHARED.add(encoding);
    return encoding;
  }
}

const SHARED = new WeakSet<Encoding>();
