/**
 * The model key that routes a job's chunks to workers of its model (src/jobs/model-key.ts): content, not path;
 * the loading options that change what the model computes (the dtype) count, those that only say how it runs do
 * not.
 */
import assert from 'node:assert/strict';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { resolveModelFlags, type ModelCliOptions } from '../src/cli/commands/shared-model.js';
import { modelKey, modelVariant } from '../src/jobs/index.js';

const WORK = mkdtempSync(join(tmpdir(), 'seqbatch-model-key-'));
after(() => rmSync(WORK, { recursive: true, force: true }));

async function keyOf(options: ModelCliOptions): Promise<string> {
  const model = await resolveModelFlags(options);
  return modelKey(model.dir, options.tokenizer, modelVariant(model.load));
}

test('the same files anywhere give the same key; a changed file or dtype another', async () => {
  const demo = await keyOf({});
  assert.match(demo, /^[0-9a-f]{16}$/);
  const copy = join(WORK, 'elsewhere');
  cpSync((await resolveModelFlags({})).dir, copy, { recursive: true });
  assert.equal(await keyOf({ model: copy }), demo, 'a copy at another path');
  assert.equal(await keyOf({ threads: '1', packed: 'false', graphCache: false }), demo, 'run-only flags');
  assert.equal(await keyOf({ dtype: 'fp32' }), demo, 'fp32 is the default');
  assert.notEqual(await keyOf({ dtype: 'int8' }), demo, 'int8 computes something else');
  const config = JSON.parse(readFileSync(join(copy, 'config.json'), 'utf8')) as Record<string, unknown>;
  writeFileSync(join(copy, 'config.json'), JSON.stringify({ ...config, id2label: { 0: 'BAD', 1: 'GOOD' } }));
  assert.notEqual(await keyOf({ model: copy }), demo, 'another config.json');
});
