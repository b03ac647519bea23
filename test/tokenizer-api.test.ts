/**
 * The Tokenizer API beyond the fixture cases: the course ids and the 872 SST-2 dev rows of the real distilbert-sst2
 * tokenizer, transformers' common tokenizer-test properties, legacy folders against tokenizer.json, decoding,
 * `pad`, tensors, warnings and the error paths.
 */
import assert from 'node:assert/strict';
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import test, { after } from 'node:test';
import { ConfigError, InputError, SeqbatchError } from '../src/errors.js';
import { Tokenizer } from '../src/tokenizers/tokenizer.js';
import { readSharedJson, sharedPath, skipUnlessShared } from './helpers/shared.js';

const scratch = mkdtempSync(join(tmpdir(), 'seqbatch-tokenizer-api-'));
after(() => rmSync(scratch, { recursive: true, force: true }));

/** A temporary folder holding copies of some files of a shared tokenizer folder (never inside the repo). */
function folderWith(name: string, files: string[], extra: Record<string, string> = {}): string {
  const dir = mkdtempSync(join(scratch, `${name}-`));
  for (const file of files) copyFileSync(sharedPath('tokenizers', name, file), join(dir, file));
  for (const [file, text] of Object.entries(extra)) writeFileSync(join(dir, file), text);
  return dir;
}

const load = (name: string, warnings: string[] = []) =>
  Tokenizer.fromPretrainedSync(sharedPath('tokenizers', name), { onWarning: (m) => warnings.push(m) });

const LONG_TEXT = readFileSync(sharedPath('datasets', 'gutenberg', 'alice-in-wonderland_11-0.txt'), 'utf8')
  .slice(20_000, 24_000)
  .replace(/\s+/g, ' ');

const skipDistil = skipUnlessShared('tokenizers', 'distilbert-sst2');
const skipBert = skipUnlessShared('tokenizers', 'bert-base-uncased');

test('distilbert-sst2: the course example ids and attention masks from text', { skip: skipDistil }, () => {
  const reference = readSharedJson<{
    cases: { name: string; texts?: string[]; input_ids: number[][]; attention_mask?: number[][] }[];
  }>('reference', 'distilbert-sst2.course-published-outputs.json');
  const tokenizer = load('distilbert-sst2');
  const course = reference.cases.find((c) => c.name === 'pipeline_two_sentences')!;
  const batch = tokenizer.call(course.texts!, { padding: true, truncation: true });
  assert.deepEqual(batch.input_ids, course.input_ids);
  assert.deepEqual(batch.attention_mask, course.attention_mask);
  // DistilBERT takes no token_type_ids: toTensors() builds exactly what the model takes.
  assert.deepEqual(Object.keys(batch.toTensors()).sort(), ['attention_mask', 'input_ids']);
  const noSpecials = reference.cases.find((c) => c.name === 'single_sequence_no_special_tokens')!;
  assert.deepEqual(
    tokenizer.call(course.texts![0], { addSpecialTokens: false }).input_ids,
    noSpecials.input_ids,
  );
  assert.deepEqual(
    tokenizer.convertTokensToIds(tokenizer.tokenize(course.texts![0])),
    noSpecials.input_ids[0],
  );
});

test('distilbert-sst2: all 872 SST-2 dev sentences give the recorded ids', { skip: skipDistil }, () => {
  const { rows } = readSharedJson<{ rows: { sentence: string; input_ids: number[] }[] }>(
    'fixtures',
    'pipeline',
    'sst2-dev-ids.json',
  );
  const batch = load('distilbert-sst2').encodeBatch(rows.map((r) => r.sentence));
  assert.deepEqual(
    batch.input_ids,
    rows.map((r) => r.input_ids),
  );
});

test('a padded batch equals each text encoded alone, on both padding sides', { skip: skipBert }, () => {
  const tokenizer = load('bert-base-uncased');
  const texts = [
    'A short one.',
    'A somewhat longer sentence, with a comma and more words!',
    'Mid length text here.',
  ];
  for (const paddingSide of ['right', 'left'] as const) {
    const options = { padding: 'max_length' as const, maxLength: 24, paddingSide };
    const batch = tokenizer.call(texts, options);
    texts.forEach((text, i) => {
      const alone = tokenizer.call(text, options);
      assert.deepEqual(batch.row(i), alone.row(0), `${paddingSide} row ${i}`);
    });
    assert.ok(batch.input_ids.every((row) => row.length === 24));
  }
});

