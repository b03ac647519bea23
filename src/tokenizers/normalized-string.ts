/**
 * A string being normalized, with the alignment of every normalized UTF-16 unit back to the original text, like
 * the Rust `tokenizers` NormalizedString. Everything that changes the text (normalizers, pre-tokenizer rewrites)
 * goes through `transformRange`, whose (char, change) protocol is the Rust one, so offsets match the reference.
 *
 * Alignments are kept as absolute [start, end) UTF-16 positions in the root text (the string given to the
 * constructor), two Int32 per normalized unit. `null` alignments mean "identity": normalized unit i stands for the
 * character at unit `originalStart + i` of the root, which is what ASCII text usually keeps through BERT-style
 * normalization, so the common path allocates nothing per character.
 */

/** How `split` treats the delimiter matched by a pattern (Rust `SplitDelimiterBehavior`). */
export type SplitDelimiterBehavior =
  'removed' | 'isolated' | 'merged_with_previous' | 'merged_with_next' | 'contiguous';

/**
 * Something `split` / `replace` can look for. `findMatches` covers the whole text with consecutive
 * [start, end, isMatch] triples, flattened, exactly like Rust's `Pattern::find_matches`.
 */
export interface Pattern {
  findMatches(text: string): number[];
}

export function isHighSurrogate(unit: number): boolean {
  return unit >= 0xd800 && unit <= 0xdbff;
}

/** Number of UTF-16 units of the code point starting at `i` (1 or 2; a lone surrogate counts as 1). */
export function charWidthAt(text: string, i: number): number {
  const unit = text.charCodeAt(i);
  if (unit >= 0xd800 && unit <= 0xdbff && i + 1 < text.length) {
    const next = text.charCodeAt(i + 1);
    if (next >= 0xdc00 && next <= 0xdfff) return 2;
  }
  return 1;
}

/** A pattern matching single code points for which `predicate` holds; each one is its own match. */
export class CharPredicatePattern implements Pattern {
  constructor(private readonly predicate: (codePoint: number) => boolean) {}

  findMatches(text: string): number[] {
    if (text.length === 0) return [0, 0, 0];
    const out: number[] = [];
    const predicate = this.predicate;
    let lastOffset = 0;
    for (let i = 0; i < text.length;) {
      const cp = text.codePointAt(i)!;
      const width = cp > 0xffff ? 2 : 1;
      if (predicate(cp)) {
        if (lastOffset < i) out.push(lastOffset, i, 0);
        out.push(i, i + width, 1);
        lastOffset = i + width;
      }
      i += width;
    }
    if (lastOffset < text.length) out.push(lastOffset, text.length, 0);
    return out;
  }
}

/** A literal string pattern (Rust escapes it into a regex: leftmost, non-overlapping). Empty never matches. */
export class StringPattern implements Pattern {
  constructor(private readonly needle: string) {}

  findMatches(text: string): number[] {
    if (text.length === 0) return [0, 0, 0];
    if (this.needle.length === 0) return [0, text.length, 0];
    const out: number[] = [];
    let prev = 0;
    let at = text.indexOf(this.needle);
    while (at !== -1) {
      if (prev !== at) out.push(prev, at, 0);
      out.push(at, at + this.needle.length, 1);
      prev = at + this.needle.length;
      at = text.indexOf(this.needle, prev);
    }
    if (prev !== text.length) out.push(prev, text.length, 0);
    return out;
  }
}

/**
 * A regex pattern with the iteration rules of the Rust `onig` crate's `find_iter`: an empty match right where
 * the previous match ended is skipped, and the search then moves on by one character.
 */
export class RegexPattern implements Pattern {
  private readonly regex: RegExp;

  constructor(regex: RegExp) {
    const flags = regex.flags.includes('g') ? regex.flags : regex.flags + 'g';
    this.regex = new RegExp(regex.source, flags);
  }

