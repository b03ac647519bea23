/**
 * Pre-tokenizers from tokenizer.json: `preTokenizers` maps each serialised `type` to a builder, and
 * `preTokenizerFromJSON` builds one (or null), throwing ConfigError naming the field.
 */
import { ConfigError } from '../../errors.js';
import type { SplitDelimiterBehavior } from '../normalized-string.js';
import { patternFromJSON } from '../normalizers/index.js';
import { describeJson, field, Registry, type JsonObject } from '../registry.js';
import { ByteLevelPreTokenizer } from './byte-level.js';
import {
  BertPreTokenizer,
  CharDelimiterSplitPreTokenizer,
  DigitsPreTokenizer,
  PunctuationPreTokenizer,
  WhitespacePreTokenizer,
  WhitespaceSplitPreTokenizer,
} from './char-splits.js';
import { MetaspacePreTokenizer, type PrependScheme } from './metaspace.js';
import type { PreTokenizer } from './pre-tokenizer.js';
import { SequencePreTokenizer, SplitPreTokenizer } from './split.js';
import { UnicodeScriptsPreTokenizer } from './unicode-scripts.js';

export type { PreTokenizer } from './pre-tokenizer.js';
export { ByteLevelPreTokenizer, GPT2_PATTERN } from './byte-level.js';
export {
  BertPreTokenizer,
  CharDelimiterSplitPreTokenizer,
  DigitsPreTokenizer,
  PunctuationPreTokenizer,
  WhitespacePreTokenizer,
  WhitespaceSplitPreTokenizer,
  splitWhitespaceAndPunctuation,
} from './char-splits.js';
export { MetaspacePreTokenizer, type PrependScheme } from './metaspace.js';
export { SequencePreTokenizer, SplitPreTokenizer } from './split.js';
export { UnicodeScriptsPreTokenizer } from './unicode-scripts.js';

export const preTokenizers = new Registry<PreTokenizer>('pre-tokenizer');

const BEHAVIORS: Record<string, SplitDelimiterBehavior> = {
  Removed: 'removed',
  Isolated: 'isolated',
  MergedWithPrevious: 'merged_with_previous',
  MergedWithNext: 'merged_with_next',
  Contiguous: 'contiguous',
};

/** Reads a Rust `SplitDelimiterBehavior` name ("Isolated", ...). */
export function behaviorFromJSON(
  json: JsonObject,
  key: string,
  path: string,
  fallback?: string,
): SplitDelimiterBehavior {
  const name = field.string(json, key, path, fallback);
  const behavior = BEHAVIORS[name];
  if (!behavior) {
    throw new ConfigError(
      `${path}.${key}: unknown split behavior ${JSON.stringify(name)} (expected one of ${Object.keys(BEHAVIORS).join(', ')})`,
      { field: `${path}.${key}` },
    );
  }
  return behavior;
}

preTokenizers.register('BertPreTokenizer', () => new BertPreTokenizer());
preTokenizers.register('Whitespace', () => new WhitespacePreTokenizer());
preTokenizers.register('WhitespaceSplit', () => new WhitespaceSplitPreTokenizer());
preTokenizers.register(
  'ByteLevel',
  (json, path) =>
    new ByteLevelPreTokenizer(
      field.boolean(json, 'add_prefix_space', path, true),
      field.boolean(json, 'use_regex', path, true),
    ),
);
preTokenizers.register('Metaspace', (json, path) => {
  const replacement = field.string(json, 'replacement', path, '\u2581');
  if ([...replacement].length !== 1) {
    throw new ConfigError(
      `${path}.replacement: expected exactly one character, got ${JSON.stringify(replacement)}`,
      {
        field: `${path}.replacement`,
      },
    );
  }
  let scheme: PrependScheme = 'always';
  const rawScheme = json.prepend_scheme;
  if (rawScheme !== undefined && rawScheme !== null) {
    if (rawScheme !== 'always' && rawScheme !== 'first' && rawScheme !== 'never') {
      throw new ConfigError(
        `${path}.prepend_scheme: expected "always", "first" or "never", got ${describeJson(rawScheme)}`,
        { field: `${path}.prepend_scheme` },
      );
    }
    scheme = rawScheme;
  }
  // Legacy files only have add_prefix_space; like Rust, false must come with prepend_scheme "never".
  if (json.add_prefix_space !== undefined && json.add_prefix_space !== null) {
    if (!field.boolean(json, 'add_prefix_space', path) && scheme !== 'never') {
      throw new ConfigError(
        `${path}.add_prefix_space: false does not match prepend_scheme "${scheme}" (use prepend_scheme "never")`,
        { field: `${path}.add_prefix_space` },
      );
    }
  }
  return new MetaspacePreTokenizer(replacement, scheme, field.boolean(json, 'split', path, true));
});
preTokenizers.register(
  'Punctuation',
  (json, path) => new PunctuationPreTokenizer(behaviorFromJSON(json, 'behavior', path, 'Isolated')),
);
preTokenizers.register(
  'Digits',
  (json, path) => new DigitsPreTokenizer(field.boolean(json, 'individual_digits', path, false)),
);
preTokenizers.register('CharDelimiterSplit', (json, path) => {
  const delimiter = field.string(json, 'delimiter', path);
  if ([...delimiter].length !== 1) {
    throw new ConfigError(
      `${path}.delimiter: expected exactly one character, got ${JSON.stringify(delimiter)}`,
      {
        field: `${path}.delimiter`,
      },
    );
  }
  return new CharDelimiterSplitPreTokenizer(delimiter);
});
preTokenizers.register(
  'Split',
  (json, path) =>
    new SplitPreTokenizer(
      patternFromJSON(json, 'pattern', path),
      behaviorFromJSON(json, 'behavior', path),
      field.boolean(json, 'invert', path, false),
    ),
);
preTokenizers.register('UnicodeScripts', () => new UnicodeScriptsPreTokenizer());
preTokenizers.register('Sequence', (json, path) => {
  const list = field.array(json, 'pretokenizers', path);
  return new SequencePreTokenizer(
    list.map((item, i) => preTokenizers.fromJSON(item, `${path}.pretokenizers[${i}]`)),
  );
});

/** Builds the pre-tokenizer of a tokenizer.json (`path` is usually `pre_tokenizer`); null stays null. */
export function preTokenizerFromJSON(json: unknown, path = 'pre_tokenizer'): PreTokenizer | null {
  if (json === null || json === undefined) return null;
  return preTokenizers.fromJSON(json, path);
}