test('pre-tokenized words give the ids of the joined text (WordPiece and Unigram)', () => {
  for (const name of ['bert-base-uncased', 't5-small-unigram']) {
    if (skipUnlessShared('tokenizers', name)) continue;
    const tokenizer = load(name);
    const words = ['Hello', 'world,', 'this', 'is', 'pre-tokenized', 'input.'];
    const fromWords = tokenizer.call([words], { isSplitIntoWords: true });
    const fromText = tokenizer.call(words.join(' '));
    assert.deepEqual(fromWords.input_ids, fromText.input_ids, name);
    // Word ids are the indices of the given words.
    const wordIds = fromWords.word_ids[0].filter((w) => w !== null);
    assert.deepEqual([...new Set(wordIds)], [0, 1, 2, 3, 4, 5], name);
    assert.throws(
      () => tokenizer.call([['ok'], [null as unknown as string]], { isSplitIntoWords: true }),
      (e: unknown) => e instanceof InputError && e.argument === 'text[1]',
    );
  }
});

test(
  "byte-level classes refuse pre-tokenized input without add_prefix_space, with transformers' message",
  {
    skip: skipUnlessShared('tokenizers', 'roberta-base'),
  },
  () => {
    const words = [['Hello', 'world']];
    const refused = (e: unknown, fastClass: string) =>
      e instanceof InputError &&
      e.argument === 'isSplitIntoWords' &&
      e.message ===
        `You need to instantiate ${fastClass} with add_prefix_space=True to use it with pretokenized inputs.`;
    const files = ['tokenizer.json'];
    // The class comes from tokenizer_config.json, else from config.json's model_type.
    const roberta = Tokenizer.fromPretrainedSync(
      folderWith('roberta-base', files, {
        'tokenizer_config.json': '{"tokenizer_class": "RobertaTokenizer"}',
      }),
    );
    assert.throws(
      () => roberta.call(words, { isSplitIntoWords: true }),
      (e) => refused(e, 'RobertaTokenizerFast'),
    );
    assert.throws(() => roberta.encode(['Hello'], null, { isSplitIntoWords: true }), InputError);
    // Plain text is unaffected.
    assert.deepEqual(
      roberta.call('Hello world').input_ids,
      load('roberta-base').call('Hello world').input_ids,
    );
    const byModelType = Tokenizer.fromPretrainedSync(
      folderWith('roberta-base', files, { 'config.json': '{"model_type": "gpt2"}' }),
    );
    assert.throws(
      () => byModelType.call(words, { isSplitIntoWords: true }),
      (e) => refused(e, 'GPT2TokenizerFast'),
    );
    // With add_prefix_space the words are accepted; a generic folder (no class) is accepted as by
    // PreTrainedTokenizerFast, and so is a WordPiece class.
    const withSpace = Tokenizer.fromPretrainedSync(
      folderWith('roberta-base', files, {
        'tokenizer_config.json': '{"tokenizer_class": "RobertaTokenizer", "add_prefix_space": true}',
      }),
    );
    assert.equal(withSpace.call(words, { isSplitIntoWords: true }).input_ids[0].length, 4);
    assert.equal(load('roberta-base').call(words, { isSplitIntoWords: true }).input_ids.length, 1);
  },
);

test('dropping the special-token positions gives the encoding without special tokens', () => {
  for (const name of ['bert-base-cased', 'roberta-base', 't5-small-unigram']) {
    if (skipUnlessShared('tokenizers', name)) continue;
    const tokenizer = load(name);
    const with_ = tokenizer.call('Some text', 'and its pair.');
    const without = tokenizer.call('Some text', 'and its pair.', { addSpecialTokens: false });
    const kept = with_.input_ids[0].filter((_, i) => with_.special_tokens_mask[0][i] === 0);
    assert.deepEqual(kept, without.input_ids[0], name);
    assert.equal(with_.input_ids[0].length - kept.length, tokenizer.numSpecialTokensToAdd(true), name);
  }
});

