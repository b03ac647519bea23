/**
 * Minimal tokenizer.json documents around the component under test, for the Rust core (npm `tokenizers`
 * binding, which only builds components from a whole tokenizer.json) and for our loader alike.
 */

/** A WordLevel model knowing only `[UNK]`: every word maps to it, so offsets show what the other stages did. */
export const UNK_ONLY_MODEL = { type: 'WordLevel', vocab: { '[UNK]': 0 }, unk_token: '[UNK]' };

export interface TokenizerJsonParts {
  added_tokens?: readonly object[];
  normalizer?: object | null;
  pre_tokenizer?: object | null;
  post_processor?: object | null;
  decoder?: object | null;
  /** Default: UNK_ONLY_MODEL. */
  model?: object;
}

/** A tokenizer.json with the given parts; every part not given is absent (null), no truncation or padding. */
export function tokenizerJson(parts: TokenizerJsonParts): Record<string, unknown> {
  return {
    version: '1.0',
    truncation: null,
    padding: null,
    added_tokens: parts.added_tokens ?? [],
    normalizer: parts.normalizer ?? null,
    pre_tokenizer: parts.pre_tokenizer ?? null,
    post_processor: parts.post_processor ?? null,
    decoder: parts.decoder ?? null,
    model: parts.model ?? UNK_ONLY_MODEL,
  };
}
