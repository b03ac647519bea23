import { ConfigError } from '../errors.js';

/** A JSON object as found in tokenizer.json. */
export type JsonObject = Record<string, unknown>;

/**
 * A registry of component constructors keyed by the serialised `type` tag, like serde's tagged enums in the
 * Rust `tokenizers` crate. Unknown types are an error naming the type and the JSON path, never a silent skip.
 */
export class Registry<T> {
  private readonly builders = new Map<string, (json: JsonObject, path: string) => T>();

  constructor(readonly kind: string) {}

  register(type: string, build: (json: JsonObject, path: string) => T): void {
    this.builders.set(type, build);
  }

  has(type: string): boolean {
    return this.builders.has(type);
  }

  types(): string[] {
    return [...this.builders.keys()].sort();
  }

  /** Builds a component from its JSON. `path` names where it sits in the file, e.g. `normalizer.normalizers[1]`. */
  fromJSON(json: unknown, path: string): T {
    if (json === null || typeof json !== 'object' || Array.isArray(json)) {
      throw new ConfigError(`${path}: expected a ${this.kind} object, got ${describeJson(json)}`, {
        field: path,
      });
    }
    const type = (json as JsonObject).type;
    if (typeof type !== 'string') {
      throw new ConfigError(`${path}.type: expected a string naming the ${this.kind} type`, {
        field: `${path}.type`,
      });
    }
    const build = this.builders.get(type);
    if (!build) {
      throw new ConfigError(
        `${path}.type: unknown ${this.kind} type "${type}" (supported: ${this.types().join(', ')})`,
        { field: `${path}.type` },
      );
    }
    return build(json as JsonObject, path);
  }
}

export function describeJson(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  return typeof value === 'object' ? 'an object' : `${typeof value} ${JSON.stringify(value)}`;
}

/** Field readers that throw ConfigError naming the field when a value has the wrong type. */
export const field = {
  string(json: JsonObject, key: string, path: string, fallback?: string): string {
    const v = json[key];
    if (v === undefined || v === null) {
      if (fallback !== undefined) return fallback;
      throw new ConfigError(`${path}.${key}: missing (expected a string)`, { field: `${path}.${key}` });
    }
    if (typeof v !== 'string') {
      throw new ConfigError(`${path}.${key}: expected a string, got ${describeJson(v)}`, {
        field: `${path}.${key}`,
      });
    }
    return v;
  },
  optionalString(json: JsonObject, key: string, path: string): string | null {
    const v = json[key];
    if (v === undefined || v === null) return null;
    return field.string(json, key, path);
  },
  boolean(json: JsonObject, key: string, path: string, fallback?: boolean): boolean {
    const v = json[key];
    if (v === undefined || v === null) {
      if (fallback !== undefined) return fallback;
      throw new ConfigError(`${path}.${key}: missing (expected true or false)`, { field: `${path}.${key}` });
    }
    if (typeof v !== 'boolean') {
      throw new ConfigError(`${path}.${key}: expected true or false, got ${describeJson(v)}`, {
        field: `${path}.${key}`,
      });
    }
    return v;
  },
  number(json: JsonObject, key: string, path: string, fallback?: number): number {
    const v = json[key];
    if (v === undefined || v === null) {
      if (fallback !== undefined) return fallback;
      throw new ConfigError(`${path}.${key}: missing (expected a number)`, { field: `${path}.${key}` });
    }
    if (typeof v !== 'number' || !Number.isFinite(v)) {
      throw new ConfigError(`${path}.${key}: expected a number, got ${describeJson(v)}`, {
        field: `${path}.${key}`,
      });
    }
    return v;
  },
  array(json: JsonObject, key: string, path: string): unknown[] {
    const v = json[key];
    if (!Array.isArray(v)) {
      throw new ConfigError(`${path}.${key}: expected an array, got ${describeJson(v)}`, {
        field: `${path}.${key}`,
      });
    }
    return v;
  },
  object(json: JsonObject, key: string, path: string): JsonObject {
    const v = json[key];
    if (v === null || typeof v !== 'object' || Array.isArray(v)) {
      throw new ConfigError(`${path}.${key}: expected an object, got ${describeJson(v)}`, {
        field: `${path}.${key}`,
      });
    }
    return v as JsonObject;
  },
};
