/** The `["[SEP]", 102]` pairs that BertProcessing and RobertaProcessing store in tokenizer.json. */
import { ConfigError } from '../../errors.js';

export interface SpecialTokenPair {
  token: string;
  id: number;
}

export function readTokenPair(value: unknown[], path: string): SpecialTokenPair {
  const [token, id] = value;
  if (
    value.length !== 2 ||
    typeof token !== 'string' ||
    typeof id !== 'number' ||
    !Number.isInteger(id) ||
    id < 0
  ) {
    throw new ConfigError(
      `${path}: expected ["token", id] with a non-negative integer id, got ${JSON.stringify(value)}`,
      {
        field: path,
      },
    );
  }
  return { token, id };
}
