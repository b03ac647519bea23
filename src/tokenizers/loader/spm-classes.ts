/**
 * transformers' SentencePiece converters (convert_slow_tokenizer, 4.40) by tokenizer class: what each one changes in
 * SpmConverter's vocabulary, normalizer, pre-tokenizer and template. Adding a class is one entry here.
 */
import { FAIRSEQ_SPECIAL_TOKENS } from './legacy.js';
import { defaultSpmNormalizers, replaceJson, spmVocab, type SpmClassConverter } from './spm-convert.js';

/** `[CLS] A [SEP]` / `[CLS] A [SEP] B [SEP]` with type ids 0 then 1 (DeBERTa-v2, ALBERT). */
const CLS_SEP_TEMPLATE = {
  single: '[CLS]:0 $A:0 [SEP]:0',
  pair: '[CLS]:0 $A:0 [SEP]:0 $B:1 [SEP]:1',
  specials: ['[CLS]', '[SEP]'],
};

/** `<s> A </s>` / `<s> A </s> </s> B </s>`, every type id 0 (XLM-R, CamemBERT). */
const FAIRSEQ_TEMPLATE = {
  single: '<s> $A </s>',
  pair: '<s> $A </s> </s> $B </s>',
  specials: ['<s>', '</s>'],
};

const metaspaceOnly = (metaspace: Record<string, unknown>) => metaspace;

/**
 * Python's `str.isdigit` for one character: decimal digits (\p{Nd}) and the other characters whose Unicode
 * numeric type is Digit (superscripts, subscripts, circled and parenthesised 1–9, Ethiopic and a few historic
 * digits), not fractions or numbers above nine.
 */
const OTHER_DIGITS =
  /^[\u00B2\u00B3\u00B9\u1369-\u1371\u19DA\u2070\u2074-\u2079\u2080-\u2089\u2460-\u2468\u2474-\u247C\u2488-\u2490\u24EA\u24F5-\u24FD\u24FF\u2776-\u277E\u2780-\u2788\u278A-\u2792\u{10A40}-\u{10A43}\u{10E60}-\u{10E68}\u{11052}-\u{1105A}\u{1F100}-\u{1F10A}]$/u;

function isDigit(char: string): boolean {
  return /^\p{Nd}$/u.test(char) || OTHER_DIGITS.test(char);
}

/** transformers' `check_number_comma`: pieces ending in a digit and a comma are penalised in ALBERT's vocabulary. */
function checkNumberComma(piece: string): boolean {
  const chars = Array.from(piece);
  return chars.length < 2 || chars[chars.length - 1] !== ',' || !isDigit(chars[chars.length - 2]!);
}

const debertaV2: SpmClassConverter = {
  vocab: spmVocab,
  unkId: (model) => model.unkId,
  normalizers: (charsmap, config) => [
    ...(config.boolean('do_lower_case', false) ? [{ type: 'Lowercase' }] : []),
    { type: 'Strip', strip_left: true, strip_right: true },
    ...(charsmap ? [charsmap] : []),
    replaceJson({ regex: ' {2,}' }, ' '),
  ],
  preTokenizer: (metaspace, config) => ({
    type: 'Sequence',
    pretokenizers: [
      ...(config.boolean('split_by_punct', false) ? [{ type: 'Punctuation', behavior: 'Isolated' }] : []),
      metaspace,
    ],
  }),
  template: CLS_SEP_TEMPLATE,
  defaults: {
    bos: '[CLS]',
    eos: '[SEP]',
    unk: '[UNK]',
    sep: '[SEP]',
    pad: '[PAD]',
    cls: '[CLS]',
    mask: '[MASK]',
  },
  readsPrependFlags: false,
};

/** What XLM-R and CamemBERT share: unk id 3 in fairseq's layout, SpmConverter's normalizer, the fairseq template. */
const FAIRSEQ_CLASS = {
  unkId: () => 3,
  normalizers: defaultSpmNormalizers,
  preTokenizer: metaspaceOnly,
  template: FAIRSEQ_TEMPLATE,
  defaults: FAIRSEQ_SPECIAL_TOKENS,
  readsPrependFlags: false,
} satisfies Omit<SpmClassConverter, 'vocab'>;

