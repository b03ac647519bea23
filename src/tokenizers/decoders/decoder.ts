/**
 * The decoder stage: turns token strings back into text. As in the Rust crate, `decodeChain` maps tokens to
 * tokens (so decoders compose in a Sequence) and `decode` joins the final chain.
 */
export interface Decoder {
  readonly type: string;
  decodeChain(tokens: string[]): string[];
  decode(tokens: string[]): string;
}

/** Base class giving every decoder Rust's `decode`: run the chain, then concatenate. */
export abstract class BaseDecoder implements Decoder {
  abstract readonly type: string;
  abstract decodeChain(tokens: string[]): string[];

  decode(tokens: string[]): string {
    return this.decodeChain(tokens).join('');
  }
}

/**
 * Rust's `str::replace`: every occurrence of `search` literally (no `$` patterns, unlike String.replaceAll with a
 * string). An empty `search` matches before every character and at the end, as in Rust.
 */
export function replaceLiteral(text: string, search: string, replacement: string): string {
  if (search.length === 0)
    return replacement + [...text].join(replacement) + (text.length > 0 ? replacement : '');
  return text.split(search).join(replacement);
}
