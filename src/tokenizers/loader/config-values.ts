/** Readers of tokenizer_config.json values (optional booleans, special-token entries) that name the file and key. */
import { ConfigError } from '../../errors.js';
import { describeJson, type JsonObject } from '../registry.js';

export function optionalBoolean(config: JsonObject, key: string, file: string): boolean | undefined {
  const value = config[key];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'boolean') {
    throw new ConfigError(`${file}: ${key}: expected true, false or null, got ${describeJson(value)}`, {
      file,
      field: key,
    });
  }
  return value;
}

/** The string of a special token entry: `"[PAD]"` or `{"content": "[PAD]", ...}` (AddedToken form). */
export function tokenContent(value: unknown, key: string, file: string): string | null {
  if (value === undefined || value === null) return null;
  if (typeof value === 'string') return value;
  if (
    typeof value === 'object' &&
    !Array.isArray(value) &&
    typeof (value as JsonObject).content === 'string'
  ) {
    return (value as JsonObject).content as string;
  }
  throw new ConfigError(
    `${file}: ${key}: expected a token string or {"content": ...}, got ${describeJson(value)}`,
    {
      file,
      field: key,
    },
  );
}
