/**
 * What every input reader yields: one text (and optional text pair) per input row, numbered in input order.
 */
export interface InputRow {
  /** 0-based position of the row in the whole input (after the header of a CSV/TSV file). */
  index: number;
  text: string;
  textPair?: string;
  /** 1-based line in the source where the row starts (record number for positional arguments), for messages. */
  line: number;
}

/** Input file formats the CLI reads. */
export const INPUT_FORMATS = ['txt', 'jsonl', 'csv', 'tsv'] as const;
export type InputFormat = (typeof INPUT_FORMATS)[number];
