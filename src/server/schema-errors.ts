/**
 * Readable messages for request bodies that fail their JSON schema. Ajv reports a value that matches none of
 * several accepted forms as one error per form; this names the field once and says what it accepts instead.
 */
import type { FastifySchemaValidationError } from 'fastify';

/** For a route's `schemaErrorFormatter`: field name → what the field accepts, in words. */
export function schemaErrorFormatter(accepted: Record<string, string>) {
  return (errors: FastifySchemaValidationError[], dataVar: string): Error => {
    const outermostAnyOf = errors
      .filter((error) => error.keyword === 'anyOf')
      .sort((a, b) => a.instancePath.length - b.instancePath.length)[0];
    if (outermostAnyOf) {
      const field = outermostAnyOf.instancePath.split('/')[1] ?? '';
      if (outermostAnyOf.instancePath === `/${field}` && accepted[field] !== undefined) {
        return new Error(`${dataVar}.${field}: expected ${accepted[field]}`);
      }
    }
    const first = errors[0];
    const path = first ? first.instancePath.replace(/\//g, '.') : '';
    const allowed = (first?.params as { allowedValues?: unknown[] } | undefined)?.allowedValues;
    const message =
      first?.keyword === 'enum' && Array.isArray(allowed)
        ? `must be one of ${allowed.map((v) => JSON.stringify(v)).join(', ')}`
        : (first?.message ?? 'is invalid');
    return new Error(`${dataVar}${path} ${message}`);
  };
}