  findMatches(text: string): number[] {
    if (text.length === 0) return [0, 0, 0];
    const out: number[] = [];
    const regex = this.regex;
    let prev = 0;
    let searchFrom = 0;
    let lastMatchEnd = -1;
    while (searchFrom <= text.length) {
      regex.lastIndex = searchFrom;
      const m = regex.exec(text);
      if (m === null) break;
      const start = m.index;
      const end = start + m[0].length;
      if (start === end && lastMatchEnd === end) {
        searchFrom = end + (end < text.length ? charWidthAt(text, end) : 1);
        continue;
      }
      if (prev !== start) out.push(prev, start, 0);
      out.push(start, end, 1);
      prev = end;
      lastMatchEnd = end;
      searchFrom = start === end ? end + (end < text.length ? charWidthAt(text, end) : 1) : end;
    }
    if (prev !== text.length) out.push(prev, text.length, 0);
    return out;
  }
}

/** Swaps matches and non-matches of another pattern (Rust `Invert`). */
export class InvertedPattern implements Pattern {
  constructor(private readonly inner: Pattern) {}

  findMatches(text: string): number[] {
    const out = this.inner.findMatches(text);
    for (let i = 2; i < out.length; i += 3) out[i] = out[i] ? 0 : 1;
    return out;
  }
}

/** Growable alignment buffer used while rebuilding a normalized string. */
class AlignmentBuilder {
  data: Int32Array;
  length = 0;

  constructor(capacity: number) {
    this.data = new Int32Array(Math.max(8, capacity * 2));
  }

  push(start: number, end: number): void {
    if (this.length + 2 > this.data.length) {
      const grown = new Int32Array(this.data.length * 2);
      grown.set(this.data);
      this.data = grown;
    }
    this.data[this.length++] = start;
    this.data[this.length++] = end;
  }

  finish(): Int32Array {
    return this.data.subarray(0, this.length);
  }
}

export class NormalizedString {
  /** The full text this string (or the string it was sliced from) was created with. */
  readonly root: string;
  /** [originalStart, originalEnd) is the part of `root` this string covers (Rust `original_shift`). */
  originalStart: number;
  originalEnd: number;
  normalized: string;
  /** Absolute alignments (2 per normalized unit) or null for identity, see the file comment. */
  private align: Int32Array | null;

  constructor(
    text: string,
    root?: string,
    originalStart = 0,
    originalEnd?: number,
    align: Int32Array | null = null,
  ) {
    this.normalized = text;
    this.root = root ?? text;
    this.originalStart = originalStart;
    this.originalEnd = originalEnd ?? originalStart + text.length;
    this.align = align;
  }

  get(): string {
    return this.normalized;
  }

  getOriginal(): string {
    return this.root.slice(this.originalStart, this.originalEnd);
  }

  get length(): number {
    return this.normalized.length;
  }

  get lengthOriginal(): number {
    return this.originalEnd - this.originalStart;
  }

  isEmpty(): boolean {
    return this.normalized.length === 0;
  }

  /** [start, end) of this string in the root text. */
  offsetsOriginal(): [number, number] {
    return [this.originalStart, this.originalEnd];
  }

  /** True while no transformation changed the shape of the text (alignment is the identity). */
  hasIdentityAlignment(): boolean {
    return this.align === null;
  }

  /** Absolute alignments, two per normalized unit, materialised from the identity when needed. */
  alignments(): Int32Array {
    if (this.align !== null) return this.align;
    const text = this.normalized;
    const base = this.originalStart;
    const out = new Int32Array(text.length * 2);
    for (let i = 0; i < text.length;) {
      const w = charWidthAt(text, i);
      for (let k = 0; k < w; k++) {
        out[2 * (i + k)] = base + i;
        out[2 * (i + k) + 1] = base + i + w;
      }
      i += w;
    }
    this.align = out;
    return out;
  }