test(
  'padToMultipleOf: rounds the longest row up; with truncation the length must be a multiple',
  { skip: skipBert },
  () => {
    const tokenizer = load('bert-base-uncased');
    const texts = ['one', 'two words here'];
    assert.deepEqual(
      tokenizer.call(texts, { padding: true, padToMultipleOf: 8 }).input_ids.map((r) => r.length),
      [8, 8],
    );
    assert.equal(tokenizer.call(LONG_TEXT, { padding: true, padToMultipleOf: 8 }).input_ids[0].length % 8, 0);
    assert.deepEqual(
      tokenizer
        .call(texts, { padding: 'max_length', maxLength: 10, padToMultipleOf: 4 })
        .input_ids.map((r) => r.length),
      [12, 12],
    );
    assert.throws(
      () => tokenizer.call(texts, { padding: true, truncation: true, maxLength: 10, padToMultipleOf: 4 }),
      (e: unknown) =>
        e instanceof InputError &&
        e.argument === 'padToMultipleOf' &&
        e.message ===
          'Truncation and padding are both activated but truncation length (10) is not a multiple of pad_to_multiple_of (4).',
    );
    // A multiple is fine.
    assert.equal(
      tokenizer.call([LONG_TEXT], { padding: true, truncation: true, maxLength: 16, padToMultipleOf: 8 })
        .input_ids[0].length,
      16,
    );
  },
);

test(
  'pad() keeps existing attention masks, creates missing ones and pads like the tokenizer',
  { skip: skipBert },
  () => {
    const tokenizer = load('bert-base-uncased');
    const encoded = tokenizer.call(['short', 'a bit longer text']);
    const features = {
      input_ids: encoded.input_ids,
      // A mask that is not all ones must survive padding.
      attention_mask: [[1, 0, 1], encoded.attention_mask[1]],
      token_type_ids: encoded.token_type_ids,
    };
    const padded = tokenizer.pad(features);
    assert.deepEqual(padded.attention_mask, [
      [1, 0, 1, 0, 0, 0],
      [1, 1, 1, 1, 1, 1],
    ]);
    assert.deepEqual(
      padded.input_ids,
      tokenizer.call(['short', 'a bit longer text'], { padding: true }).input_ids,
    );
    const left = tokenizer.pad([{ input_ids: [101, 102] }, { input_ids: [101, 7, 8, 102] }], {
      paddingSide: 'left',
      padToMultipleOf: 8,
    });
    assert.deepEqual(left.input_ids[0], [0, 0, 0, 0, 0, 0, 101, 102]);
    assert.deepEqual(left.attention_mask?.[0], [0, 0, 0, 0, 0, 0, 1, 1]);
    assert.throws(
      () => tokenizer.pad({ attention_mask: [[1]] }),
      (e: unknown) => e instanceof InputError && /includes input_ids/.test(e.message),
    );
    assert.throws(
      () => tokenizer.pad({ input_ids: [[1, 2]], attention_mask: [[1]] }),
      (e: unknown) => e instanceof InputError && e.argument === 'features.attention_mask[0]',
    );
  },
);

test('overflow windows cover the whole text with the requested stride', { skip: skipBert }, () => {
  const tokenizer = load('bert-base-uncased');
  const full = tokenizer.call(LONG_TEXT, { addSpecialTokens: false }).input_ids[0];
  for (const [maxLength, stride] of [
    [32, 0],
    [32, 8],
    [17, 5],
  ]) {
    const batch = tokenizer.call(LONG_TEXT, {
      truncation: true,
      maxLength,
      stride,
      returnOverflowingTokens: true,
    });
    const windows = batch.encodings.map((e) => e.ids.filter((_, i) => e.specialTokensMask[i] === 0));
    assert.ok(windows.length > 3);
    assert.deepEqual(
      batch.overflow_to_sample_mapping,
      windows.map(() => 0),
    );
    const W = maxLength - 2;
    let rebuilt: number[] = [];
    windows.forEach((window, k) => {
      if (k < windows.length - 1) assert.equal(window.length, W);
      if (k > 0)
        assert.deepEqual(window.slice(0, stride), rebuilt.slice(rebuilt.length - stride), `overlap ${k}`);
      rebuilt = rebuilt.concat(k === 0 ? window : window.slice(stride));
    });
    assert.deepEqual(rebuilt, full, `maxLength ${maxLength} stride ${stride}`);
  }
  // Several inputs: windows stay grouped by input, in order.
  const two = tokenizer.call(['tiny', LONG_TEXT], {
    truncation: true,
    maxLength: 64,
    returnOverflowingTokens: true,
  });
  const mapping = two.overflow_to_sample_mapping!;
  assert.equal(mapping[0], 0);
  assert.ok(mapping.slice(1).every((m) => m === 1));
});

