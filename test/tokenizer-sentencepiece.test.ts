/**
 * SentencePiece folders (a `.model` file, no tokenizer.json) against ../shared/fixtures/tokenizers-spm: the ids of
 * Python's slow tokenizers on every text and pair, except where the fixtures' README names a difference between
 * the slow tokenizer and the fast one `convert_slow_tokenizer` builds. Each difference has a test of its own that
 * derives the fast ids from the slow ones, and every differing case must also equal the Rust `tokenizers` binding
 * running the converted tokenizer.json (so the engine is checked independently of the conversion).
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import test from 'node:test';
import { Tokenizer as RustTokenizer } from 'tokenizers';
import {
  parseJsonFile,
  readTokenizerFolderSync,
  tokenizerJsonFromSentencePiece,
} from '../src/tokenizers/loader/index.js';
import { BYTE_FALLBACK_WARNING } from '../src/tokenizers/loader/spm-folder.js';
import { Tokenizer } from '../src/tokenizers/tokenizer.js';
import { sharedPath, skipUnlessShared } from './helpers/shared.js';

interface SpmCase {
  name: string;
  group: string;
  text: string;
  text_pair?: string;
  input_ids: number[];
  token_type_ids?: number[];
  tokens: string[];
  decoded: string;
}

interface SpmFixture {
  tokenizer_class: string;
  spm_model: string;
  class_info: {
    len_tokenizer: number;
    special_tokens: Record<string, [string, number]>;
    model_input_names: string[];
  };
  cases: SpmCase[];
  pairs: SpmCase[];
}

const skip = skipUnlessShared('fixtures', 'tokenizers-spm');
const FIXTURE_DIR = sharedPath('fixtures', 'tokenizers-spm');
const NAMES = skip
  ? []
  : readdirSync(FIXTURE_DIR)
      .filter((f) => f.endsWith('.json'))
      .map((f) => f.slice(0, -'.json'.length));

const fixtures = new Map<string, SpmFixture>();
const tokenizers = new Map<string, { tokenizer: Tokenizer; warnings: string[] }>();

function fixture(name: string): SpmFixture {
  let fx = fixtures.get(name);
  if (!fx) {
    fx = JSON.parse(readFileSync(join(FIXTURE_DIR, `${name}.json`), 'utf8')) as SpmFixture;
    fixtures.set(name, fx);
  }
  return fx;
}

function load(name: string): { tokenizer: Tokenizer; warnings: string[] } {
  let entry = tokenizers.get(name);
  if (!entry) {
    const warnings: string[] = [];
    const tokenizer = Tokenizer.fromPretrainedSync(sharedPath('tokenizers', name), {
      onWarning: (m) => warnings.push(m),
    });
    entry = { tokenizer, warnings };
    tokenizers.set(name, entry);
  }
  return entry;
}

const allCases = (fx: SpmFixture) => [...fx.cases, ...fx.pairs];

function encode(tokenizer: Tokenizer, c: SpmCase) {
  const batch = c.text_pair === undefined ? tokenizer.call(c.text) : tokenizer.call(c.text, c.text_pair);
  return { ids: batch.input_ids[0]!, typeIds: batch.token_type_ids[0]!, tokens: batch.tokens[0]! };
}

/** The Rust core running the tokenizer.json our converter builds, with the added tokens the folder loads. */
function rustOracle(name: string, tokenizer: Tokenizer): RustTokenizer {
  const folder = readTokenizerFolderSync(sharedPath('tokenizers', name));
  const config = {
    ...(folder.tokenizerConfig ? parseJsonFile(folder.tokenizerConfig) : {}),
    ...(folder.specialTokensMap ? parseJsonFile(folder.specialTokensMap) : {}),
  };
  const { json } = tokenizerJsonFromSentencePiece(folder.sentencePiece!, {
    config,
    configFile: 'tokenizer_config.json',
    modelType: null,
    guessSpecialTokens: true,
  });
  json.added_tokens = tokenizer.pipeline.addedVocabulary.tokens.map((t) => ({
    id: t.id,
    content: t.content,
    single_word: t.singleWord,
    lstrip: t.lstrip,
    rstrip: t.rstrip,
    normalized: t.normalized,
    special: t.special,
  }));
  return RustTokenizer.fromString(JSON.stringify(json));
}