  /**
   * Maps a [start, end) range of the normalized text to absolute original offsets (Rust `convert_offsets` with
   * `Range::Normalized`, then shifted by `original_shift`). An empty range maps to itself, as in Rust.
   */
  normalizedToOriginal(start: number, end: number): [number, number] | null {
    if (start === end) return [this.originalStart + start, this.originalStart + end];
    if (start > end) return null;
    if (this.normalized.length === 0) return [this.originalStart, this.originalEnd];
    if (start < 0 || end > this.normalized.length) return null;
    if (this.align === null) {
      // Identity: extend to whole characters as the per-unit alignments would.
      let s = start;
      let e = end;
      const t = this.normalized;
      const lo = t.charCodeAt(s);
      if (lo >= 0xdc00 && lo <= 0xdfff && s > 0 && isHighSurrogate(t.charCodeAt(s - 1))) s--;
      if (isHighSurrogate(t.charCodeAt(e - 1)) && charWidthAt(t, e - 1) === 2) e++;
      return [this.originalStart + s, this.originalStart + e];
    }
    return [this.align[2 * start]!, this.align[2 * (end - 1) + 1]!];
  }

  /**
   * Maps a [start, end) range of this string's original text (relative to `originalStart`) to normalized units
   * (Rust `convert_offsets` with `Range::Original`).
   */
  originalToNormalized(start: number, end: number): [number, number] | null {
    if (start === end) return [start, end];
    if (start > end) return null;
    if (this.lengthOriginal === 0 && start === 0 && end === 0) return [0, this.normalized.length];
    const align = this.alignments();
    const base = this.originalStart;
    let s = -1;
    let e = -1;
    const n = this.normalized.length;
    for (let i = 0; i < n; i++) {
      const a0 = align[2 * i]! - base;
      const a1 = align[2 * i + 1]! - base;
      if (!(end >= a1)) break;
      if (s === -1 && start <= a0 && a0 !== a1) s = i;
      e = i + 1;
    }
    if (s !== -1 && e !== -1) return [s, e];
    if (s !== -1) return [s, s];
    if (e !== -1) return [e, e];
    return null;
  }

  /**
   * A sub-string by normalized range, sharing this string's root and alignments. Returns null for a range
   * outside the string or not on character boundaries (Rust returns None there too).
   */
  slice(start: number, end: number): NormalizedString | null {
    const n = this.normalized.length;
    if (start < 0 || end > n || start > end) return null;
    if (this.align === null) {
      return new NormalizedString(
        this.normalized.slice(start, end),
        this.root,
        this.originalStart + start,
        this.originalStart + end,
        null,
      );
    }
    const range = this.normalizedToOriginal(start, end);
    if (range === null) return null;
    let [os, oe] = range;
    if (start === end) {
      // Rust's quirk: the empty normalized range is used as an original range as-is.
      os = this.originalStart + start;
      oe = os;
    }
    return new NormalizedString(
      this.normalized.slice(start, end),
      this.root,
      os,
      oe,
      this.align.subarray(2 * start, 2 * end),
    );
  }