test(
  'legacy vocab.txt folder gives the same encodings as tokenizer.json (bert-base-uncased)',
  { skip: skipBert },
  () => {
    const legacy = Tokenizer.fromPretrainedSync(folderWith('bert-base-uncased', ['vocab.txt']));
    const modern = load('bert-base-uncased');
    const { cases } = readSharedJson<{ cases: { texts: string[]; text_pairs?: string[] }[] }>(
      'fixtures',
      'tokenizers',
      'bert-base-uncased',
      'cases.json',
    );
    const texts = cases.flatMap((c) => c.texts);
    const pairs = cases.flatMap((c) => c.text_pairs ?? []);
    assert.deepEqual(legacy.encodeBatch(texts).toObject(), modern.encodeBatch(texts).toObject());
    assert.deepEqual(
      legacy.encodeBatch(pairs, pairs.slice().reverse()).toObject(),
      modern.encodeBatch(pairs, pairs.slice().reverse()).toObject(),
    );
    assert.equal(legacy.padTokenId, 0);
    assert.equal(
      legacy.decode(legacy.call('Hello, world!').input_ids[0], { skipSpecialTokens: true }),
      'hello, world!',
    );
    // do_lower_case false in tokenizer_config.json keeps the case.
    const cased = Tokenizer.fromPretrainedSync(
      folderWith('bert-base-uncased', ['vocab.txt'], { 'tokenizer_config.json': '{"do_lower_case": false}' }),
    );
    assert.deepEqual(cased.tokenize('Hello'), [
      modern.convertIdsToTokens(modern.convertTokensToIds('[UNK]') as number),
    ]);
  },
);

test(
  'legacy vocab.json + merges.txt folder gives the same encodings as tokenizer.json (roberta-base)',
  {
    skip: skipUnlessShared('tokenizers', 'roberta-base'),
  },
  () => {
    const legacy = Tokenizer.fromPretrainedSync(folderWith('roberta-base', ['vocab.json', 'merges.txt']));
    const modern = load('roberta-base');
    const { cases } = readSharedJson<{ cases: { texts: string[]; text_pairs?: string[] }[] }>(
      'fixtures',
      'tokenizers',
      'roberta-base',
      'cases.json',
    );
    const texts = cases.flatMap((c) => c.texts);
    const pairs = cases.flatMap((c) => c.text_pairs ?? []);
    assert.deepEqual(legacy.encodeBatch(texts).toObject(), modern.encodeBatch(texts).toObject());
    assert.deepEqual(
      legacy.encodeBatch(pairs, pairs).toObject(),
      modern.encodeBatch(pairs, pairs).toObject(),
    );
    assert.deepEqual(legacy.modelInputNames, ['input_ids', 'attention_mask']);
    // The Rust core decodes added tokens as their content: the space lstrip took stays out ('Hi<mask>').
    assert.equal(legacy.decode(legacy.call('Hi <mask> there').input_ids[0]), '<s>Hi<mask> there</s>');
  },
);

