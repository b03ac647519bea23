/**
 * SentencePiece folders (a `.model` file, no tokenizer.json) against ../shared/fixtures/tokenizers-spm: the ids of
 * Python's slow tokenizers on every text and pair, except where the fixtures' README names a difference between
 * the slow tokenizer and the fast one `convert_slow_tokenizer` builds. Each difference has a test of its own that
 * derives the fast ids from the slow ones, and every differing case must also equal the Rust `tokenizers` binding
 * running the converted tokenizer.json (so the engine is checked independently of the conversion).
 */
import assert from 'node:assert/strict';
import { copyFileSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import test, { after } from 'node:test';
import { Tokenizer as RustTokenizer } from 'tokenizers';
import {
  parseJsonFile,
  readTokenizerFolderSync,
  tokenizerJsonFromSentencePiece,
} from '../src/tokenizers/loader/index.js';
import { ConfigError } from '../src/errors.js';
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
    fx.tokenizer_class === 'AlbertTokenizer' && texts(c).some((t) => /\s$|^\s|[^ -~]/.test(t)),
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

const RUST_SAMPLE = 25;
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
      let differing = 0;
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
        // The Rust core checks a sample of each folder's differing cases (building it costs as much as our load).
        if (++differing > RUST_SAMPLE) continue;
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

/** Each maximal run of byte pieces (`<0x..>`) replaced by one unknown token, as the fast model fuses unknowns. */
function collapseBytePieces(c: SpmCase, unkId: number): number[] {
  const ids: number[] = [];
  c.input_ids.forEach((id, i) => {
    if (!BYTE_PIECE.test(c.tokens[i]!)) ids.push(id);
    else if (i === 0 || !BYTE_PIECE.test(c.tokens[i - 1]!)) ids.push(unkId);
  });
  return ids;
}

test(
  "byte fallback is dropped (with transformers' warning): each run of byte pieces is one <unk>",
  { skip },
  () => {
    for (const name of NAMES) {
      const fx = fixture(name);
      const { tokenizer, warnings } = load(name);
      const hasFallback = fx.spm_model.includes('bytefallback');
      assert.deepEqual(warnings, hasFallback ? [BYTE_FALLBACK_WARNING] : [], name);
      if (!hasFallback || fx.tokenizer_class === 'AlbertTokenizer') continue;
      const unkId = tokenizer.convertTokensToIds('<unk>') as number;
      let checked = 0;
      for (const c of allCases(fx)) {
        if (!c.tokens.some((t) => BYTE_PIECE.test(t))) continue;
        // Cases with another difference too are covered by the test above.
        const others = Object.entries(DIFFERENCES).filter(
          ([reason, applies]) =>
            reason !== 'byte fallback' && reason !== 'whitespace' && applies(fx, c, tokenizer),
        );
        if (others.length > 0) continue;
        assert.deepEqual(encode(tokenizer, c).ids, collapseBytePieces(c, unkId), `${name} ${c.name}`);
        checked++;
      }
      assert.ok(checked >= 30, `${name}: ${checked} byte-fallback cases`);
    }
  },
);

test(
  'ALBERT: no strip in the fast normalizer, so trailing whitespace ends a sequence with a "▁" piece',
  { skip },
  () => {
    for (const name of NAMES.filter((n) => n.startsWith('AlbertTokenizer'))) {
      const fx = fixture(name);
      const { tokenizer } = load(name);
      const [space, sep] = tokenizer.convertTokensToIds(['▁', '[SEP]']) as number[];
      // SST-2 sentences are lowercase ASCII ending with a space: the slow ids plus "▁" before each sequence's [SEP].
      const sst2 = allCases(fx).filter((c) => c.group.startsWith('sst2') || c.group.startsWith('pair-sst2'));
      assert.ok(sst2.length >= 150, name);
      for (const c of sst2) {
        const expected: number[] = [];
        let sequence = 0;
        for (const id of c.input_ids) {
          if (id === sep && /\s$/.test(texts(c)[sequence++]!)) expected.push(space!);
          expected.push(id);
        }
        assert.deepEqual(encode(tokenizer, c).ids, expected, `${name} ${c.name}`);
      }
    }
  },
);

test('T5: the fast template adds </s> also after a text that ends with </s>', { skip }, () => {
  for (const name of NAMES.filter((n) => n.startsWith('T5Tokenizer'))) {
    const fx = fixture(name);
    const { tokenizer } = load(name);
    const eos = tokenizer.eosTokenId as number;
    const cases = fx.cases.filter((c) => c.text.endsWith('</s>') && !/<s>|<unk>/.test(c.text));
    assert.ok(cases.length >= 2, name);
    for (const c of cases)
      assert.deepEqual(encode(tokenizer, c).ids, [...c.input_ids, eos], `${name} ${c.name}`);
  }
});

test('Unigram: sp control pieces written in the text are matched by the fast model', { skip }, () => {
  for (const name of ['DebertaV2Tokenizer-spm-unigram', 'T5Tokenizer-spm-unigram']) {
    const { tokenizer } = load(name);
    const c = fixture(name).cases.find((c) => c.text === '<s>')!;
    const bos = tokenizer.convertTokensToIds('<s>') as number;
    // sp reads "<s>" as "<", "s", ">"; the fast Unigram has the piece <s> (score 0) in its vocabulary.
    assert.ok(!c.input_ids.includes(bos), name);
    assert.deepEqual(
      encode(tokenizer, c).ids.filter((id) => id !== bos),
      c.input_ids.filter((_, i) => !['<unk>', 's'].includes(c.tokens[i]!)),
      name,
    );
  }
});

test(
  'a normalized added token is matched after normalization: DeBERTa keeps the space before [UNK]',
  { skip },
  () => {
    const name = 'DebertaV2Tokenizer-spm-unigram';
    const { tokenizer } = load(name);
    const c = fixture(name).cases.find((c) => c.text === '[MASK] is [UNK]')!;
    const space = tokenizer.convertTokensToIds('▁') as number;
    const ours = encode(tokenizer, c).ids;
    assert.notDeepEqual(ours, c.input_ids);
    assert.deepEqual(
      ours.filter((id) => id !== space),
      c.input_ids,
    );
  },
);

test(
  'the precompiled charsmap maps long grapheme clusters per character, like the Rust core',
  { skip },
  () => {
    const name = 'XLMRobertaTokenizer-spm-unigram';
    const { tokenizer } = load(name);
    const c = fixture(name).cases.find((c) => c.name === 'udhr-ben/154')!;
    assert.notDeepEqual(encode(tokenizer, c).ids, c.input_ids);
    // sp composes the decomposed vowel sign (U+09C7 U+09BE → U+09CB); given the composed text, the ids agree.
    assert.deepEqual(tokenizer.call(c.text.normalize('NFC')).input_ids[0], c.input_ids);
  },
);

test("special tokens, their ids, length and model input names are the classes'", { skip }, () => {
  for (const name of NAMES) {
    const info = fixture(name).class_info;
    const { tokenizer } = load(name);
    for (const [key, [token, id]] of Object.entries(info.special_tokens)) {
      const role = key.replace(/_token$/, '') as 'cls';
      assert.equal(tokenizer.specialTokens[role], token, `${name} ${key}`);
      assert.equal(tokenizer.convertTokensToIds(token), id, `${name} ${key}`);
    }
    assert.equal(tokenizer.length, info.len_tokenizer, name);
    assert.deepEqual(tokenizer.modelInputNames, info.model_input_names, name);
  }
});

test(
  "decoding gives the slow tokenizer's text when no unknown, byte or special piece is involved",
  { skip },
  () => {
    for (const name of NAMES) {
      const fx = fixture(name);
      const { tokenizer } = load(name);
      const plain = fx.cases.filter(
        (c) => c.group !== 'specials' && !c.tokens.some((t) => t === '<unk>' || BYTE_PIECE.test(t)),
      );
      assert.ok(plain.length > 200, name);
      for (const c of plain) {
        assert.equal(
          tokenizer.decode(c.input_ids, { skipSpecialTokens: true }),
          c.decoded,
          `${name} ${c.name}`,
        );
      }
    }
  },
);

const scratch = mkdtempSync(join(tmpdir(), 'seqbatch-spm-'));
after(() => rmSync(scratch, { recursive: true, force: true }));

/** A temporary folder with a shared SentencePiece model under `modelName` and the given files. */
function spmFolder(source: string, modelName: string, files: Record<string, string | Uint8Array>): string {
  const dir = mkdtempSync(join(scratch, 'f-'));
  copyFileSync(sharedPath('tokenizers', source), join(dir, modelName));
  for (const [file, content] of Object.entries(files)) writeFileSync(join(dir, file), content);
  return dir;
}

test(
  "without tokenizer_config.json the class comes from config.json's model_type, with its default specials",
  {
    skip,
  },
  () => {
    const name = 'DebertaV2Tokenizer-spm-unigram';
    const dir = spmFolder(`${name}/spm.model`, 'spm.model', {
      'config.json': '{"model_type": "deberta-v2"}',
    });
    const tokenizer = Tokenizer.fromPretrainedSync(dir, { onWarning: () => {} });
    // The class's special tokens are appended after the sp pieces in the order transformers adds them.
    for (const c of fixture(name).cases.filter((c) => c.group === 'sst2-dev')) {
      assert.deepEqual(encode(tokenizer, c).ids, c.input_ids, c.name);
    }
    assert.deepEqual([tokenizer.padToken, tokenizer.padTokenId], ['[PAD]', 8003]);
  },
);

test('SentencePiece folder errors are ConfigErrors naming the file and field', { skip }, () => {
  const model = 'XLMRobertaTokenizer-spm-unigram/sentencepiece.bpe.model';
  const fails = (dir: string, field: string, pattern: RegExp) =>
    assert.throws(
      () => Tokenizer.fromPretrainedSync(dir),
      (e: unknown) => e instanceof ConfigError && e.field === field && pattern.test(e.message),
    );
  fails(
    spmFolder(model, 'spiece.model', {}),
    'tokenizer_class',
    /needs one of DebertaV2Tokenizer, .*got none/,
  );
  fails(
    spmFolder(model, 'spiece.model', { 'tokenizer_config.json': '{"tokenizer_class": "LlamaTokenizer"}' }),
    'tokenizer_class',
    /spiece\.model needs one of .*got "LlamaTokenizer"/,
  );
  fails(
    spmFolder(model, 'spm.model', {
      'tokenizer_config.json': '{"tokenizer_class": "AlbertTokenizer", "do_lower_case": "yes"}',
    }),
    'do_lower_case',
    /tokenizer_config\.json: do_lower_case: expected true or false/,
  );
  const corrupt = mkdtempSync(join(scratch, 'corrupt-'));
  writeFileSync(join(corrupt, 'spm.model'), Buffer.from([0x0a, 0xff, 0xff, 0xff]));
  writeFileSync(join(corrupt, 'tokenizer_config.json'), '{"tokenizer_class": "DebertaV2Tokenizer"}');
  assert.throws(
    () => Tokenizer.fromPretrainedSync(corrupt),
    (e: unknown) =>
      e instanceof ConfigError &&
      e.file === join(corrupt, 'spm.model') &&
      /not a SentencePiece model/.test(e.message),
  );
});