  /**
   * Replaces the normalized units [start, end) by `chars` (a string), where `changes[k]` is the Rust change of the
   * k-th code point of `chars`: 0 = replaces one character, +1 = inserted, -n = replaces one and removes n more.
   * `initialRemoved` characters at the start of the range are dropped first. Characters of the range that no
   * change consumed are dropped too.
   */
  transformRange(
    start: number,
    end: number,
    chars: string,
    changes: ArrayLike<number>,
    initialRemoved: number,
  ): void {
    const old = this.normalized;
    const align = this.alignments();
    const builder = new AlignmentBuilder(chars.length + start + (old.length - end));
    builder.data.set(align.subarray(0, 2 * start));
    builder.length = 2 * start;
    let pos = start;
    for (let r = 0; r < initialRemoved && pos < end; r++) pos += charWidthAt(old, pos);
    let k = 0;
    for (let i = 0; i < chars.length; k++) {
      const width = charWidthAt(chars, i);
      const change = changes[k]!;
      let a0: number;
      let a1: number;
      if (change > 0) {
        if (pos < 1) {
          a0 = this.originalStart;
          a1 = this.originalStart;
        } else {
          a0 = align[2 * (pos - 1)]!;
          a1 = align[2 * (pos - 1) + 1]!;
        }
      } else {
        const at = Math.min(pos, old.length - 1);
        a0 = at >= 0 ? align[2 * at]! : this.originalStart;
        a1 = at >= 0 ? align[2 * at + 1]! : this.originalStart;
        if (pos < old.length) pos += charWidthAt(old, pos);
        for (let r = 0; r < -change && pos < old.length; r++) pos += charWidthAt(old, pos);
      }
      for (let w = 0; w < width; w++) builder.push(a0, a1);
      i += width;
    }
    for (let i = 2 * end; i < align.length; i += 2) builder.push(align[i]!, align[i + 1]!);
    this.normalized = old.slice(0, start) + chars + old.slice(end);
    this.align = builder.finish();
  }

  /** `transformRange` over the whole string (Rust `transform`). */
  transform(chars: string, changes: ArrayLike<number>, initialRemoved = 0): void {
    this.transformRange(0, this.normalized.length, chars, changes, initialRemoved);
  }

  /** Keeps only the characters for which `keep` holds (Rust `filter`). */
  filter(keep: (codePoint: number) => boolean): this {
    const text = this.normalized;
    let removedAny = false;
    for (let i = 0; i < text.length;) {
      const cp = text.codePointAt(i)!;
      if (!keep(cp)) {
        removedAny = true;
        break;
      }
      i += cp > 0xffff ? 2 : 1;
    }
    if (!removedAny) return this;
    // Removing characters never moves the alignment of the kept ones: copy them as they are.
    const align = this.alignments();
    const builder = new AlignmentBuilder(text.length);
    let out = '';
    for (let i = 0; i < text.length;) {
      const cp = text.codePointAt(i)!;
      const width = cp > 0xffff ? 2 : 1;
      if (keep(cp)) {
        out += text.slice(i, i + width);
        for (let w = 0; w < width; w++) builder.push(align[2 * (i + w)]!, align[2 * (i + w) + 1]!);
      }
      i += width;
    }
    this.normalized = out;
    this.align = builder.finish();
    return this;
  }

  /**
   * Replaces each character by the string `fn` returns for it (code point in, text out). A character that maps
   * to several characters gives change 0 to the first and +1 to the others, as Rust's `lowercase` does. Returning
   * the empty string removes the character.
   */
  mapChars(fn: (codePoint: number) => string): this {
    const text = this.normalized;
    let out = '';
    let sameShape = true;
    for (let i = 0; i < text.length;) {
      const cp = text.codePointAt(i)!;
      const width = cp > 0xffff ? 2 : 1;
      const mapped = fn(cp);
      if (sameShape && (mapped.length !== width || (width === 2) !== (charWidthAt(mapped, 0) === 2)))
        sameShape = false;
      out += mapped;
      i += width;
    }
    if (sameShape) {
      this.normalized = out;
      return this;
    }
    const changes: number[] = [];
    let pendingRemoved = 0;
    let leadingRemoved = 0;
    let sawOutput = false;
    for (let i = 0; i < text.length;) {
      const cp = text.codePointAt(i)!;
      const mapped = fn(cp);
      if (mapped.length === 0) {
        if (sawOutput) pendingRemoved++;
        else leadingRemoved++;
      } else {
        if (sawOutput && pendingRemoved > 0) {
          changes[changes.length - 1] = changes[changes.length - 1]! - pendingRemoved;
        }
        pendingRemoved = 0;
        let first = true;
        for (let j = 0; j < mapped.length;) {
          const w = charWidthAt(mapped, j);
          changes.push(first ? 0 : 1);
          first = false;
          j += w;
        }
        sawOutput = true;
      }
      i += cp > 0xffff ? 2 : 1;
    }
    this.transform(out, changes, leadingRemoved);
    return this;
  }

