import assert from 'node:assert/strict';
import test from 'node:test';
import { ConfigError } from '../src/errors.js';
import { Registry } from '../src/tokenizers/registry.js';
import { BYTES_TO_UNICODE, UNICODE_TO_BYTES } from '../src/tokenizers/byte-level.js';

test('registry builds a registered type and names an unknown one', () => {
  const registry = new Registry<string>('normalizer');
  registry.register('Lowercase', () => 'lowercase');
  assert.equal(registry.fromJSON({ type: 'Lowercase' }, 'normalizer'), 'lowercase');
  assert.throws(
    () => registry.fromJSON({ type: 'Shout' }, 'normalizer.normalizers[2]'),
    (error: unknown) =>
      error instanceof ConfigError &&
      error.field === 'normalizer.normalizers[2].type' &&
      /unknown normalizer type "Shout"/.test(error.message) &&
      /Lowercase/.test(error.message),
  );
  assert.throws(() => registry.fromJSON([], 'normalizer'), /expected a normalizer object, got an array/);
  assert.throws(() => registry.fromJSON({}, 'normalizer'), /normalizer\.type: expected a string/);
});

test('byte-level table is a bijection onto printable characters', () => {
  assert.equal(new Set(BYTES_TO_UNICODE).size, 256);
  // GPT-2 maps the space byte to U+0120 ("Ġ") and newline to U+010A ("Ċ").
  assert.equal(BYTES_TO_UNICODE[0x20], '\u0120');
  assert.equal(BYTES_TO_UNICODE[0x0a], '\u010a');
  assert.equal(BYTES_TO_UNICODE[0x41], 'A');
  for (let b = 0; b < 256; b++) assert.equal(UNICODE_TO_BYTES.get(BYTES_TO_UNICODE[b]!), b);
});
