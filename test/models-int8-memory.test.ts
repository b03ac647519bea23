/**
 * The int8 memory bound (issue 19, item 3): loading the DistilBERT-base-shaped checkpoint (random weights, written
 * once into a temp dir) for int8 peaks at ≤ 0.6× the RSS of loading it for fp32. Each load runs in a fresh child
 * process (graph built from the weights, no graph cache, one text run, as bench/workers/load-peak.ts does), so
 * nothing else this process allocated counts. The base shape is needed: below it, the fixed cost of Node, tsx and
 * ONNX Runtime (about 150 MiB) dominates both peaks and the ratio says little.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { after, before, describe, test } from 'node:test';
import { makeRandomCheckpoint } from '../scripts/make-random-checkpoint.js';
import { REPO_ROOT, skipUnlessShared } from './helpers/shared.js';

const REFERENCE = ['reference', 'distilbert-base-uncased-finetuned-sst-2-english', 'config.json'];

/** Peak RSS (MiB) of a fresh process that loads `dir` with `options` and classifies one text. */
async function loadPeakMiB(dir: string, options: Record<string, unknown>): Promise<number> {
  const script = `
    import { PreTrainedModel } from ${JSON.stringify(join(REPO_ROOT, 'src/models/auto.ts'))};
    const model = await PreTrainedModel.fromPretrained(${JSON.stringify(dir)}, 'sequence-classification',
      { cacheDir: false, packed: false, threads: 1, ...${JSON.stringify(options)} });
    await model.forward({ input_ids: [[101, 2023, 102]] });
    console.log(JSON.stringify({ peak: process.resourceUsage().maxRSS / 1024 }));
  `;
  const { stdout } = await promisify(execFile)(
    process.execPath,
    ['--import', 'tsx', '--input-type=module', '-e', script],
    { cwd: REPO_ROOT, encoding: 'utf8' },
  );
  return (JSON.parse(stdout.trim().split('\n').pop()!) as { peak: number }).peak;
}

describe('int8 load memory', { skip: skipUnlessShared(...REFERENCE) }, () => {
  let dir = '';
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'seqbatch-int8-memory-'));
    await makeRandomCheckpoint(dir);
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  test('peak RSS of an int8 load <= 0.6x the fp32 load of the base-shaped checkpoint', async () => {
    const fp32 = await loadPeakMiB(dir, {});
    const int8 = await loadPeakMiB(dir, { dtype: 'int8' });
    console.log(
      `# peak RSS: fp32 ${fp32.toFixed(0)} MiB, int8 ${int8.toFixed(0)} MiB (${(int8 / fp32).toFixed(3)}x)`,
    );
    assert.ok(fp32 > 700, `the fp32 load holds the 268 MB checkpoint more than once (${fp32} MiB)`);
    assert.ok(int8 <= 0.6 * fp32, `int8 ${int8.toFixed(0)} MiB over 0.6 x fp32 ${fp32.toFixed(0)} MiB`);
  });
});
