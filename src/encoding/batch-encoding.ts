/**
 * The result of a tokenizer call: one Encoding per row (overflow windows are rows of their own), with
 * transformers' key names as plain arrays and model-ready tensors.
 */
import { InputError } from '../errors.js';
import type { Encoding } from './encoding.js';
import { buildTensor, rectangularLength, type IntTensor, type TensorDType } from './tensors.js';

/** The fields `toTensors` can build. */
export type TensorField = 'input_ids' | 'attention_mask' | 'token_type_ids' | 'special_tokens_mask';

/** One row with transformers' key names (what the CLI prints). */
export interface EncodedRow {
  input_ids: number[];
  attention_mask: number[];
  token_type_ids: number[];
  special_tokens_mask: number[];
  offset_mapping: [number, number][];
  word_ids: (number | null)[];
  sequence_ids: (number | null)[];
  tokens: string[];
}

const ENCODING_FIELD: Record<TensorField, 'ids' | 'attentionMask' | 'typeIds' | 'specialTokensMask'> = {
  input_ids: 'ids',
  attention_mask: 'attentionMask',
  token_type_ids: 'typeIds',
  special_tokens_mask: 'specialTokensMask',
};

export class BatchEncoding {
  constructor(
    /** One Encoding per row; their `overflowing` lists are emptied into rows of their own. */
    readonly encodings: readonly Encoding[],
    /** For each row, the index of the input it came from (only when overflowing tokens were requested). */
    readonly overflowToSampleMapping: readonly number[] | null = null,
    /** The fields a model takes, in order (`toTensors()` builds these by default). */
    readonly modelInputNames: readonly TensorField[] = ['input_ids', 'token_type_ids', 'attention_mask'],
  ) {}

  /** Number of rows. */
  get length(): number {
    return this.encodings.length;
  }

  get input_ids(): number[][] {
    return this.encodings.map((e) => e.ids);
  }
  get attention_mask(): number[][] {
    return this.encodings.map((e) => e.attentionMask);
  }
  get token_type_ids(): number[][] {
    return this.encodings.map((e) => e.typeIds);
  }
  get special_tokens_mask(): number[][] {
    return this.encodings.map((e) => e.specialTokensMask);
  }
  /** [start, end) in UTF-16 code units of the row's own text (first or second); [0, 0] for special and pad tokens. */
  get offset_mapping(): [number, number][][] {
    return this.encodings.map((e) => e.offsets);
  }
  get word_ids(): (number | null)[][] {
    return this.encodings.map((e) => e.words);
  }
  get sequence_ids(): (number | null)[][] {
    return this.encodings.map((e) => e.getSequenceIds());
  }
  get tokens(): string[][] {
    return this.encodings.map((e) => e.tokens);
  }
  get overflow_to_sample_mapping(): number[] | undefined {
    return this.overflowToSampleMapping ? [...this.overflowToSampleMapping] : undefined;
  }

  /** Row `index` with transformers' key names (plus `overflow_to_sample_mapping` when overflowing). */
  row(index: number): EncodedRow & { overflow_to_sample_mapping?: number } {
    const e = this.encodingAt(index);
    const row: EncodedRow & { overflow_to_sample_mapping?: number } = {
      input_ids: e.ids,
      attention_mask: e.attentionMask,
      token_type_ids: e.typeIds,
      special_tokens_mask: e.specialTokensMask,
      offset_mapping: e.offsets,
      word_ids: e.words,
      sequence_ids: e.getSequenceIds(),
      tokens: e.tokens,
    };
    if (this.overflowToSampleMapping) row.overflow_to_sample_mapping = this.overflowToSampleMapping[index];
    return row;
  }

  private encodingAt(row: number): Encoding {
    const e = this.encodings[row];
    if (!e)
      throw new InputError(`row ${row} does not exist (the batch has ${this.length} rows)`, {
        argument: 'row',
      });
    return e;
  }

  /** Index of the token of `row` covering UTF-16 unit `charIndex` of text `sequenceIndex`, or null. */
  charToToken(row: number, charIndex: number, sequenceIndex = 0): number | null {
    const e = this.encodingAt(row);
    const sequences = e.getSequenceIds();
    for (let t = 0; t < e.length; t++) {
      if (sequences[t] !== sequenceIndex) continue;
      const [start, end] = e.offsets[t];
      if (charIndex >= start && charIndex < end) return t;
    }
    return null;
  }

  /** [start, end) UTF-16 span of token `token` of `row` in its own text, or null for special and pad tokens. */
  tokenToChars(row: number, token: number): [number, number] | null {
    const e = this.encodingAt(row);
    if (e.getSequenceIds()[token] === null || token < 0 || token >= e.length) return null;
    const [start, end] = e.offsets[token];
    return [start, end];
  }

  /** Word index of token `token` of `row`, or null. */
  tokenToWord(row: number, token: number): number | null {
    return this.encodingAt(row).words[token] ?? null;
  }

  /** Text (0 or 1) token `token` of `row` comes from, or null. */
  tokenToSequence(row: number, token: number): number | null {
    return this.encodingAt(row).getSequenceIds()[token] ?? null;
  }

  /** [first, last + 1) tokens of word `word` of text `sequenceIndex` in `row`, or null when no token has it. */
  wordToTokens(row: number, word: number, sequenceIndex = 0): [number, number] | null {
    const e = this.encodingAt(row);
    const sequences = e.getSequenceIds();
    let first = -1;
    let last = -1;
    for (let t = 0; t < e.length; t++) {
      if (e.words[t] !== word || sequences[t] !== sequenceIndex) continue;
      if (first === -1) first = t;
      last = t;
    }
    return first === -1 ? null : [first, last + 1];
  }

  /** Every field as plain 2-D arrays under transformers' key names. */
  toObject(): Record<string, unknown> {
    const result: Record<string, unknown> = {
      input_ids: this.input_ids,
      token_type_ids: this.token_type_ids,
      attention_mask: this.attention_mask,
      special_tokens_mask: this.special_tokens_mask,
      offset_mapping: this.offset_mapping,
      word_ids: this.word_ids,
      sequence_ids: this.sequence_ids,
      tokens: this.tokens,
    };
    if (this.overflowToSampleMapping) result.overflow_to_sample_mapping = this.overflow_to_sample_mapping;
    return result;
  }

  /**
   * [batch, seq] tensors of `dtype` for `fields` (default: the model input names). Rows must all have the same
   * length (encode with padding); otherwise an InputError says so.
   */
  toTensors(
    dtype: TensorDType = 'int64',
    fields: readonly TensorField[] = this.modelInputNames,
  ): Partial<Record<TensorField, IntTensor>> {
    const rows = this.encodings;
    const length = rectangularLength(rows.length, (r) => rows[r].ids, 'input_ids');
    const result: Partial<Record<TensorField, IntTensor>> = {};
    for (const name of fields) {
      const key = ENCODING_FIELD[name];
      if (!key) {
        throw new InputError(`fields: unknown tensor field ${JSON.stringify(name)}`, { argument: 'fields' });
      }
      result[name] = buildTensor(rows.length, length, dtype, (r) => rows[r][key]);
    }
    return result;
  }
}