  /**
   * Replaces the normalized text by one of the same shape: every character replaced by a single character of the
   * same UTF-16 width, so the alignments stay as they are. Throws if the lengths differ.
   */
  replaceSameShape(text: string): this {
    if (text.length !== this.normalized.length) {
      throw new Error(`replaceSameShape: length ${text.length} differs from ${this.normalized.length}`);
    }
    this.normalized = text;
    return this;
  }

  /** Per-character lowercase (Rust `char::to_lowercase`: no context rules such as the final sigma). */
  lowercase(): this {
    const text = this.normalized;
    // Only U+0130 changes length when lowercased, and only U+03A3 (final sigma) depends on context: without
    // them the whole-string lowercase is the per-character one, with the same shape.
    if (text.indexOf('\u0130') === -1 && text.indexOf('\u03a3') === -1) {
      this.normalized = text.toLowerCase();
      return this;
    }
    return this.mapChars(lowercaseChar);
  }

  uppercase(): this {
    return this.mapChars((cp) => String.fromCodePoint(cp).toUpperCase());
  }

  /**
   * Unicode normalization with alignments following the `unicode-normalization-alignments` crate: a composed
   * character takes the alignment of the first character it consumed, the extra characters of a decomposition
   * are insertions after their source character. Only stretches holding non-ASCII characters (plus the ASCII
   * character before each, which a combining mark may compose with) can change, so only those are rewritten.
   */
  unicodeNormalize(form: 'NFC' | 'NFD' | 'NFKC' | 'NFKD'): this {
    const text = this.normalized;
    if (isAscii(text)) return this;
    if (text.normalize(form) === text) return this;
    let out = '';
    const changes = new ChangeList(text.length);
    const nonAscii = /[\u0080-\uffff]+/g;
    let copied = 0;
    let m: RegExpExecArray | null;
    while ((m = nonAscii.exec(text)) !== null) {
      let regionStart = m.index;
      if (regionStart > copied && text.charCodeAt(regionStart - 1) < 0x80) regionStart--;
      const regionEnd = m.index + m[0].length;
      // The ASCII gap is copied as is: one unchanged character per unit.
      out += text.slice(copied, regionStart);
      changes.skip(regionStart - copied);
      out += normalizeRegion(text.slice(regionStart, regionEnd), form, changes);
      copied = regionEnd;
    }
    out += text.slice(copied);
    changes.skip(text.length - copied);
    this.transform(out, changes.finish(), 0);
    return this;
  }

  nfd(): this {
    return this.unicodeNormalize('NFD');
  }

  nfc(): this {
    return this.unicodeNormalize('NFC');
  }

  nfkd(): this {
    return this.unicodeNormalize('NFKD');
  }

  nfkc(): this {
    return this.unicodeNormalize('NFKC');
  }

  /**
   * Replaces every match of `pattern` by `content` (Rust `replace`): the inserted characters all align to the
   * last character of the match.
   */
  replace(pattern: Pattern, content: string): this {
    const matches = pattern.findMatches(this.normalized);
    let hasMatch = false;
    for (let i = 2; i < matches.length; i += 3) {
      if (matches[i]) {
        hasMatch = true;
        break;
      }
    }
    if (!hasMatch) return this;
    const old = this.normalized;
    const align = this.alignments();
    const contentWidths: number[] = [];
    for (let j = 0; j < content.length;) {
      const w = charWidthAt(content, j);
      contentWidths.push(w);
      j += w;
    }
    const builder = new AlignmentBuilder(old.length + content.length);
    let out = '';
    for (let t = 0; t < matches.length; t += 3) {
      const start = matches[t]!;
      const end = matches[t + 1]!;
      if (!matches[t + 2]) {
        out += old.slice(start, end);
        for (let i = start; i < end; i++) builder.push(align[2 * i]!, align[2 * i + 1]!);
        continue;
      }
      out += content;
      if (content.length === 0) continue;
      let a0 = this.originalStart;
      let a1 = this.originalStart;
      if (end >= 1) {
        a0 = align[2 * (end - 1)]!;
        a1 = align[2 * (end - 1) + 1]!;
      }
      for (const w of contentWidths) for (let k = 0; k < w; k++) builder.push(a0, a1);
    }
    this.normalized = out;
    this.align = builder.finish();
    return this;
  }

