/** Reading the small JSON files of a sentence-transformers folder, with errors naming the file and field. */
import { existsSync, readFileSync } from 'node:fs';
import { ConfigError } from '../../errors.js';

export type JsonObject = Record<string, unknown>;

/** The JSON value of `file`; a ConfigError naming the file when it cannot be read or parsed. */
export function readJsonValue(file: string): unknown {
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as unknown;
  } catch (error) {
    throw new ConfigError(`${file}: cannot read JSON (${(error as Error).message})`, { file, cause: error });
  }
}

/** The JSON object of `file`, or `{}` when the file is absent and `optional`. */
export function readJsonObject(file: string, optional = false): JsonObject {
  if (optional && !existsSync(file)) return {};
  const value = readJsonValue(file);
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new ConfigError(`${file}: expected a JSON object`, { file });
  }
  return value as JsonObject;
}

/** A field that must be a boolean when present. */
export function optionalBoolean(json: JsonObject, field: string, file: string): boolean | undefined {
  const value = json[field];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'boolean') {
    throw new ConfigError(`${file}: ${field} must be true or false, got ${JSON.stringify(value)}`, {
      file,
      field,
    });
  }
  return value;
}

/** A field that must be a positive integer when present. */
export function optionalPositiveInteger(json: JsonObject, field: string, file: string): number | undefined {
  const value = json[field];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 1) {
    throw new ConfigError(`${file}: ${field} must be a positive integer, got ${JSON.stringify(value)}`, {
      file,
      field,
    });
  }
  return value;
}

/** A field that must be a string when present. */
export function optionalString(json: JsonObject, field: string, file: string): string | undefined {
  const value = json[field];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'string') {
    throw new ConfigError(`${file}: ${field} must be a string, got ${JSON.stringify(value)}`, {
      file,
      field,
    });
  }
  return value;
}
