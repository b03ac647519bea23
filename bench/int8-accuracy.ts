/**
 * int8 accuracy of the two weight schemes against fp32, in one run (issue 19: "symmetric or asymmetric as
 * measured best"):
 *
 *   npx tsx bench/int8-accuracy.ts [--stsb 3000]
 *
 * * every fixture checkpoint (tiny random models) on its expected.json inputs: max and mean |Δ| of every output
 *   over max |fp32 output|, per scheme;
 * * the demo model on the 872 SST-2 dev sentences: label agreement with fp32, accuracy, max and mean |Δlogit|,
 *   with the default `int8Exclude` and with every Linear quantized;
 * * the demo model's mean-pooled embeddings of STS-B dev sentences: cosine to fp32 (min, mean).
 *
 * Prints Markdown; writes bench/out/int8-accuracy.json.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { compareEmbeddings, compareLabels } from '../src/cli/commands/bench-dtype.js';
import { PreTrainedModel, type FromPretrainedOptions } from '../src/models/auto.js';
import { INT8_WEIGHT_SCHEMES, type Int8WeightScheme } from '../src/models/layers/int8.js';
import { pipeline } from '../src/pipelines/index.js';
import { supportedModelFixtures } from '../test/helpers/model-fixtures.js';
import { outputDifference } from '../test/helpers/output-difference.js';
import { REPO_ROOT } from './lib/child.js';
import { readSst2Labels, readSst2Sentences, sharedPath } from './lib/data.js';
import { machineInfo, machineMarkdown } from './lib/machine.js';
import { log, writeJsonResult } from './lib/output.js';
import { markdownTable, median } from './lib/stats.js';

const { values: opts } = parseArgs({ options: { stsb: { type: 'string', default: '3000' } } });
const DEMO = join(REPO_ROOT, 'models', 'seqbatch-demo-sst2');
const int8 = (scheme: Int8WeightScheme, extra: FromPretrainedOptions = {}): FromPretrainedOptions => ({
  dtype: 'int8',
  int8Weights: scheme,
  ...extra,
});
const fmt = (x: number): string => x.toExponential(2);
const sections = ['## int8 weight schemes: accuracy against fp32 (bench/int8-accuracy.ts)', ''];
sections.push(machineMarkdown(machineInfo(['onnxruntime-node'])), '');

// 1. The fixtures: the worst case of each checkpoint, relative to its largest fp32 output.
log('fixtures');
const fixtureRows: { fixture: string; scheme: Int8WeightScheme; maxRel: number; meanRel: number }[] = [];
for (const fixture of supportedModelFixtures()) {
  const { cases } = JSON.parse(readFileSync(join(fixture.dir, 'expected.json'), 'utf8')) as {
    cases: { inputs: Record<string, unknown> }[];
  };
  const load = (options: FromPretrainedOptions) =>
    PreTrainedModel.fromPretrained(fixture.dir, fixture.task!, { cacheDir: false, ...options });
  const fp32 = await load({});
  for (const scheme of INT8_WEIGHT_SCHEMES) {
    const model = await load(int8(scheme));
    let [maxRel, meanRel] = [0, 0];
    for (const c of cases) {
      const want = await fp32.forward(c.inputs as never, { packed: false });
      const got = await model.forward(c.inputs as never, { packed: false });
      const d = outputDifference(want, got);
      maxRel = Math.max(maxRel, d.max / d.scale);
      meanRel = Math.max(meanRel, d.mean / d.scale);
    }
    fixtureRows.push({ fixture: fixture.label, scheme, maxRel, meanRel });
    await model.dispose();
  }
  await fp32.dispose();
}
const byFixture = new Map<string, Partial<Record<Int8WeightScheme, { maxRel: number; meanRel: number }>>>();
for (const r of fixtureRows) byFixture.set(r.fixture, { ...byFixture.get(r.fixture), [r.scheme]: r });
const ratios = [...byFixture.values()].map((r) => r.asymmetric!.maxRel / r.symmetric!.maxRel);
const meanRatios = [...byFixture.values()].map((r) => r.asymmetric!.meanRel / r.symmetric!.meanRel);
sections.push(
  `### Fixtures (${byFixture.size} tiny random checkpoints, their expected.json inputs; worst case of each, ` +
    '|Δ| over max |fp32 output|)',
  '',
  markdownTable(
    ['fixture', 'symmetric max', 'asymmetric max', 'symmetric mean', 'asymmetric mean'],
    [...byFixture].map(([name, r]) => [
      name,
      fmt(r.symmetric!.maxRel),
      fmt(r.asymmetric!.maxRel),
      fmt(r.symmetric!.meanRel),
      fmt(r.asymmetric!.meanRel),
    ]),
  ),
  '',
  `asymmetric ÷ symmetric, median over the fixtures: max |Δ| ${median(ratios).toFixed(3)}, mean |Δ| ` +
    `${median(meanRatios).toFixed(3)}; asymmetric has the smaller max on ${ratios.filter((r) => r < 1).length} ` +
    `of ${ratios.length}.`,
  '',
);

// 2. The demo model on SST-2 dev.
log('SST-2 dev');
const texts = readSst2Sentences('dev');
const labels = readSst2Labels('dev').map(String);
const logitsOf = async (options: FromPretrainedOptions): Promise<number[][]> => {
  const classify = await pipeline('text-classification', DEMO, { cacheDir: false, ...options });
  try {
    const out = await classify.run(texts, { returnLogits: true });
    return out.map((r) => (r as { logits: number[] }).logits);
  } finally {
    await classify.dispose();
  }
};
const fp32Logits = await logitsOf({});
const labelRows = [];
for (const exclude of [undefined, []] as const) {
  for (const scheme of INT8_WEIGHT_SCHEMES) {
    const c = compareLabels(
      fp32Logits,
      await logitsOf(int8(scheme, exclude ? { int8Exclude: exclude } : {})),
      { 0: 'NEGATIVE', 1: 'POSITIVE' },
      labels,
    );
    labelRows.push({ scheme, exclude: exclude ? 'none' : 'default', ...c });
  }
}
sections.push(
  `### Demo model, SST-2 dev (${texts.length} sentences)`,
  '',
  markdownTable(
    [
      'weights',
      'int8Exclude',
      'labels = fp32',
      'accuracy fp32',
      'accuracy int8',
      'max |Δlogit|',
      'mean |Δlogit|',
    ],
    labelRows.map((r) => [
      r.scheme,
      r.exclude,
      `${(100 * r.agreement).toFixed(2)}%`,
      `${(100 * r.accuracyFp32!).toFixed(2)}%`,
      `${(100 * r.accuracyInt8!).toFixed(2)}%`,
      r.maxAbsLogitDelta.toFixed(4),
      r.meanAbsLogitDelta.toFixed(5),
    ]),
  ),
  '',
);

// 3. The demo model's embeddings of STS-B dev sentences.
log('STS-B');
const sentences = readFileSync(sharedPath('datasets', 'stsb', 'dev.tsv'), 'utf8')
  .split('\n')
  .slice(1)
  .filter((line) => line.trim() !== '')
  .flatMap((line) => line.split('\t').slice(7, 9))
  .slice(0, Number(opts.stsb));
const embed = async (options: FromPretrainedOptions): Promise<number[][]> => {
  const run = await pipeline('feature-extraction', DEMO, { cacheDir: false, pooling: 'mean', ...options });
  try {
    return (await run.run(sentences)) as number[][];
  } finally {
    await run.dispose();
  }
};
const fp32Vectors = await embed({});
const cosineRows = [];
for (const scheme of INT8_WEIGHT_SCHEMES) {
  cosineRows.push({ scheme, ...compareEmbeddings(fp32Vectors, await embed(int8(scheme))) });
}
sections.push(
  `### Demo model, mean-pooled embeddings of ${sentences.length} STS-B dev sentences`,
  '',
  markdownTable(
    ['weights', 'mean cosine to fp32', 'min cosine', '1 − mean cosine'],
    cosineRows.map((r) => [r.scheme, r.meanCosine.toFixed(6), r.minCosine.toFixed(6), fmt(1 - r.meanCosine)]),
  ),
  '',
);
process.stdout.write(sections.join('\n'));
log(`wrote ${writeJsonResult('int8-accuracy', { fixtureRows, labelRows, cosineRows })}`);
