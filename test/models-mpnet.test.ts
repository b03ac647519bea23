/**
 * MPNet beyond the shared fixture loops (models-fixtures, models-api, models-packed run its folders too): the
 * relative position buckets against exact integer arithmetic, `seqbatch forward` on every case of every MPNet
 * fixture, rows of padded and packed batches against the same sequences alone at lengths that reach the
 * log-spaced buckets, and the config and input errors.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { after, describe, test } from 'node:test';
import { runForward } from '../src/cli/commands/forward.js';
import { ConfigError, InputError } from '../src/errors.js';
import { PreTrainedModel } from '../src/models/auto.js';
import { AutoConfig } from '../src/models/config.js';
import { buildModelGraph, defaultPositionIds, maxSequenceLength } from '../src/models/index.js';
import { relativePositionBucket } from '../src/models/mpnet.js';
import type { IntMatrix } from '../src/runtime/inputs.js';
import { packBatch, unpackTokens } from '../src/runtime/packed.js';
import { OnnxSession } from '../src/runtime/session.js';
import { FloatTensor } from '../src/runtime/tensor.js';
import { loadWeights } from '../src/weights/load.js';
import { mulberry32 as random } from './helpers/random.js';
import { readSharedJson, sharedPath, skipUnlessShared } from './helpers/shared.js';

const MODELS = 'fixtures/models-2';
const FOLDERS = ['mpnet-model', 'mpnet-seqcls', 'mpnet-tokcls', 'mpnet-qa', 'mpnet-mlm'];
const skip = skipUnlessShared(MODELS, 'mpnet-model');
const tmp = mkdtempSync(join(tmpdir(), 'seqbatch-mpnet-'));
after(() => rmSync(tmp, { recursive: true, force: true }));

interface FixtureCase {
  name: string;
  inputs: Record<string, unknown>;
  options?: { output_hidden_states?: boolean; output_attentions?: boolean };
  outputs: Record<string, unknown>;
}

const flatten = (x: unknown): number[] => (Array.isArray(x) ? x.flatMap(flatten) : [x as number]);

function assertClose(got: unknown, expected: unknown, what: string, atol: number, rtol: number): void {
  const g = flatten(got);
  const e = flatten(expected);
  assert.equal(g.length, e.length, `${what}: ${g.length} values, expected ${e.length}`);
  for (let i = 0; i < e.length; i++) {
    if (!(Math.abs(g[i]! - e[i]!) <= atol + rtol * Math.abs(e[i]!)))
      assert.fail(`${what}[${i}]: ${g[i]} vs ${e[i]}`);
  }
}

/**
 * The bucket of relative position `r` (key − query) with 32 buckets and max distance 128, from the definition in
 * integer arithmetic: 16 buckets per direction (keys after the query in the upper half); distances below 8 have
 * their own bucket; a longer distance n takes 8 + k for the largest k with 8·2^(k/2) ≤ n, i.e. n² ≥ 64·2^k, capped
 * at 15.
 */
function exactBucket(r: number): number {
  const direction = r > 0 ? 16 : 0;
  const n = Math.abs(r);
  if (n < 8) return direction + n;
  let k = 0;
  while (n * n >= 64 * 2 ** (k + 1)) k++;
  return direction + Math.min(8 + k, 15);
}

test('relative position buckets equal the exact definition at every distance (float32 steps as in torch)', () => {
  for (let r = -1000; r <= 1000; r++)
    assert.equal(relativePositionBucket(r), exactBucket(r), `relative ${r}`);
  // The boundaries where the logarithm's quotient is a whole number.
  assert.deepEqual(
    [16, 32, 64, 128].map((n) => relativePositionBucket(-n)),
    [10, 12, 14, 15],
  );
  assert.equal(relativePositionBucket(1), 17);
  assert.equal(relativePositionBucket(0), 0);
});

