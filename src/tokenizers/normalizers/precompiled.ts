import { ConfigError } from '../../errors.js';
import { ChangeList, charWidthAt, type NormalizedString } from '../normalized-string.js';
import type { Normalizer } from './normalizer.js';

/**
 * SentencePiece's precompiled normalizer (`precompiled_charsmap`): a Darts double-array trie over UTF-8 byte
 * sequences whose values point into a block of NUL-terminated replacement strings. Applied like the Rust
 * `spm_precompiled` crate: per extended grapheme cluster (shorter than 6 UTF-8 bytes) first, else per character,
 * taking the shortest trie match that prefixes the chunk.
 */
export class PrecompiledNormalizer implements Normalizer {
  readonly type = 'Precompiled';
  private readonly trie: Uint32Array;
  private readonly normalizedBytes: Uint8Array;
  private readonly cache = new Map<string, string | null>();
  private static readonly encoder = new TextEncoder();
  private static readonly decoder = new TextDecoder();
  private static segmenter: Intl.Segmenter | null = null;

  constructor(blob: Uint8Array, field = 'normalizer.precompiled_charsmap') {
    if (blob.length < 4)
      throw new ConfigError(`${field}: charsmap is shorter than its 4-byte header`, { field });
    const view = new DataView(blob.buffer, blob.byteOffset, blob.byteLength);
    const trieSize = view.getUint32(0, true);
    if (trieSize % 4 !== 0 || 4 + trieSize > blob.length) {
      throw new ConfigError(`${field}: trie size ${trieSize} does not fit the ${blob.length}-byte charsmap`, {
        field,
      });
    }
    this.trie = new Uint32Array(trieSize / 4);
    for (let i = 0; i < this.trie.length; i++) this.trie[i] = view.getUint32(4 + 4 * i, true);
    this.normalizedBytes = blob.subarray(4 + trieSize);
    this.asciiRewrites = new Uint8Array(128);
    for (let c = 0; c < 0x80; c++)
      this.asciiRewrites[c] = this.transform(String.fromCharCode(c)) === null ? 0 : 1;
    this.printableAsciiUnchanged = this.asciiRewrites.subarray(0x20, 0x7f).every((r) => r === 0);
  }

  /** True when no printable ASCII character has a rewrite: such text is left as it is without a scan. */
  private readonly printableAsciiUnchanged: boolean;
  /** 1 for the ASCII characters the charsmap rewrites. */
  private readonly asciiRewrites: Uint8Array;

  static fromBase64(base64: string, field = 'normalizer.precompiled_charsmap'): PrecompiledNormalizer {
    return new PrecompiledNormalizer(new Uint8Array(Buffer.from(base64, 'base64')), field);
  }

  /** Values of every trie key that is a prefix of `key`, shortest first (Darts `commonPrefixSearch`). */
  commonPrefixSearch(key: Uint8Array): number[] {
    const array = this.trie;
    const results: number[] = [];
    if (array.length === 0) return results;
    let nodePos = 0;
    let unit = array[0]!;
    nodePos ^= offsetOf(unit);
    for (let i = 0; i < key.length; i++) {
      const c = key[i]!;
      if (c === 0) break;
      nodePos ^= c;
      unit = array[nodePos] ?? 0;
      if ((unit & 0x800000ff) >>> 0 !== c) return results;
      nodePos ^= offsetOf(unit);
      if ((unit >>> 8) & 1) results.push((array[nodePos] ?? 0) & 0x7fffffff);
    }
    return results;
  }

  /** The replacement for a chunk of text, or null when the trie has no prefix of it. */
  transform(chunk: string): string | null {
    const cached = this.cache.get(chunk);
    if (cached !== undefined) return cached;
    const results = this.commonPrefixSearch(PrecompiledNormalizer.encoder.encode(chunk));
    let replacement: string | null = null;
    if (results.length > 0) {
      const start = results[0]!;
      let end = start;
      while (end < this.normalizedBytes.length && this.normalizedBytes[end] !== 0) end++;
      replacement = PrecompiledNormalizer.decoder.decode(this.normalizedBytes.subarray(start, end));
    }
    if (this.cache.size < 100_000) this.cache.set(chunk, replacement);
    return replacement;
  }

