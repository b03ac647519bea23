import { ConfigError } from '../../errors.js';
import { field, type JsonObject } from '../registry.js';

/** Reads an optional non-negative integer field, naming it in a ConfigError when it is anything else. */
export function nonNegativeInteger(json: JsonObject, key: string, path: string, fallback: number): number {
  const value = field.number(json, key, path, fallback);
  if (!Number.isInteger(value) || value < 0) {
    throw new ConfigError(`${path}.${key}: expected a non-negative integer, got ${value}`, {
      field: `${path}.${key}`,
    });
  }
  return value;
}

/**
 * A ConfigError about the model setting `key`. Models built from tokenizer.json name the JSON path
 * (`model.unk_token`); models built from legacy files (vocab.txt, merges.txt) name the file and the setting.
 */
export function settingError(
  path: string,
  file: string | undefined,
  key: string,
  problem: string,
): ConfigError {
  if (file !== undefined) return new ConfigError(`${file}: ${key}: ${problem}`, { file, field: key });
  return new ConfigError(`${path}.${key}: ${problem}`, { field: `${path}.${key}` });
}