  /**
   * Prepends `text` (Rust `prepend`). In Rust the first character is rewritten as `text` + itself, which leaves
   * every new unit with the first character's alignment; that is built here directly.
   */
  prepend(text: string): this {
    if (this.normalized.length === 0 || text.length === 0) return this;
    if (this.align === null) {
      // Identity: build the prefix and the per-character alignments in one array.
      const own = this.normalized;
      const base = this.originalStart;
      const out = new Int32Array(2 * (own.length + text.length));
      const firstEnd = base + charWidthAt(own, 0);
      let k = 0;
      for (let u = 0; u < text.length; u++) {
        out[k++] = base;
        out[k++] = firstEnd;
      }
      for (let i = 0; i < own.length;) {
        const w = charWidthAt(own, i);
        for (let u = 0; u < w; u++) {
          out[k++] = base + i;
          out[k++] = base + i + w;
        }
        i += w;
      }
      this.normalized = text + own;
      this.align = out;
      return this;
    }
    const align = this.alignments();
    const out = new Int32Array(align.length + 2 * text.length);
    const a0 = align[0]!;
    const a1 = align[1]!;
    for (let k = 0; k < 2 * text.length; k += 2) {
      out[k] = a0;
      out[k + 1] = a1;
    }
    out.set(align, 2 * text.length);
    this.normalized = text + this.normalized;
    this.align = out;
    return this;
  }

  /** Appends `text`: every new character aligns to the last character (Rust `append`). */
  append(text: string): this {
    if (this.normalized.length === 0 || text.length === 0) return this;
    const n = this.normalized.length;
    let lastStart = n - 1;
    if (lastStart > 0 && charWidthAt(this.normalized, lastStart - 1) === 2) lastStart--;
    const last = this.normalized.slice(lastStart);
    const changes: number[] = [0];
    for (let j = 0; j < text.length; j += charWidthAt(text, j)) changes.push(1);
    this.transformRange(lastStart, n, last + text, changes, 0);
    return this;
  }

  lstrip(): this {
    return this.stripEnds(true, false);
  }

  rstrip(): this {
    return this.stripEnds(false, true);
  }

  strip(): this {
    return this.stripEnds(true, true);
  }

  /** Removes leading / trailing White_Space characters (Rust `lrstrip`). */
  stripEnds(left: boolean, right: boolean): this {
    const text = this.normalized;
    let s = 0;
    let e = text.length;
    if (left) while (s < e && isWhitespaceUnit(text, s)) s += charWidthAt(text, s);
    if (right) {
      while (e > s) {
        const lastStart = e >= 2 && charWidthAt(text, e - 2) === 2 ? e - 2 : e - 1;
        if (!isWhitespaceUnit(text, lastStart)) break;
        e = lastStart;
      }
    }
    if (s === 0 && e === text.length) return this;
    const align = this.alignments();
    this.normalized = text.slice(s, e);
    this.align = align.slice(2 * s, 2 * e);
    return this;
  }