test('decode: skipSpecialTokens and transformers clean-up of tokenization spaces', { skip: skipBert }, () => {
  const tokenizer = load('bert-base-uncased');
  const ids = tokenizer.call("Hello , world ! I 'm here .").input_ids[0];
  assert.equal(tokenizer.decode(ids), "[CLS] hello, world! i'm here. [SEP]");
  assert.equal(tokenizer.decode(ids, { skipSpecialTokens: true }), "hello, world! i'm here.");
  const roberta = load('roberta-base');
  const rids = roberta.call("Hello , world ! I 'm here .").input_ids[0];
  assert.equal(
    roberta.decode(rids, { skipSpecialTokens: true, cleanUpTokenizationSpaces: false }),
    "Hello , world ! I 'm here .",
  );
  assert.equal(roberta.decode(rids, { skipSpecialTokens: true }), "Hello, world! I'm here.");
  assert.deepEqual(roberta.batchDecode([rids, [0, 2]], { skipSpecialTokens: true }), [
    "Hello, world! I'm here.",
    '',
  ]);
  assert.throws(
    () => tokenizer.decode([1, 'x' as unknown as number]),
    (e: unknown) => e instanceof InputError && e.argument === 'ids[1]',
  );
});

test('vocabulary helpers: ids, tokens, special tokens, sizes', { skip: skipBert }, () => {
  const tokenizer = load('bert-base-uncased');
  assert.equal(tokenizer.vocabSize, 30522);
  assert.equal(tokenizer.convertTokensToIds('[CLS]'), 101);
  assert.equal(tokenizer.convertTokensToIds('not-a-token-at-all'), 100);
  assert.deepEqual(tokenizer.convertIdsToTokens([101, 7592, 102], true), ['hello']);
  assert.equal(tokenizer.convertIdsToTokens(999_999), null);
  assert.deepEqual(
    [
      tokenizer.clsTokenId,
      tokenizer.sepTokenId,
      tokenizer.padTokenId,
      tokenizer.maskTokenId,
      tokenizer.unkTokenId,
    ],
    [101, 102, 0, 103, 100],
  );
  const t5 = load('t5-small-unigram');
  assert.equal(t5.modelMaxLength, 512);
  assert.equal(t5.eosToken, '</s>');
  assert.equal(t5.padTokenId, 0);
  assert.equal(t5.additionalSpecialTokens.length, 100);
  assert.ok(t5.length > t5.vocabSize - 1);
});

test(
  'too-long rows: transformers warning once, or an InputError with strictMaxLength',
  { skip: skipDistil },
  () => {
    const warnings: string[] = [];
    const tokenizer = load('distilbert-sst2', warnings);
    const long = `${'word '.repeat(600)}`;
    tokenizer.call([long, long]);
    tokenizer.call(long);
    assert.deepEqual(warnings, [
      'Token indices sequence length is longer than the specified maximum sequence length for this model (602 > 512). ' +
        'Running this sequence through the model will result in indexing errors',
    ]);
    assert.throws(
      () => tokenizer.call(long, { strictMaxLength: true }),
      (e: unknown) => e instanceof InputError && /602 > 512/.test(e.message),
    );
    // truncation: true uses model_max_length.
    assert.equal(tokenizer.call(long, { truncation: true }).input_ids[0].length, 512);
    // maxLength without truncation or padding truncates, with transformers' warning.
    assert.equal(tokenizer.call(long, { maxLength: 8 }).input_ids[0].length, 8);
    assert.match(warnings[1], /^Truncation was not explicitly activated/);
  },
);

test(
  'no model maximum: max_length padding and truncation fall back to none, with warnings',
  {
    skip: skipBert,
  },
  () => {
    const warnings: string[] = [];
    const tokenizer = load('bert-base-uncased', warnings); // no tokenizer_config.json: no model_max_length
    assert.equal(tokenizer.modelMaxLength, Infinity);
    const batch = tokenizer.call(['a', 'b c d'], { padding: 'max_length', truncation: true });
    assert.deepEqual(
      batch.input_ids.map((r) => r.length),
      [3, 5],
    );
    assert.equal(warnings.length, 2);
    assert.match(warnings[0], /pad to max_length but no maximum length/);
    assert.match(warnings[1], /truncate to max_length but no maximum length/);
  },
);