/** The text between the added tokens it contains (literal matches, longest first). */
function splitOnAddedTokens(text: string, tokenizer: Tokenizer): string[] {
  const contents = tokenizer.pipeline.addedVocabulary.tokens
    .map((t) => t.content)
    .sort((a, b) => b.length - a.length)
    .map((content) => content.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'));
  return text.split(new RegExp(contents.join('|'))).filter((piece) => piece !== '');
}

const BYTE_PIECE = /^<0x[0-9A-F]{2}>$/;
const texts = (c: SpmCase) => (c.text_pair === undefined ? [c.text] : [c.text, c.text_pair]);
const utf8Length = (s: string) => Buffer.byteLength(s, 'utf8');
const segmenter = new Intl.Segmenter('en', { granularity: 'grapheme' });

/**
 * The slow/fast differences the fixtures' README names, as predicates on a case: a case whose ids differ from the
 * slow tokenizer's must match at least one.
 */
const DIFFERENCES: Record<string, (fx: SpmFixture, c: SpmCase, tokenizer: Tokenizer) => boolean> = {
  // The converters drop byte fallback: the fast tokenizer produces <unk> where sp produces <0x..> pieces.
  'byte fallback': (fx, c) =>
    fx.spm_model.includes('bytefallback') && c.tokens.some((t) => BYTE_PIECE.test(t)),
  // AlbertTokenizer.preprocess_text (whitespace collapse and strip, NFKD and combining marks, lowercase) runs
  // before sp; the fast converter has its own normalizers, with no strip and StripAccents dropping every mark.
  'ALBERT preprocessing': (fx, c) =>
    fx.tokenizer_class === 'AlbertTokenizer' && texts(c).some((t) => /\s$|^\s|[^\x00-\x7f]/.test(t)),
  // The slow T5 tokenizer adds no eos after a text that already ends with </s>; the fast template always does.
  'T5 eos': (fx, c) => fx.tokenizer_class === 'T5Tokenizer' && texts(c).some((t) => t.endsWith('</s>')),
  // Added-token splitting: a `normalized` added token (DeBERTa's [UNK]) is matched in the normalized text, after
  // the slow tokenizer would have split it out of the raw text.
  'normalized added token': (_fx, c, tokenizer) =>
    tokenizer.pipeline.addedVocabulary.tokens.some((t) => t.normalized && c.text.includes(t.content)),
  // The fast Unigram keeps sp's control and unknown pieces (<s>, </s>, <unk>, score 0) in its vocabulary and so
  // matches them in the text, which sp never does.
  'control pieces in the Unigram vocabulary': (fx, c) =>
    !fx.spm_model.includes('bpe') && texts(c).some((t) => /<s>|<\/s>|<unk>/.test(t)),
  // Whitespace: sp removes leading, trailing and repeated whitespace of every kind; the fast normalizers strip
  // only what the converter says (see the `ws` group).
  // Added tokens cut the text first, so this applies to each piece between them.
  whitespace: (_fx, c, tokenizer) =>
    texts(c).some((t) => splitOnAddedTokens(t, tokenizer).some((piece) => /^\s|\s$|\s\s/.test(piece))),
  // The fast Precompiled normalizer (Rust) maps a grapheme cluster of 6+ UTF-8 bytes character by character, so
  // it does not compose sequences inside it that sp's longest match composes (a decomposed Bengali vowel sign).
  'precompiled charsmap per grapheme': (_fx, c) =>
    texts(c).some((t) => [...segmenter.segment(t)].some((g) => utf8Length(g.segment) >= 6)),
};

const sameIds = (a: readonly number[], b: readonly number[]) => JSON.stringify(a) === JSON.stringify(b);

test(
  'every SentencePiece fixture folder loads as its class; ids equal the slow tokenizer but for named differences',
  {
    skip,
  },
  async () => {
    assert.equal(NAMES.length, 15);
    for (const name of NAMES) {
      const fx = fixture(name);
      const { tokenizer } = load(name);
      let rust: RustTokenizer | null = null;
      let equal = 0;
      for (const c of allCases(fx)) {
        const ours = encode(tokenizer, c);
        if (sameIds(ours.ids, c.input_ids)) {
          if (c.token_type_ids)
            assert.deepEqual(ours.typeIds, c.token_type_ids, `${name} ${c.name} type ids`);
          equal++;
          continue;
        }
        const named = Object.values(DIFFERENCES).some((applies) => applies(fx, c, tokenizer));
        assert.ok(
          named,
          `${name} ${c.name}: ${ours.tokens.join(' ')} vs slow ${c.tokens.join(' ')}, for no named reason`,
        );
        rust ??= rustOracle(name, tokenizer);
        const reference = await rust.encode(c.text, c.text_pair ?? null);
        assert.deepEqual(
          ours.ids,
          reference.getIds(),
          `${name} ${c.name}: the Rust core on the converted file`,
        );
        if (c.token_type_ids)
          assert.deepEqual(ours.typeIds, reference.getTypeIds(), `${name} ${c.name} type ids`);
      }
      // The differences are the exception (ALBERT has many: every SST-2 sentence ends with a space).
      assert.ok(equal > allCases(fx).length / 4, `${name}: only ${equal} cases equal the slow tokenizer`);
    }
  },
);
