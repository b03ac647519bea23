/**
 * Legacy folders built from tiny hand-written vocabularies (no shared data needed): the GPT-2 flavour of
 * vocab.json + merges.txt, the tokenizer_config.json options of vocab.txt folders, and their errors.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import test, { after } from 'node:test';
import { ConfigError, InputError } from '../src/errors.js';
import { Tokenizer } from '../src/tokenizers/tokenizer.js';

const scratch = mkdtempSync(join(tmpdir(), 'seqbatch-legacy-'));
after(() => rmSync(scratch, { recursive: true, force: true }));

function folder(files: Record<string, string>): string {
  const dir = mkdtempSync(join(scratch, 'f-'));
  for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text);
  return dir;
}

const BERT_VOCAB = [
  '[PAD]',
  '[UNK]',
  '[CLS]',
  '[SEP]',
  '[MASK]',
  'hello',
  'world',
  'cafe',
  'café',
  '##s',
  '!',
  'Hello',
];

test('vocab.txt: BERT conversion with [CLS]/[SEP] template and ## pieces', () => {
  const tokenizer = Tokenizer.fromPretrainedSync(folder({ 'vocab.txt': `${BERT_VOCAB.join('\n')}\n` }));
  const batch = tokenizer.call(['Hello worlds!', 'hello'], ['café', 'CAFE'], { padding: true });
  assert.deepEqual(batch.tokens[0], ['[CLS]', 'hello', 'world', '##s', '!', '[SEP]', 'cafe', '[SEP]']);
  assert.deepEqual(batch.token_type_ids[0], [0, 0, 0, 0, 0, 0, 1, 1]);
  assert.deepEqual(batch.input_ids[1], [2, 5, 3, 7, 3, 0, 0, 0]);
  assert.equal(tokenizer.decode(batch.input_ids[0], { skipSpecialTokens: true }), 'hello worlds! cafe');
  assert.deepEqual([tokenizer.padTokenId, tokenizer.clsTokenId, tokenizer.maskTokenId], [0, 2, 4]);
});

test('vocab.txt: do_lower_case and strip_accents from tokenizer_config.json', () => {
  const dir = folder({
    'vocab.txt': BERT_VOCAB.join('\n'),
    'tokenizer_config.json': JSON.stringify({
      do_lower_case: false,
      strip_accents: false,
      model_max_length: 16,
    }),
  });
  const tokenizer = Tokenizer.fromPretrainedSync(dir);
  assert.deepEqual(tokenizer.tokenize('Hello café hello'), ['Hello', 'café', 'hello']);
  assert.equal(tokenizer.modelMaxLength, 16);
});

test('vocab.json + merges.txt without <s>: GPT-2 conversion, no special tokens added, byte-level round trip', () => {
  const vocab = { h: 0, i: 1, hi: 2, Ġ: 3, Ġh: 4, Ġhi: 5, '!': 6, '<|endoftext|>': 7 };
  const files = { 'vocab.json': JSON.stringify(vocab), 'merges.txt': '#version: 0.2\nh i\nĠ hi\n' };
  const tokenizer = Tokenizer.fromPretrainedSync(folder(files));
  const encoding = tokenizer.encode('hi hi!');
  assert.deepEqual(encoding.tokens, ['hi', 'Ġhi', '!']);
  // GPT-2 ByteLevel post-processing keeps offsets untrimmed.
  assert.deepEqual(encoding.offsets, [
    [0, 2],
    [2, 5],
    [5, 6],
  ]);
  assert.equal(tokenizer.decode(encoding.ids), 'hi hi!');
  assert.equal(tokenizer.eosToken, '<|endoftext|>');
  assert.equal(tokenizer.numSpecialTokensToAdd(true), 0);
  assert.equal(tokenizer.padToken, null);
  // GPT2TokenizerFast refuses pre-tokenized input unless add_prefix_space is set.
  assert.throws(
    () => tokenizer.call([['hi', 'hi']], { isSplitIntoWords: true }),
    (e: unknown) =>
      e instanceof InputError &&
      e.message ===
        'You need to instantiate GPT2TokenizerFast with add_prefix_space=True to use it with pretokenized inputs.',
  );
  const spaced = Tokenizer.fromPretrainedSync(
    folder({ ...files, 'tokenizer_config.json': '{"add_prefix_space": true}' }),
  );
  assert.deepEqual(spaced.call([['hi', 'hi']], { isSplitIntoWords: true }).tokens[0], ['Ġhi', 'Ġhi']);
});

test('legacy folder errors name the file and field', () => {
  assert.throws(
    () => Tokenizer.fromPretrainedSync(folder({ 'vocab.txt': 'a\nb\n[UNK]\n' })),
    (e: unknown) => e instanceof ConfigError && /vocab\.txt/.test(e.file ?? '') && e.field === 'cls_token',
  );
  assert.throws(
    () => Tokenizer.fromPretrainedSync(folder({ 'vocab.json': '{"a": 0', 'merges.txt': '' })),
    (e: unknown) =>
      e instanceof ConfigError && /vocab\.json/.test(e.file ?? '') && /not valid JSON/.test(e.message),
  );
  assert.throws(
    () =>
      Tokenizer.fromPretrainedSync(
        folder({ 'vocab.txt': BERT_VOCAB.join('\n'), 'tokenizer_config.json': '{"do_lower_case": "yes"}' }),
      ),
    (e: unknown) =>
      e instanceof ConfigError && e.field === 'do_lower_case' && /tokenizer_config\.json/.test(e.file ?? ''),
  );
  assert.throws(
    () =>
      Tokenizer.fromPretrainedSync(
        folder({ 'vocab.txt': BERT_VOCAB.join('\n'), 'tokenizer_config.json': '' }),
      ),
    (e: unknown) => e instanceof ConfigError && /the file is empty/.test(e.message),
  );
});

test('configured special tokens only in the model vocabulary become added tokens, matched whole', () => {
  // A tokenizer.json whose added_tokens lacks [MASK]: tokenizer_config.json names it, so it is matched whole.
  const vocab = Object.fromEntries(BERT_VOCAB.map((token, id) => [token, id]));
  const json = {
    version: '1.0',
    added_tokens: [],
    normalizer: { type: 'BertNormalizer', lowercase: true },
    pre_tokenizer: { type: 'BertPreTokenizer' },
    model: { type: 'WordPiece', vocab, unk_token: '[UNK]' },
    post_processor: null,
    decoder: null,
  };
  const plain = Tokenizer.fromJSON(json, { mask_token: null, unk_token: '[UNK]' });
  assert.deepEqual(plain.tokenize('hello [MASK]'), ['hello', '[UNK]', '[UNK]', '[UNK]']);
  const withMask = Tokenizer.fromJSON(json, { mask_token: '[MASK]', unk_token: '[UNK]' });
  assert.deepEqual(withMask.tokenize('hello [MASK]'), ['hello', '[MASK]']);
  assert.equal(withMask.maskTokenId, 4);
  assert.equal(withMask.decode([5, 4], { skipSpecialTokens: true }), 'hello');
});
