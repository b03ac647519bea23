/**
 * Normalizers from tokenizer.json: `normalizers` maps each serialised `type` to a builder, and
 * `normalizerFromJSON` builds one (or null for a null normalizer), throwing ConfigError naming the field.
 */
import { ConfigError } from '../../errors.js';
import { RegexPattern, StringPattern, type Pattern } from '../normalized-string.js';
import { describeJson, field, Registry, type JsonObject } from '../registry.js';
import {
  ByteLevelNormalizer,
  NmtNormalizer,
  PrependNormalizer,
  ReplaceNormalizer,
  SequenceNormalizer,
  StripNormalizer,
} from './basic.js';
import { BertNormalizer } from './bert.js';
import type { Normalizer } from './normalizer.js';
import { translateOnigRegex } from './onig-regex.js';
import { PrecompiledNormalizer } from './precompiled.js';
import { LowercaseNormalizer, StripAccentsNormalizer, UnicodeNormalizer } from './unicode.js';

export type { Normalizer } from './normalizer.js';
export { BertNormalizer, type BertNormalizerOptions } from './bert.js';
export {
  LowercaseNormalizer,
  StripAccentsNormalizer,
  UnicodeNormalizer,
  type UnicodeForm,
} from './unicode.js';
export {
  ByteLevelNormalizer,
  NmtNormalizer,
  PrependNormalizer,
  ReplaceNormalizer,
  SequenceNormalizer,
  StripNormalizer,
  byteLevelTransform,
} from './basic.js';
export { PrecompiledNormalizer } from './precompiled.js';
export { translateOnigRegex } from './onig-regex.js';

export const normalizers = new Registry<Normalizer>('normalizer');

/**
 * Reads a `{"String": "..."}` or `{"Regex": "..."}` pattern object (Rust `SplitPattern` / `ReplacePattern`).
 * Shared with the Split pre-tokenizer.
 */
export function patternFromJSON(json: JsonObject, key: string, path: string): Pattern {
  const p = json[key];
  const where = `${path}.${key}`;
  if (p !== null && typeof p === 'object' && !Array.isArray(p)) {
    const obj = p as JsonObject;
    // Rust compiles an escaped literal as a regex, so the empty string matches (emptily) between characters.
    if (typeof obj.String === 'string') {
      return obj.String.length > 0 ? new StringPattern(obj.String) : new RegexPattern(/(?:)/gu);
    }
    if (typeof obj.Regex === 'string')
      return new RegexPattern(translateOnigRegex(obj.Regex, `${where}.Regex`));
  }
  throw new ConfigError(`${where}: expected {"String": "..."} or {"Regex": "..."}, got ${describeJson(p)}`, {
    field: where,
  });
}

normalizers.register(
  'BertNormalizer',
  (json, path) =>
    new BertNormalizer({
      cleanText: field.boolean(json, 'clean_text', path, true),
      handleChineseChars: field.boolean(json, 'handle_chinese_chars', path, true),
      stripAccents:
        json.strip_accents === undefined || json.strip_accents === null
          ? null
          : field.boolean(json, 'strip_accents', path),
      lowercase: field.boolean(json, 'lowercase', path, true),
    }),
);
normalizers.register('Lowercase', () => new LowercaseNormalizer());
normalizers.register('NFC', () => new UnicodeNormalizer('NFC'));
normalizers.register('NFD', () => new UnicodeNormalizer('NFD'));
normalizers.register('NFKC', () => new UnicodeNormalizer('NFKC'));
normalizers.register('NFKD', () => new UnicodeNormalizer('NFKD'));
normalizers.register('StripAccents', () => new StripAccentsNormalizer());
normalizers.register(
  'Strip',
  (json, path) =>
    new StripNormalizer(
      field.boolean(json, 'strip_left', path, true),
      field.boolean(json, 'strip_right', path, true),
    ),
);
normalizers.register(
  'Replace',
  (json, path) =>
    new ReplaceNormalizer(patternFromJSON(json, 'pattern', path), field.string(json, 'content', path)),
);
normalizers.register('Prepend', (json, path) => new PrependNormalizer(field.string(json, 'prepend', path)));
normalizers.register('ByteLevel', () => new ByteLevelNormalizer());
normalizers.register('Nmt', () => new NmtNormalizer());
normalizers.register('Precompiled', (json, path) => {
  const charsmap = json.precompiled_charsmap;
  // An empty or null charsmap is what some converters write for "no normalization".
  if (charsmap === null || charsmap === undefined || charsmap === '') return new SequenceNormalizer([]);
  return PrecompiledNormalizer.fromBase64(
    field.string(json, 'precompiled_charsmap', path),
    `${path}.precompiled_charsmap`,
  );
});
normalizers.register('Sequence', (json, path) => {
  const list = field.array(json, 'normalizers', path);
  return new SequenceNormalizer(
    list.map((item, i) => normalizers.fromJSON(item, `${path}.normalizers[${i}]`)),
  );
});

/** Builds the normalizer of a tokenizer.json (`path` is usually `normalizer`); null stays null. */
export function normalizerFromJSON(json: unknown, path = 'normalizer'): Normalizer | null {
  if (json === null || json === undefined) return null;
  return normalizers.fromJSON(json, path);
}