/** Runs `seqbatch forward` in process and parses its one line of JSON. */
async function forwardJson(
  model: string,
  inputs: unknown,
  options: FixtureCase['options'],
): Promise<Record<string, unknown>> {
  const input = join(tmp, 'input.json');
  writeFileSync(input, JSON.stringify(inputs));
  const stdout = new PassThrough();
  const chunks: Buffer[] = [];
  stdout.on('data', (c: Buffer) => chunks.push(c));
  await runForward(
    {
      model,
      input,
      threads: 1,
      cache: false,
      outputHiddenStates: options?.output_hidden_states,
      outputAttentions: options?.output_attentions,
    },
    { stdout },
  );
  return JSON.parse(Buffer.concat(chunks).toString('utf8')) as Record<string, unknown>;
}

describe('MPNet', { skip }, () => {
  test('seqbatch forward reproduces every case of every MPNet fixture (outputs, hidden states, attentions, losses)', async () => {
    for (const folder of FOLDERS) {
      const { cases } = readSharedJson<{ cases: FixtureCase[] }>(MODELS, folder, 'expected.json');
      for (const c of cases) {
        const out = await forwardJson(sharedPath(MODELS, folder), c.inputs, c.options);
        assert.deepEqual(
          Object.keys(out).sort(),
          Object.keys(c.outputs).sort(),
          `${folder}/${c.name}: output names`,
        );
        for (const [key, expected] of Object.entries(c.outputs)) {
          const attention = key === 'attentions';
          assertClose(
            out[key],
            expected,
            `${folder}/${c.name}/${key}`,
            attention ? 1e-5 : 1e-4,
            attention ? 0 : 1e-4,
          );
        }
      }
    }
  });

  test('rows of padded and packed batches equal each sequence alone, at lengths reaching the log-spaced buckets', async () => {
    const dir = sharedPath(MODELS, 'mpnet-model');
    const config = readSharedJson<Record<string, unknown>>(MODELS, 'mpnet-model', 'config.json');
    const limit = maxSequenceLength(config); // 64 positions − 2: distances up to 61 (buckets 8 … 14)
    assert.equal(limit, 62);
    const rand = random(16);
    const lengths = [limit, 45, 33, 17, 9, 2];
    const rows = lengths.map((n) =>
      Array.from({ length: n }, (_, j) => (j === 0 ? 0 : j === n - 1 ? 2 : 3 + Math.floor(rand() * 110))),
    );
    const padRight = (row: number[], fill: number) => [
      ...row,
      ...Array<number>(limit - row.length).fill(fill),
    ];
    const padLeft = (row: number[], fill: number) => [
      ...Array<number>(limit - row.length).fill(fill),
      ...row,
    ];
    for (const contribOps of [true, false]) {
      const model = await PreTrainedModel.fromPretrained(dir, 'base', { cacheDir: false, threads: 1 });
      const standard = contribOps ? null : await standardOpsModel(dir, config);
      const run =
        standard?.run ??
        ((inputs: { input_ids: number[][]; attention_mask: number[][] }, packed: boolean) =>
          model.forward(inputs, { packed }).then((o) => o.last_hidden_state!));
      try {
        const alone = await Promise.all(
          rows.map((row) => run({ input_ids: [row], attention_mask: [row.map(() => 1)] }, false)),
        );
        const right = {
          input_ids: rows.map((r) => padRight(r, 1)),
          attention_mask: rows.map((r) =>
            padRight(
              r.map(() => 1),
              0,
            ),
          ),
        };
        const left = {
          input_ids: rows.map((r) => padLeft(r, 1)),
          attention_mask: rows.map((r) =>
            padLeft(
              r.map(() => 1),
              0,
            ),
          ),
        };
        const batches = [
          ['padded (right)', await run(right, false), 0],
          ['packed', await run(right, true), 0],
          ['padded (left)', await run(left, false), 1],
        ] as const;
        for (const [layout, batch, leftPadded] of batches) {
          rows.forEach((row, b) => {
            const width = 32;
            const start = leftPadded ? limit - row.length : 0;
            const got = batch.data.subarray(
              (b * limit + start) * width,
              (b * limit + start + row.length) * width,
            );
            const want = alone[b]!.data;
            assertClose(
              [...got],
              [...want],
              `${contribOps ? 'contrib' : 'standard'} ${layout} row ${b}`,
              1e-5,
              0,
            );
          });
        }
      } finally {
        await model.dispose();
        await standard?.release();
      }
    }
  });

  test('config and input errors name the field or argument', async () => {
    const config = readSharedJson<Record<string, unknown>>(MODELS, 'mpnet-model', 'config.json');
    const weights = await loadWeights(sharedPath(MODELS, 'mpnet-model'));
    assert.throws(
      () => buildModelGraph({ ...config, relative_attention_num_buckets: 16 }, weights, { task: 'base' }),
      (e: unknown) =>
        e instanceof ConfigError &&
        e.field === 'relative_attention_num_buckets' &&
        /at least 32/.test(e.message),
    );
    assert.throws(
      () => buildModelGraph(config, weights, { task: 'base', inputs: { tokenTypeIds: true } }),
      (e: unknown) => e instanceof InputError && e.argument === 'inputs.tokenTypeIds',
    );
    // MPNetEmbeddings counts positions from padding_idx 1 whatever pad_token_id says.
    assert.deepEqual(defaultPositionIds({ ...config, pad_token_id: 0 }, [[0, 5, 2, 1]]), [[2, 3, 4, 1]]);
    assert.equal(maxSequenceLength({ ...config, pad_token_id: 0 }), 62);
    assert.equal(AutoConfig.fromPretrained(sharedPath(MODELS, 'mpnet-model')).typeVocabSize, 0);
    const model = await PreTrainedModel.fromPretrained(sharedPath(MODELS, 'mpnet-model'), 'base', {
      cacheDir: false,
      threads: 1,
    });
    try {
      await assert.rejects(
        model.forward({ input_ids: [[0, 5, 2]], token_type_ids: [[0, 0, 0]] }),
        (e: unknown) => e instanceof InputError && e.argument === 'token_type_ids',
      );
    } finally {
      await model.dispose();
    }
  });
});