  /** Splits by `pattern` according to `behavior` (Rust `NormalizedString::split`). Empty pieces are kept. */
  split(pattern: Pattern, behavior: SplitDelimiterBehavior): NormalizedString[] {
    const matches = pattern.findMatches(this.normalized);
    const spans = applyBehavior(matches, behavior);
    const out: NormalizedString[] = [];
    for (let i = 0; i < spans.length; i += 2) {
      const piece = this.slice(spans[i]!, spans[i + 1]!);
      if (piece !== null) out.push(piece);
    }
    return out;
  }
}

/** Turns pattern matches into the [start, end) spans to keep, flattened. */
export function applyBehavior(matches: number[], behavior: SplitDelimiterBehavior): number[] {
  const spans: number[] = [];
  switch (behavior) {
    case 'removed':
      for (let i = 0; i < matches.length; i += 3)
        if (!matches[i + 2]) spans.push(matches[i]!, matches[i + 1]!);
      return spans;
    case 'isolated':
      for (let i = 0; i < matches.length; i += 3) spans.push(matches[i]!, matches[i + 1]!);
      return spans;
    case 'contiguous': {
      let previous = false;
      for (let i = 0; i < matches.length; i += 3) {
        const isMatch = matches[i + 2] === 1;
        if (isMatch === previous && spans.length > 0) spans[spans.length - 1] = matches[i + 1]!;
        else spans.push(matches[i]!, matches[i + 1]!);
        previous = isMatch;
      }
      return spans;
    }
    case 'merged_with_previous': {
      let previous = false;
      for (let i = 0; i < matches.length; i += 3) {
        const isMatch = matches[i + 2] === 1;
        if (isMatch && !previous && spans.length > 0) spans[spans.length - 1] = matches[i + 1]!;
        else spans.push(matches[i]!, matches[i + 1]!);
        previous = isMatch;
      }
      return spans;
    }
    case 'merged_with_next': {
      // Walk backwards, then restore the order.
      const reversed: number[] = [];
      let previous = false;
      for (let i = matches.length - 3; i >= 0; i -= 3) {
        const isMatch = matches[i + 2] === 1;
        if (isMatch && !previous && reversed.length > 0) reversed[reversed.length - 2] = matches[i]!;
        else reversed.push(matches[i]!, matches[i + 1]!);
        previous = isMatch;
      }
      for (let i = reversed.length - 2; i >= 0; i -= 2) spans.push(reversed[i]!, reversed[i + 1]!);
      return spans;
    }
  }
}

/** Per-output-character changes for `transform`, zero unless set; grows as needed. */
export class ChangeList {
  data: Int32Array;
  length = 0;

  constructor(capacity: number) {
    this.data = new Int32Array(Math.max(16, capacity + 16));
  }

  private ensure(extra: number): void {
    if (this.length + extra <= this.data.length) return;
    const grown = new Int32Array(Math.max(this.data.length * 2, this.length + extra));
    grown.set(this.data.subarray(0, this.length));
    this.data = grown;
  }

  push(change: number): void {
    this.ensure(1);
    this.data[this.length++] = change;
  }

  /** `count` characters with change 0. */
  skip(count: number): void {
    this.ensure(count);
    this.length += count;
  }

  /** Sets the last `count` changes to `value`. */
  setLast(count: number, value: number): void {
    for (let k = Math.max(0, this.length - count); k < this.length; k++) this.data[k] = value;
  }

  /** Adds `delta` to the last change (no-op when empty). */
  adjustLast(delta: number): void {
    if (this.length > 0) this.data[this.length - 1] = this.data[this.length - 1]! + delta;
  }

  finish(): Int32Array {
    return this.data.subarray(0, this.length);
  }
}

/**
 * Normalizes a stretch segment by segment (a starter and its marks, or a Hangul syllable sequence), recording
 * the changes: same count → all 0; fewer → the first output character consumes the others; more → per-character
 * decomposition (0 then +1) when it yields the same text, positional otherwise.
 */