const xlmRoberta: SpmClassConverter = {
  ...FAIRSEQ_CLASS,
  // fairseq's layout: its own four specials, then the sp pieces after sp's <unk>, <s>, </s>, then <mask>.
  vocab: (model) => [
    ['<s>', 0],
    ['<pad>', 0],
    ['</s>', 0],
    ['<unk>', 0],
    ...spmVocab(model).slice(3),
    ['<mask>', 0],
  ],
};

const camembert: SpmClassConverter = {
  ...FAIRSEQ_CLASS,
  // Five fairseq specials (the sp <unk> demoted by −100 so the added one wins), the sp pieces after sp's <unk>,
  // then <mask>.
  vocab: (model) => [
    ['<s>NOTUSED', 0],
    ['<pad>', 0],
    ['</s>NOTUSED', 0],
    ['<unk>', 0],
    ['<unk>NOTUSED', -100],
    ...spmVocab(model).slice(1),
    ['<mask>', 0],
  ],
};

const albert: SpmClassConverter = {
  vocab: (model) =>
    spmVocab(model).map(([piece, score]) => [piece, checkNumberComma(piece) ? score : score - 100]),
  unkId: (model) => model.unkId,
  normalizers: (charsmap, config) => [
    replaceJson('``', '"'),
    replaceJson("''", '"'),
    ...(config.boolean('keep_accents', false) ? [] : [{ type: 'NFKD' }, { type: 'StripAccents' }]),
    ...(config.boolean('do_lower_case', true) ? [{ type: 'Lowercase' }] : []),
    ...(charsmap ? [charsmap] : []),
    replaceJson({ regex: ' {2,}' }, ' '),
  ],
  preTokenizer: metaspaceOnly,
  template: CLS_SEP_TEMPLATE,
  defaults: {
    bos: '[CLS]',
    eos: '[SEP]',
    unk: '<unk>',
    sep: '[SEP]',
    pad: '<pad>',
    cls: '[CLS]',
    mask: '[MASK]',
  },
  readsPrependFlags: false,
};

const t5: SpmClassConverter = {
  // The sentinel tokens follow the pieces, highest first: <extra_id_99> … <extra_id_0>.
  vocab: (model, config) => {
    const extra = config.integer('extra_ids', 100);
    return [
      ...spmVocab(model),
      ...Array.from({ length: extra }, (_, i): [string, number] => [`<extra_id_${extra - 1 - i}>`, 0]),
    ];
  },
  unkId: (model) => model.unkId,
  normalizers: defaultSpmNormalizers,
  preTokenizer: metaspaceOnly,
  template: { single: '$A </s>', pair: '$A </s> $B </s>', specials: ['</s>'] },
  defaults: { eos: '</s>', unk: '<unk>', pad: '<pad>' },
  readsPrependFlags: true,
};

/** Converters by slow tokenizer class (a `…Fast` name uses its slow class's converter). */
export const spmConverters = new Map<string, SpmClassConverter>([
  ['DebertaV2Tokenizer', debertaV2],
  ['XLMRobertaTokenizer', xlmRoberta],
  ['CamembertTokenizer', camembert],
  ['AlbertTokenizer', albert],
  ['T5Tokenizer', t5],
]);

/** The tokenizer class AutoTokenizer picks for a config.json `model_type`, when tokenizer_config.json names none. */
export const SPM_CLASS_OF_MODEL_TYPE = new Map([
  ['deberta-v2', 'DebertaV2Tokenizer'],
  ['xlm-roberta', 'XLMRobertaTokenizer'],
  ['camembert', 'CamembertTokenizer'],
  ['albert', 'AlbertTokenizer'],
  ['t5', 'T5Tokenizer'],
  ['mt5', 'T5Tokenizer'],
]);