  normalize(normalized: NormalizedString): void {
    const text = normalized.get();
    if (text.length === 0) return;
    if (this.printableAsciiUnchanged && isPrintableAscii(text)) return;
    let out = '';
    const changes = new ChangeList(text.length);
    let modified = false;
    // Rust's `replace`: new characters get 0, the extra ones +1; a shorter rewrite charges the last one.
    const replace = (oldPart: string, newPart: string) => {
      const oldCount = countChars(oldPart);
      let newCount = 0;
      for (let j = 0; j < newPart.length; j += charWidthAt(newPart, j)) {
        changes.push(0);
        newCount++;
      }
      out += newPart;
      const diff = newCount - oldCount;
      if (diff > 0) changes.setLast(diff, 1);
      else if (diff < 0) changes.adjustLast(diff);
    };
    const visit = (grapheme: string) => {
      if (utf8Length(grapheme) < 6) {
        const norm = this.transform(grapheme);
        if (norm !== null) {
          modified = true;
          replace(grapheme, norm);
          return;
        }
      }
      for (let i = 0; i < grapheme.length;) {
        const w = charWidthAt(grapheme, i);
        const part = grapheme.slice(i, i + w);
        const norm = w === grapheme.length ? null : this.transform(part);
        if (norm !== null) {
          modified = true;
          replace(part, norm);
        } else {
          out += part;
          changes.push(0);
        }
        i += w;
      }
    };
    for (const chunk of graphemeChunks(text)) {
      if (isAscii(chunk)) {
        // ASCII graphemes are single characters, except CR LF. Unchanged runs are copied in one piece.
        let runStart = 0;
        const flush = (end: number) => {
          out += chunk.slice(runStart, end);
          changes.skip(end - runStart);
        };
        for (let i = 0; i < chunk.length; i++) {
          const c = chunk.charCodeAt(i);
          if (c === 0x0d && chunk.charCodeAt(i + 1) === 0x0a) {
            flush(i);
            visit('\r\n');
            runStart = i + 2;
            i++;
          } else if (this.asciiRewrites[c]) {
            flush(i);
            visit(chunk[i]!);
            runStart = i + 1;
          }
        }
        flush(chunk.length);
      } else {
        PrecompiledNormalizer.segmenter ??= new Intl.Segmenter('und', { granularity: 'grapheme' });
        for (const { segment } of PrecompiledNormalizer.segmenter.segment(chunk)) visit(segment);
      }
    }
    if (modified) normalized.transform(out, changes.finish(), 0);
  }
}

const CHUNK = 512;

/**
 * Cuts text into pieces whose grapheme clusters never straddle a cut, so each can be segmented on its own:
 * Intl.Segmenter iteration is quadratic in the string length in Node 20. A cluster boundary always precedes a
 * space or a CJK ideograph unless the previous character is a Prepend character (UAX #29: GB9b is the only rule
 * that could join them), so cuts are made there, at least CHUNK units apart.
 */
export function* graphemeChunks(text: string): Generator<string> {
  let start = 0;
  while (text.length - start > CHUNK) {
    let cut = -1;
    for (let i = start + CHUNK; i < text.length; i++) {
      const c = text.charCodeAt(i);
      if ((c === 0x20 || (c >= 0x4e00 && c <= 0x9fff)) && !isPrepend(text.codePointAt(i - 1)!)) {
        // A low surrogate before i means i-1 is the second half of a pair; codePointAt(i - 1) then reads the
        // lone low surrogate, which is not Prepend, and the pair still ends at i.
        cut = i;
        break;
      }
    }
    if (cut === -1) break;
    yield text.slice(start, cut);
    start = cut;
  }
  yield text.slice(start);
}

/** Grapheme_Cluster_Break=Prepend (Unicode 15). */
function isPrepend(cp: number): boolean {
  return (
    (cp >= 0x600 && cp <= 0x605) ||
    cp === 0x6dd ||
    cp === 0x70f ||
    cp === 0x890 ||
    cp === 0x891 ||
    cp === 0x8e2 ||
    cp === 0xd4e ||
    cp === 0x110bd ||
    cp === 0x110cd ||
    cp === 0x111c2 ||
    cp === 0x111c3 ||
    cp === 0x1193f ||
    cp === 0x11941 ||
    cp === 0x11a3a ||
    (cp >= 0x11a84 && cp <= 0x11a89) ||
    cp === 0x11d46 ||
    cp === 0x11f02
  );
}

function offsetOf(unit: number): number {
  return ((unit >>> 10) << ((unit & (1 << 9)) >>> 6)) >>> 0;
}

function countChars(text: string): number {
  let n = 0;
  for (let i = 0; i < text.length; i += charWidthAt(text, i)) n++;
  return n;
}

function utf8Length(text: string): number {
  let n = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c < 0x80) n += 1;
    else if (c < 0x800) n += 2;
    else if (c >= 0xd800 && c <= 0xdbff && i + 1 < text.length) {
      const d = text.charCodeAt(i + 1);
      if (d >= 0xdc00 && d <= 0xdfff) {
        n += 4;
        i++;
      } else n += 3;
    } else n += 3;
  }
  return n;
}

function isPrintableAscii(text: string): boolean {
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c < 0x20 || c > 0x7e) return false;
  }
  return true;
}

function isAscii(text: string): boolean {
  for (let i = 0; i < text.length; i++) if (text.charCodeAt(i) > 0x7f) return false;
  return true;
}