function normalizeRegion(region: string, form: 'NFC' | 'NFD' | 'NFKC' | 'NFKD', changes: ChangeList): string {
  let out = '';
  const segmenter =
    /[\u1100-\u1112][\u1161-\u1175][\u11a8-\u11c2]?|[\uac00-\ud7a3][\u11a8-\u11c2]|\P{M}\p{M}*|\p{M}+/gsu;
  let m: RegExpExecArray | null;
  while ((m = segmenter.exec(region)) !== null) {
    const segment = m[0];
    const normalized = segment.normalize(form);
    out += normalized;
    const inCount = countChars(segment);
    const outCount = countChars(normalized);
    if (outCount === inCount) {
      changes.skip(outCount);
    } else if (outCount < inCount) {
      if (outCount === 0) {
        changes.adjustLast(-inCount);
      } else {
        changes.push(outCount - inCount);
        changes.skip(outCount - 1);
      }
    } else {
      const reordered = decompositionChanges(segment, normalized, form);
      if (reordered) {
        for (const c of reordered) changes.push(c);
      } else {
        for (let k = 0; k < outCount; k++) changes.push(k < inCount ? 0 : 1);
      }
    }
  }
  return out;
}

/**
 * The changes of a segment that normalizes to more characters, as `unicode-normalization-alignments` makes them:
 * each character decomposes on its own (0 for the first character it yields, +1 for the others), then the
 * canonical ordering of marks moves every character together with its change. A decomposed Hangul syllable
 * followed by reordered marks (가 + U+0301 U+0316) thus keeps its jamo as 0, +1 and the marks after them. The
 * ordering is a stable sort by combining class, so each output character is the first unused equal character of
 * the per-character decomposition. Null when the output is not a reordering of that decomposition.
 */
function decompositionChanges(
  segment: string,
  normalized: string,
  form: 'NFC' | 'NFD' | 'NFKC' | 'NFKD',
): number[] | null {
  const pieces: { char: string; change: number; used: boolean }[] = [];
  for (const ch of segment) {
    let change = 0;
    for (const part of ch.normalize(form)) {
      pieces.push({ char: part, change, used: false });
      change = 1;
    }
  }
  const changes: number[] = [];
  for (const ch of normalized) {
    const piece = pieces.find((p) => !p.used && p.char === ch);
    if (!piece) return null;
    piece.used = true;
    changes.push(piece.change);
  }
  return changes.length === pieces.length ? changes : null;
}

const lowercaseCache = new Map<number, string>();

function lowercaseChar(cp: number): string {
  if (cp < 0x80) return String.fromCharCode(cp >= 0x41 && cp <= 0x5a ? cp + 32 : cp);
  let lower = lowercaseCache.get(cp);
  if (lower === undefined) {
    // A lone character: no final-sigma context, as with Rust's char::to_lowercase.
    lower = String.fromCodePoint(cp).toLowerCase();
    lowercaseCache.set(cp, lower);
  }
  return lower;
}

export function isAscii(text: string): boolean {
  for (let i = 0; i < text.length; i++) if (text.charCodeAt(i) > 0x7f) return false;
  return true;
}

function countChars(text: string): number {
  let n = 0;
  for (let i = 0; i < text.length; i += charWidthAt(text, i)) n++;
  return n;
}

/** Rust `char::is_whitespace` (the Unicode White_Space property). */
export function isWhitespaceCodePoint(cp: number): boolean {
  if (cp <= 0x20) return cp === 0x20 || (cp >= 0x09 && cp <= 0x0d);
  if (cp < 0x85) return false;
  return (
    cp === 0x85 ||
    cp === 0xa0 ||
    cp === 0x1680 ||
    (cp >= 0x2000 && cp <= 0x200a) ||
    cp === 0x2028 ||
    cp === 0x2029 ||
    cp === 0x202f ||
    cp === 0x205f ||
    cp === 0x3000
  );
}

function isWhitespaceUnit(text: string, i: number): boolean {
  return isWhitespaceCodePoint(text.codePointAt(i)!);
}
