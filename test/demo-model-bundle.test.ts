/**
 * The bundled demo checkpoint ships with the package and is found from wherever the package is installed: its
 * weights are the ones its model card names (sha256), `npm pack` includes the whole folder, and the default-model
 * lookup walks up from its own module to seqbatch's package.json, past other package.json files.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  copyFileSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { after, test } from 'node:test';
import { DEFAULT_MODEL_NAME, defaultModelDir, packageRoot } from '../src/cli/default-model.js';
import { REPO_ROOT } from './helpers/shared.js';

const DEMO = join(REPO_ROOT, 'models', DEFAULT_MODEL_NAME);
const WORK = mkdtempSync(join(tmpdir(), 'seqbatch-demo-bundle-'));
after(() => rmSync(WORK, { recursive: true, force: true }));

test('the bundled weights are the ones the model card names', () => {
  const card = readFileSync(join(DEMO, 'README.md'), 'utf8');
  const named = /sha256 `([0-9a-f]{64})`/.exec(card)?.[1];
  assert.ok(named, 'the model card names a sha256');
  const actual = createHash('sha256')
    .update(readFileSync(join(DEMO, 'model.safetensors')))
    .digest('hex');
  assert.equal(actual, named);
});

test('npm pack includes every file of the demo model folder', () => {
  const output = execFileSync('npm', ['pack', '--dry-run', '--json', '--ignore-scripts'], {
    cwd: REPO_ROOT,
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'ignore'],
  });
  const packed = new Set(
    (JSON.parse(output) as Array<{ files: Array<{ path: string }> }>)[0]!.files.map((f) => f.path),
  );
  for (const file of readdirSync(DEMO)) {
    assert.ok(packed.has(`models/${DEFAULT_MODEL_NAME}/${file}`), `${file} is packed`);
  }
});

test('from a clone, the default model is the repository folder', () => {
  assert.equal(packageRoot(), REPO_ROOT);
  assert.equal(defaultModelDir(), DEMO);
});

test('from an installed package, the lookup finds node_modules/seqbatch past other package.json files', async () => {
  const installed = join(WORK, 'app', 'node_modules', 'seqbatch');
  mkdirSync(join(installed, 'dist', 'cli'), { recursive: true });
  writeFileSync(join(WORK, 'app', 'package.json'), JSON.stringify({ name: 'my-app' }));
  writeFileSync(join(installed, 'package.json'), JSON.stringify({ name: 'seqbatch', type: 'module' }));
  // A nameless package.json inside dist (as dual builds have) is not the package root.
  writeFileSync(join(installed, 'dist', 'package.json'), JSON.stringify({ type: 'module' }));
  copyFileSync(
    join(REPO_ROOT, 'src', 'cli', 'default-model.ts'),
    join(installed, 'dist', 'cli', 'default-model.ts'),
  );
  const moved = (await import(pathToFileURL(join(installed, 'dist', 'cli', 'default-model.ts')).href)) as {
    defaultModelDir(): string;
  };
  assert.equal(moved.defaultModelDir(), join(installed, 'models', DEFAULT_MODEL_NAME));
});
