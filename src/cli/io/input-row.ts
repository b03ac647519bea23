/**
 * What every input reader yields: one text (and optional text pair) per input row, numbered in input order.
 */
export interface InputRow {
  /** 0-based position of the row in the whole input (after the header of a CSV/TSV file). */
  index: number;
  text: string;
  textPair?: string;
  /**
   * 1-based source line of the row, for messages: its last line for a CSV record spanning lines (quoted
   * newlines), the argument's position for positional texts.
   */
  line: number;
}

/** Input file formats the CLI reads. */
export const INPUT_FORMATS = ['txt', 'jsonl', 'csv', 'tsv'] as const;
export type InputFormat = (typeof INPUT_FORMATS)[number];