test('call options errors are InputErrors naming the option', { skip: skipBert }, () => {
  const tokenizer = load('bert-base-uncased');
  const cases: [() => unknown, string, RegExp][] = [
    [() => tokenizer.call('a', { padding: 'yes' as never }), 'padding', /padding/],
    [() => tokenizer.call('a', { truncation: 'both' as never }), 'truncation', /truncation/],
    [() => tokenizer.call('a', { maxLength: -1 }), 'maxLength', /integer/],
    [() => tokenizer.call('a', { stride: 1.5, truncation: true, maxLength: 8 }), 'stride', /integer/],
    [() => tokenizer.call('a', { paddingSide: 'top' as never }), 'paddingSide', /left/],
    [
      () => tokenizer.call('a', { truncation: true, maxLength: 8, stride: 7 }),
      'stride',
      /^tokenizer stride set to 7, which is greater than or equal to its effective max length of 6 \(= 8 original max length - 2 added special tokens\)/,
    ],
    [
      () =>
        tokenizer.call('a', 'b c d e f g h i', {
          truncation: 'only_second',
          maxLength: 8,
          stride: 4,
          returnOverflowingTokens: true,
        }),
      'stride',
      /strictly less/,
    ],
    [
      () => tokenizer.call(['a'], ['b'], { truncation: true, maxLength: 8, returnOverflowingTokens: true }),
      'truncation',
      /^Not possible to return overflowing tokens for pair of sequences with the `longest_first`/,
    ],
    [() => tokenizer.call('a', { truncation: true, maxLength: 1 }), 'maxLength', /special tokens/],
    [() => tokenizer.call(['a', null as unknown as string]), 'text[1]', /expected a string, got null/],
    [() => tokenizer.call([3 as unknown as string]), 'text[0]', /number 3/],
    [() => tokenizer.encodeBatch(['a', 'b'], ['c']), 'textPair', /one pair per text/],
    [() => tokenizer.call(['a', 'b'], 'c'), 'textPair', /batch/],
    [() => tokenizer.call(null as unknown as string), 'text', /text/],
  ];
  for (const [run, argument, message] of cases) {
    assert.throws(
      run,
      (e: unknown) => e instanceof InputError && e.argument === argument && message.test(e.message),
      `${argument}: ${message}`,
    );
  }
  // only_second on single texts fails only when something must be cut, as in the Rust core.
  assert.equal(tokenizer.call('a', { truncation: 'only_second', maxLength: 8 }).length, 1);
  assert.throws(
    () => tokenizer.call(LONG_TEXT, { truncation: 'only_second', maxLength: 8 }),
    (e: unknown) =>
      e instanceof SeqbatchError && e.message === 'Truncation error: Second sequence not provided',
  );
});

test('padding needs a pad token', { skip: skipBert }, () => {
  const json = JSON.parse(
    readFileSync(sharedPath('tokenizers', 'bert-base-uncased', 'tokenizer.json'), 'utf8'),
  );
  const tokenizer = Tokenizer.fromJSON(json, { pad_token: null, model_max_length: 512 });
  assert.equal(tokenizer.padTokenId, null);
  assert.throws(
    () => tokenizer.call(['a', 'b c'], { padding: true }),
    (e: unknown) => e instanceof InputError && e.argument === 'padding' && /padding token/.test(e.message),
  );
  tokenizer.setPadToken('[SEP]');
  assert.deepEqual(tokenizer.call(['a', 'b c'], { padding: true }).input_ids[0], [101, 1037, 102, 102]);
  assert.throws(() => tokenizer.setPadToken('<nope>'), InputError);
});