/**
 * The standard-op lowering (no com.microsoft kernels, which the API always uses) of `dir`'s base model, padded or
 * packed: `run(inputs, packed)` gives `last_hidden_state` in the padded [batch, seq, hidden] layout.
 */
async function standardOpsModel(dir: string, config: Record<string, unknown>) {
  const weights = await loadWeights(dir);
  const sessions = await Promise.all(
    [false, true].map(async (packed) =>
      OnnxSession.create(
        buildModelGraph(config, weights, {
          task: 'base',
          contribOps: false,
          packed,
          inputs: { positionIds: true },
        }).bytes,
        { threads: 1 },
        dir,
      ),
    ),
  );
  const run = async (
    inputs: { input_ids: number[][]; attention_mask: number[][] },
    packed: boolean,
  ): Promise<FloatTensor> => {
    const matrix = (rows: number[][]): IntMatrix => ({
      data: BigInt64Array.from(rows.flat(), BigInt),
      dims: [rows.length, rows[0]!.length],
    });
    const ids = matrix(inputs.input_ids);
    const mask = matrix(inputs.attention_mask);
    const positions = matrix(defaultPositionIds(config, inputs.input_ids));
    if (!packed) {
      const out = await sessions[0]!.run({
        input_ids: { type: 'int64', ...ids },
        attention_mask: { type: 'int64', ...mask },
        position_ids: { type: 'int64', ...positions },
      });
      const t = out.last_hidden_state!;
      return new FloatTensor(t.data as Float32Array, [...t.dims]);
    }
    const plan = packBatch(ids, mask, positions, null);
    const t = (await sessions[1]!.run(plan.feeds)).last_hidden_state!;
    const u = unpackTokens(t.data as Float32Array, t.dims, plan);
    return new FloatTensor(u.data as Float32Array, [...u.dims]);
  };
  return { run, release: () => Promise.all(sessions.map((s) => s.release())) };
}
