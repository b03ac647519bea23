/**
 * The tiny model checkpoints of ../shared/fixtures/models come without a tokenizer. Tests pair them with the small
 * lowercasing WordPiece tokenizer built here, whose ids fit their 99-token vocabulary (special tokens at the ids
 * the fixtures use), either as a Tokenizer object or as tokenizer files written beside a copy of the checkpoint.
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Tokenizer } from '../../src/tokenizers/tokenizer.js';
import { sharedPath } from './shared.js';

const SPECIAL_TOKENS = ['[PAD]', '[UNK]', '[CLS]', '[SEP]', '[MASK]'];

/** Whole words the fixture texts use, after the specials and the letters. */
export const FIXTURE_WORDS = (
  'the cat sat on mat dog paris is in france what where who capital of city john lives new york . , ? ! ' +
  'and was big small red blue river tree house car road sun moon bird fish green old'
).split(' ');

const LETTERS = 'abcdefghijklmnopqrstuvwxyz'.split('');

/** 5 specials (ids as the fixtures use them), a–z, ##a–##z, then the words: 99 entries. */
export const FIXTURE_VOCAB: readonly string[] = [
  ...SPECIAL_TOKENS,
  ...LETTERS,
  ...LETTERS.map((l) => `##${l}`),
  ...FIXTURE_WORDS,
];

export interface TokenizerFiles {
  /** tokenizer.json */
  tokenizer: Record<string, unknown>;
  /** tokenizer_config.json */
  tokenizerConfig: Record<string, unknown>;
}

/**
 * A BERT-style uncased WordPiece tokenizer over `vocab` (the five special tokens first, at ids 0–4), as the files
 * of a checkpoint folder would hold it.
 */
export function wordPieceTokenizerFiles(vocab: readonly string[] = FIXTURE_VOCAB): TokenizerFiles {
  return {
    tokenizer: {
      version: '1.0',
      truncation: null,
      padding: null,
      added_tokens: SPECIAL_TOKENS.map((content) => ({
        id: vocab.indexOf(content),
        content,
        single_word: false,
        lstrip: false,
        rstrip: false,
        normalized: false,
        special: true,
      })),
      normalizer: {
        type: 'BertNormalizer',
        clean_text: true,
        handle_chinese_chars: true,
        strip_accents: null,
        lowercase: true,
      },
      pre_tokenizer: { type: 'BertPreTokenizer' },
      post_processor: {
        type: 'BertProcessing',
        sep: ['[SEP]', vocab.indexOf('[SEP]')],
        cls: ['[CLS]', vocab.indexOf('[CLS]')],
      },
      decoder: { type: 'WordPiece', prefix: '##', cleanup: true },
      model: {
        type: 'WordPiece',
        unk_token: '[UNK]',
        continuing_subword_prefix: '##',
        max_input_chars_per_word: 100,
        vocab: Object.fromEntries(vocab.map((t, i) => [t, i])),
      },
    },
    tokenizerConfig: {
      model_max_length: 64,
      pad_token: '[PAD]',
      unk_token: '[UNK]',
      cls_token: '[CLS]',
      sep_token: '[SEP]',
      mask_token: '[MASK]',
    },
  };
}

/** The tokenizer of `wordPieceTokenizerFiles(vocab)`, loaded. */
export function fixtureTokenizer(vocab: readonly string[] = FIXTURE_VOCAB): Tokenizer {
  const files = wordPieceTokenizerFiles(vocab);
  return Tokenizer.fromJSON(files.tokenizer, files.tokenizerConfig);
}

/** config.json label fields: `id2label` and the `label2id` it implies. */
export function labelConfig(id2label: Record<number, string>): {
  id2label: Record<number, string>;
  label2id: Record<string, number>;
} {
  return {
    id2label,
    label2id: Object.fromEntries(Object.entries(id2label).map(([id, label]) => [label, Number(id)])),
  };
}

/** BIO person/location tags for the token-classification fixture. */
export const NER_LABELS: Record<number, string> = { 0: 'O', 1: 'B-PER', 2: 'I-PER', 3: 'B-LOC', 4: 'I-LOC' };

/** The NLI labels zero-shot classification reads entailment from, for the sequence-classification fixture. */
export const NLI_LABELS: Record<number, string> = { 0: 'contradiction', 1: 'neutral', 2: 'entailment' };

export interface FixtureCheckpointOptions {
  /** config.json fields replaced. */
  config?: Record<string, unknown>;
  /** More files (folder-relative path → JSON content), e.g. a sentence-transformers pooling config. */
  files?: Record<string, unknown>;
  /** Write the small tokenizer's tokenizer.json and tokenizer_config.json into the folder. */
  withTokenizer?: boolean;
  /** The fixture set the folder is in (default `models`). */
  set?: 'models' | 'models-2';
}

/**
 * A copy of the fixture checkpoint `name` under `workDir` (weights linked, not copied) with config.json fields
 * replaced and extra files added. Each distinct set of changes gets its own folder (named by a digest of the
 * changes), and asking again for the same changes returns the same folder.
 */
export function fixtureCheckpoint(
  workDir: string,
  name: string,
  options: FixtureCheckpointOptions = {},
): string {
  const { config: configChanges = {}, files = {}, withTokenizer = false, set = 'models' } = options;
  const source = sharedPath('fixtures', set, name);
  const digest = createHash('sha256')
    .update(JSON.stringify([configChanges, files, withTokenizer]))
    .digest('hex')
    .slice(0, 12);
  const dir = join(workDir, `${name}-${digest}`);
  if (existsSync(join(dir, 'model.safetensors'))) return dir;
  mkdirSync(dir, { recursive: true });
  const config = JSON.parse(readFileSync(join(source, 'config.json'), 'utf8'));
  writeFileSync(join(dir, 'config.json'), JSON.stringify({ ...config, ...configChanges }));
  symlinkSync(join(source, 'model.safetensors'), join(dir, 'model.safetensors'));
  const written: Record<string, unknown> = { ...files };
  if (withTokenizer) {
    const tokenizer = wordPieceTokenizerFiles();
    written['tokenizer.json'] = tokenizer.tokenizer;
    written['tokenizer_config.json'] = tokenizer.tokenizerConfig;
  }
  for (const [file, content] of Object.entries(written)) {
    mkdirSync(join(dir, file, '..'), { recursive: true });
    writeFileSync(join(dir, file), JSON.stringify(content));
  }
  return dir;
}