test('loading errors are ConfigErrors naming the file and field', { skip: skipBert }, () => {
  const missing = join(scratch, 'does-not-exist');
  assert.throws(
    () => Tokenizer.fromPretrainedSync(missing),
    (e: unknown) => e instanceof ConfigError && e.file === missing,
  );
  const empty = mkdtempSync(join(scratch, 'empty-'));
  assert.throws(
    () => Tokenizer.fromPretrainedSync(empty),
    (e: unknown) => e instanceof ConfigError && /no tokenizer files found/.test(e.message),
  );
  const text = readFileSync(sharedPath('tokenizers', 'bert-base-uncased', 'tokenizer.json'), 'utf8');
  const truncated = folderWith('bert-base-uncased', [], { 'tokenizer.json': text.slice(0, 5000) });
  assert.throws(
    () => Tokenizer.fromPretrainedSync(truncated),
    (e: unknown) =>
      e instanceof ConfigError &&
      e.file === join(truncated, 'tokenizer.json') &&
      /not valid JSON/.test(e.message),
  );
  const badConfig = folderWith('bert-base-uncased', ['tokenizer.json'], {
    'tokenizer_config.json': '{"padding_side": "middle"}',
  });
  assert.throws(
    () => Tokenizer.fromPretrainedSync(badConfig),
    (e: unknown) =>
      e instanceof ConfigError &&
      e.file === join(badConfig, 'tokenizer_config.json') &&
      e.field === 'padding_side',
  );
  const badModel = JSON.parse(text);
  badModel.post_processor.single = 'nonsense';
  const badFile = folderWith('bert-base-uncased', [], { 'tokenizer.json': JSON.stringify(badModel) });
  assert.throws(
    () => Tokenizer.fromPretrainedSync(badFile),
    (e: unknown) =>
      e instanceof ConfigError &&
      e.file === join(badFile, 'tokenizer.json') &&
      e.field === 'post_processor.special_tokens',
  );
  const onlyVocabJson = folderWith('roberta-base', ['vocab.json']);
  assert.throws(
    () => Tokenizer.fromPretrainedSync(onlyVocabJson),
    (e: unknown) => e instanceof ConfigError && /merges\.txt/.test(e.message),
  );
  assert.throws(
    () =>
      Tokenizer.fromPretrainedSync(sharedPath('tokenizers', 'bert-base-uncased'), {
        tokenizerJsonBlocks: 'x' as never,
      }),
    (e: unknown) => e instanceof InputError && e.argument === 'tokenizerJsonBlocks',
  );
});

test('async fromPretrained, tensors and the Python-like call signatures', { skip: skipBert }, async () => {
  const tokenizer = await Tokenizer.fromPretrained(sharedPath('tokenizers', 'bert-base-uncased'));
  const batch = tokenizer.call(['hello world', 'hi'], ['pair one', 'pair two'], { padding: true });
  const tensors = batch.toTensors('int32');
  assert.deepEqual(tensors.input_ids?.dims, [2, batch.input_ids[0].length]);
  assert.deepEqual([...(tensors.token_type_ids?.data as Int32Array)], batch.token_type_ids.flat());
  assert.deepEqual([...(tensors.attention_mask?.data as Int32Array)], batch.attention_mask.flat());
  const single = tokenizer.encode('hello world', 'pair one');
  assert.deepEqual(single.ids, batch.encodings[0].ids.slice(0, single.length));
  assert.deepEqual(tokenizer.tokenize('Hello world', null, { addSpecialTokens: true }), [
    '[CLS]',
    'hello',
    'world',
    '[SEP]',
  ]);
  const withBlocks = await Tokenizer.fromPretrained(sharedPath('tokenizers', 'bert-base-uncased'), {
    tokenizerJsonBlocks: 'apply',
  });
  // bert-base-uncased's tokenizer.json has no blocks: nothing changes.
  assert.deepEqual(withBlocks.call('hello world').input_ids, tokenizer.call('hello world').input_ids);
});

test(
  'tokenizer_config.json: added_tokens_decoder, do_lower_case, special_tokens_map.json and model_input_names',
  {
    skip: skipBert,
  },
  () => {
    const json = JSON.parse(
      readFileSync(sharedPath('tokenizers', 'bert-base-uncased', 'tokenizer.json'), 'utf8'),
    );
    const tokenizer = Tokenizer.fromJSON(json, {
      do_lower_case: false,
      added_tokens_decoder: {
        '30522': {
          content: '<ent>',
          lstrip: false,
          normalized: false,
          rstrip: false,
          single_word: false,
          special: true,
        },
      },
      model_input_names: ['input_ids', 'attention_mask'],
    });
    // The BertNormalizer of tokenizer.json lowercases; do_lower_case false overrides it (uppercase is not in vocab).
    assert.deepEqual(tokenizer.tokenize('Hello hello'), ['[UNK]', 'hello']);
    const ids = tokenizer.call('a <ent> b').input_ids[0];
    assert.deepEqual(ids, [101, 1037, 30522, 1038, 102]);
    assert.equal(tokenizer.decode(ids, { skipSpecialTokens: true }), 'a b');
    assert.equal(tokenizer.length, 30523);
    assert.deepEqual(Object.keys(tokenizer.call('a').toTensors()), ['input_ids', 'attention_mask']);

    const dir = folderWith('bert-base-uncased', ['tokenizer.json'], {
      'tokenizer_config.json': JSON.stringify({
        pad_token: '[PAD]',
        model_max_length: 128,
        padding_side: 'left',
      }),
      'special_tokens_map.json': JSON.stringify({ pad_token: { content: '[MASK]' } }),
    });
    const mapped = Tokenizer.fromPretrainedSync(dir);
    assert.equal(mapped.padTokenId, 103);
    assert.equal(mapped.modelMaxLength, 128);
    assert.deepEqual(mapped.call(['a', 'b c'], { padding: true }).input_ids[0], [103, 101, 1037, 102]);
  },
);

