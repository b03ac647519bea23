/**
 * fp16 and bf16 checkpoints (issue 19): a fixture converted in the test to F16 and to BF16 loads in fp32 and in
 * int8. Each equals (≤ 1e-5) its twin, an F32 checkpoint holding the same narrowed values, so widening is exact in
 * both builds; and each is within the documented tolerances of the original fp32 checkpoint's outputs.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { PreTrainedModel, type FromPretrainedOptions, type ModelOutput } from '../src/models/auto.js';
import { halfToFloat } from '../src/weights/dtype.js';
import { loadWeights } from '../src/weights/load.js';
import { supportedModelFixtures } from './helpers/model-fixtures.js';
import {
  float32ToBfloat16Bits,
  float32ToHalfBits,
  writeNarrowedCheckpoint,
  type NarrowDtype,
} from './helpers/narrow-checkpoint.js';
import { INT8_MAX_SHARE, INT8_MEAN_SHARE, outputDifference } from './helpers/output-difference.js';
import { skipUnlessShared } from './helpers/shared.js';

/**
 * How far an fp32 load of a narrowed checkpoint may be from the original fp32 checkpoint, as a share of the largest
 * output: the weights' rounding alone (relative 2⁻¹¹ for fp16, 2⁻⁸ for bf16) through the fixtures' few layers.
 * Measured on the two fixtures below: 0.0020 for fp16, 0.011 for bf16.
 */
const NARROWED_MAX_SHARE: Record<NarrowDtype, number> = { F16: 0.005, BF16: 0.025 };

describe('narrowing float32 for the test checkpoints', () => {
  test('every finite half and bfloat16 converts back to its own bits; ties round to even', () => {
    const bf16 = new Float32Array(1);
    const bf16Bits = new Uint32Array(bf16.buffer);
    for (let b = 0; b < 0x10000; b++) {
      const half = halfToFloat(b);
      if (!Number.isNaN(half)) assert.equal(float32ToHalfBits(half), b, `half 0x${b.toString(16)}`);
      bf16Bits[0] = b << 16;
      if (!Number.isNaN(bf16[0]!))
        assert.equal(float32ToBfloat16Bits(bf16[0]!), b, `bf16 0x${b.toString(16)}`);
    }
    assert.equal(
      float32ToHalfBits(1 + 2 ** -11),
      0x3c00,
      'a tie between 1 and the next half goes to even (1)',
    );
    assert.equal(float32ToHalfBits(1 + 3 * 2 ** -11), 0x3c02, 'and from an odd neighbour up');
    assert.equal(float32ToHalfBits(1e6), 0x7c00, 'overflow is Infinity');
    assert.equal(float32ToBfloat16Bits(1 + 2 ** -8), 0x3f80);
    assert.equal(float32ToBfloat16Bits(1 + 3 * 2 ** -8), 0x3f82);
  });
});

const FIXTURES = ['models/bert-seqcls', 'models/distilbert-mlm'];

describe('fp16 and bf16 checkpoints', { skip: skipUnlessShared('fixtures', 'models') }, () => {
  const root = mkdtempSync(join(tmpdir(), 'seqbatch-half-'));
  after(() => rmSync(root, { recursive: true, force: true }));

  for (const label of FIXTURES) {
    for (const dtype of ['F16', 'BF16'] as const) {
      test(`${label} as ${dtype}: fp32 and int8 loads equal the F32 twin's; within tolerance of fp32`, async () => {
        const fixture = supportedModelFixtures().find((f) => f.label === label)!;
        const narrowDir = join(root, `${fixture.name}-${dtype}`);
        const twinDir = join(root, `${fixture.name}-${dtype}-twin`);
        await writeNarrowedCheckpoint(fixture.dir, dtype, narrowDir, twinDir);
        const stored = await loadWeights(narrowDir, { onDemand: true });
        assert.ok(
          stored.names().every((n) => stored.info(n)!.dtype === dtype || !/weight|bias/.test(n)),
          `every float tensor is ${dtype}`,
        );
        const { cases } = JSON.parse(readFileSync(join(fixture.dir, 'expected.json'), 'utf8')) as {
          cases: { name: string; inputs: Record<string, unknown> }[];
        };
        const run = async (dir: string, options: FromPretrainedOptions): Promise<ModelOutput[]> => {
          const model = await PreTrainedModel.fromPretrained(dir, fixture.task!, {
            cacheDir: false,
            ...options,
          });
          try {
            const outputs = [];
            for (const c of cases) outputs.push(await model.forward(c.inputs as never, { packed: false }));
            return outputs;
          } finally {
            await model.dispose();
          }
        };
        const original = await run(fixture.dir, {});
        for (const options of [{}, { dtype: 'int8' } as const]) {
          const what = `${dtype} ${options.dtype ?? 'fp32'}`;
          const narrowed = await run(narrowDir, options);
          const twin = await run(twinDir, options);
          for (const [i, c] of cases.entries()) {
            const exact = outputDifference(twin[i]!, narrowed[i]!);
            assert.ok(
              exact.max <= 1e-5 * Math.max(1, exact.scale),
              `${what} ${c.name}: vs the twin ${exact.max}`,
            );
            const { max, mean, scale } = outputDifference(original[i]!, narrowed[i]!);
            const share = options.dtype === 'int8' ? INT8_MAX_SHARE : NARROWED_MAX_SHARE[dtype];
            assert.ok(max > 0, `${what} ${c.name}: the narrowed weights change the outputs at all`);
            assert.ok(max <= share * scale, `${what} ${c.name}: max |Δ| ${max} over ${share}·${scale}`);
            if (options.dtype === 'int8') assert.ok(mean <= INT8_MEAN_SHARE * scale, `${what}: mean ${mean}`);
          }
        }
      });
    }
  }
});