test('BatchEncoding alignment helpers map characters, tokens and words both ways', { skip: skipBert }, () => {
  const tokenizer = load('bert-base-uncased');
  const question = 'Who wrote it?';
  const context = 'It was written by Lewis Carroll.';
  const batch = tokenizer.call(question, context);
  const tokens = batch.tokens[0];
  const carroll = batch.charToToken(0, context.indexOf('Carroll'), 1) as number;
  assert.equal(tokens[carroll], 'carroll');
  assert.equal(batch.tokenToSequence(0, carroll), 1);
  const [start, end] = batch.tokenToChars(0, carroll) as [number, number];
  assert.equal(context.slice(start, end), 'Carroll');
  assert.equal(batch.charToToken(0, question.indexOf('wrote'), 0), 2);
  assert.equal(batch.tokenToChars(0, 0), null, '[CLS] has no span');
  const word = batch.tokenToWord(0, carroll) as number;
  assert.deepEqual(batch.wordToTokens(0, word, 1), [carroll, carroll + 1]);
  assert.equal(batch.wordToTokens(0, 99, 1), null);
  assert.throws(() => batch.charToToken(3, 0), InputError);
});

test('pre-tokenized input is each word encoded on its own by the Rust core, offsets relative to the word', async () => {
  // The binding takes no word arrays; Rust encodes PreTokenized input word by word, which the binding can do.
  const { Tokenizer: RustTokenizer } = await import('tokenizers');
  const sentences = [
    ['Hello', 'world,', 'pre-split', 'text'],
    ['Ünïcödé', '😀x', 'words', 'and', '[MASK]'],
  ];
  const pairs = [
    ['A', 'pair'],
    ['second', 'pair', 'here'],
  ];
  for (const name of ['bert-base-cased', 'roberta-base', 't5-small-unigram']) {
    if (skipUnlessShared('tokenizers', name)) continue;
    const ours = load(name);
    const json = JSON.parse(readFileSync(sharedPath('tokenizers', name, 'tokenizer.json'), 'utf8'));
    const rust = RustTokenizer.fromString(JSON.stringify({ ...json, post_processor: null }));
    const batch = ours.call(sentences, pairs, { isSplitIntoWords: true, addSpecialTokens: false });
    for (let i = 0; i < sentences.length; i++) {
      const ids: number[] = [];
      const words: number[] = [];
      const offsets: number[][] = [];
      for (const text of [sentences[i], pairs[i]]) {
        for (let w = 0; w < text.length; w++) {
          const e = await rust.encode(text[w], null, { addSpecialTokens: false });
          ids.push(...e.getIds());
          words.push(...e.getIds().map(() => w));
          offsets.push(...e.getOffsets());
        }
      }
      assert.deepEqual(batch.input_ids[i], ids, `${name} ${i} ids`);
      assert.deepEqual(batch.word_ids[i], words, `${name} ${i} words`);
      const ourOffsets = batch.offset_mapping[i].map(([s, e], t) => {
        const text = (batch.sequence_ids[i][t] === 0 ? sentences[i] : pairs[i])[
          batch.word_ids[i][t] as number
        ];
        return [Array.from(text.slice(0, s)).length, Array.from(text.slice(0, e)).length];
      });
      assert.deepEqual(ourOffsets, offsets, `${name} ${i} offsets (code points of each word)`);
    }
  }
});
