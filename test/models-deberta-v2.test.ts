/**
 * DeBERTa-v2 / v3 (src/models/deberta-v2*.ts): `seqbatch forward` on the fixtures, packed rows against the same
 * sequences alone, the relative-position buckets against HF's formula, and the config errors.
 */
import assert from 'node:assert/strict';
import { PassThrough } from 'node:stream';
import { describe, test } from 'node:test';
import { runForward } from '../src/cli/commands/forward.js';
import { ConfigError } from '../src/errors.js';
import { PreTrainedModel, type ModelOutput } from '../src/models/auto.js';
import { logBucketPosition, relativeIndex, relativeIndexTable } from '../src/models/deberta-v2-attention.js';
import { readDebertaV2Config } from '../src/models/deberta-v2.js';
import { taskFromConfig } from '../src/models/index.js';
import { ConfigReader } from '../src/models/layers/index.js';
import type { FloatTensor } from '../src/runtime/tensor.js';
import { mulberry32 as random } from './helpers/random.js';
import { readSharedJson, sharedPath, skipUnlessShared } from './helpers/shared.js';

const MODELS = 'fixtures/models-2';

interface FixtureCase {
  name: string;
  inputs: Record<string, unknown>;
  options?: { output_hidden_states?: boolean; output_attentions?: boolean };
  outputs: Record<string, unknown>;
}

const flatten = (x: unknown): number[] => (Array.isArray(x) ? x.flatMap(flatten) : [x as number]);

/** The fixtures' tolerance (1e-4 + 1e-4·|expected|) on the nested JSON arrays `seqbatch forward` prints. */
function assertClose(got: unknown, expected: unknown, what: string): void {
  const values = flatten(got);
  const want = flatten(expected);
  assert.equal(values.length, want.length, `${what}: ${values.length} values, expected ${want.length}`);
  want.forEach((e, i) =>
    assert.ok(Math.abs(values[i]! - e) <= 1e-4 + 1e-4 * Math.abs(e), `${what}[${i}]: ${values[i]} vs ${e}`),
  );
}

// Every case of the seven models-2/deberta-v2-* folders runs in models-api.test.ts (the API, hidden states, attentions,
// losses), models-fixtures.test.ts (both lowerings) and models-packed.test.ts (packed against padded).
describe('DeBERTa-v2 through seqbatch forward', { skip: skipUnlessShared(MODELS) }, () => {
  test('seqbatch forward: the token-type pair case and the classifier loss', async () => {
    const run = async (folder: string, caseName: string): Promise<void> => {
      const c = readSharedJson<{ cases: FixtureCase[] }>(MODELS, folder, 'expected.json').cases.find(
        (x) => x.name === caseName,
      )!;
      const stdout = new PassThrough();
      const chunks: Buffer[] = [];
      stdout.on('data', (chunk: Buffer) => chunks.push(chunk));
      const { Readable } = await import('node:stream');
      await runForward(
        { model: sharedPath(MODELS, folder), input: '-', threads: 1, cache: false },
        { stdout, stdin: Readable.from([JSON.stringify(c.inputs)]) },
      );
      const out = JSON.parse(Buffer.concat(chunks).toString('utf8')) as Record<string, unknown>;
      assert.deepEqual(Object.keys(out).sort(), Object.keys(c.outputs).sort(), `${folder}/${caseName}: keys`);
      for (const [key, expected] of Object.entries(c.outputs))
        assertClose(out[key], expected, `${folder}/${caseName}/${key}`);
    };
    await run('deberta-v2-token-types', 'pair_batch');
    await run('deberta-v2-seqcls', 'labels');
  });
});

describe(
  "DeBERTa-v2's own sequence-classification loss without problem_type",
  { skip: skipUnlessShared(MODELS) },
  () => {
    test('negative labels are skipped, one-hot and soft labels take the soft cross-entropy', async () => {
      const c = readSharedJson<{ cases: FixtureCase[] }>(
        MODELS,
        'deberta-v2-seqcls',
        'expected.json',
      ).cases.find((x) => x.name === 'labels')!;
      const model = await PreTrainedModel.fromPretrained(
        sharedPath(MODELS, 'deberta-v2-seqcls'),
        'sequence-classification',
        {
          cacheDir: false,
          threads: 1,
        },
      );
      try {
        const inputs = { input_ids: c.inputs.input_ids, attention_mask: c.inputs.attention_mask };
        const ids = c.inputs.labels as number[];
        const plain = await model.forward({ ...inputs, labels: ids } as never);
        assert.ok(Math.abs(plain.loss! - (c.outputs.loss as number)) <= 1e-4, 'class ids: the fixture loss');
        // log_softmax of each row, in float64 from the logits the model returned.
        const logits = plain.logits!;
        const classes = logits.dims[1]!;
        const logSoftmax = (r: number): number[] => {
          const row = [...logits.data.subarray(r * classes, (r + 1) * classes)];
          const max = Math.max(...row);
          const log = max + Math.log(row.reduce((s, x) => s + Math.exp(x - max), 0));
          return row.map((x) => x - log);
        };
        const softLoss = (targets: number[][]): number =>
          -targets.reduce((sum, t, r) => sum + t.reduce((s, p, k) => s + p * logSoftmax(r)[k]!, 0), 0) /
          targets.length;

        const skipped = await model.forward({
          ...inputs,
          labels: ids.map((l, r) => (r === 1 ? -1 : l)),
        } as never);
        const kept = [0, 2].map((r) => -logSoftmax(r)[ids[r]!]!);
        assert.ok(
          Math.abs(skipped.loss! - (kept[0]! + kept[1]!) / 2) <= 1e-6,
          `skipped row: ${skipped.loss}`,
        );
        const none = await model.forward({ ...inputs, labels: ids.map(() => -1) } as never);
        assert.equal(none.loss, 0, 'no labelled row: 0');

        const oneHot = ids.map((l) => Array.from({ length: classes }, (_, k) => (k === l ? 1 : 0)));
        const hot = await model.forward({ ...inputs, labels: oneHot } as never);
        assert.ok(
          Math.abs(hot.loss! - plain.loss!) <= 1e-6,
          `one-hot ${hot.loss} vs class ids ${plain.loss}`,
        );
        const soft = ids.map((_, r) => [0.2, 0.5, 0.3].map((p, k) => (r === k ? p + 0.1 : p) / 1.1));
        const got = await model.forward({ ...inputs, labels: soft } as never);
        assert.ok(
          Math.abs(got.loss! - softLoss(soft)) <= 1e-6,
          `soft labels ${got.loss} vs ${softLoss(soft)}`,
        );
      } finally {
        await model.dispose();
      }
    });
  },
);

describe(
  'DeBERTa-v2 packed: a row of a packed batch equals the sequence alone',
  { skip: skipUnlessShared(MODELS) },
  () => {
    // The conv layer, absolute positions with token types, a pooled head and a per-token head; 9 rows of 1–60 tokens,
    // so the length groups hold several rows with filler, and distances reach the log buckets and the clamp.
    for (const folder of [
      'deberta-v2-conv',
      'deberta-v2-token-types',
      'deberta-v2-seqcls',
      'deberta-v2-mlm',
    ]) {
      test(folder, async () => {
        const dir = sharedPath(MODELS, folder);
        const config = readSharedJson<{ vocab_size: number; type_vocab_size: number }>(
          MODELS,
          folder,
          'config.json',
        );
        const task = taskFromConfig(config as never);
        const model = await PreTrainedModel.fromPretrained(dir, task, {
          cacheDir: false,
          threads: 1,
          outputHiddenStates: true,
        });
        try {
          const rand = random(folder.length);
          const lengths = Array.from({ length: 9 }, () => 1 + Math.floor(rand() * 60));
          const seq = Math.max(...lengths);
          const rows = lengths.map((n) =>
            Array.from({ length: n }, () => 5 + Math.floor(rand() * (config.vocab_size - 5))),
          );
          const types = rows.map((row) =>
            row.map((_, j) => (config.type_vocab_size > 0 && j >= row.length / 2 ? 1 : 0)),
          );
          const padRow = (row: number[]): number[] => [...row, ...Array<number>(seq - row.length).fill(0)];
          const batch: Record<string, number[][]> = {
            input_ids: rows.map(padRow),
            attention_mask: rows.map((row) => padRow(row.map(() => 1))),
          };
          if (config.type_vocab_size > 0) batch.token_type_ids = types.map(padRow);
          const packed = await model.forward(batch as never, { packed: true });
          assert.equal(model.packedRuns, 1, 'the batch ran packed');
          let worst = 0;
          for (let r = 0; r < rows.length; r++) {
            const alone: Record<string, number[][]> = { input_ids: [rows[r]!] };
            if (config.type_vocab_size > 0) alone.token_type_ids = [types[r]!];
            const single = await model.forward(alone as never, { packed: false });
            for (const [key, value] of Object.entries(single) as [
              keyof ModelOutput,
              FloatTensor | FloatTensor[],
            ][]) {
              const pairs = Array.isArray(value)
                ? value.map((t, i) => [t, (packed[key] as FloatTensor[])[i]!] as const)
                : [[value, packed[key] as FloatTensor] as const];
              for (const [one, many] of pairs) {
                // Per-token outputs are [batch, seq, …] (row r's first lengths[r] positions); sequence logits are [batch, labels].
                const perToken = one.dims.length >= 3;
                const width = perToken ? one.data.length / lengths[r]! : one.data.length;
                const offset = perToken ? r * seq * width : r * width;
                for (let i = 0; i < one.data.length; i++) {
                  const diff = Math.abs(one.data[i]! - many.data[offset + i]!);
                  worst = Math.max(worst, diff);
                  if (!(diff <= 1e-5))
                    assert.fail(
                      `${folder} row ${r} ${key}[${i}]: alone ${one.data[i]}, packed ${many.data[offset + i]}`,
                    );
                }
              }
            }
          }
          console.log(`# ${folder}: packed rows vs alone, max |diff| ${worst.toExponential(2)}`);
        } finally {
          await model.dispose();
        }
      });
    }
  },
);

describe('relative positions (make_log_bucket_position, build_relative_position)', () => {
  // HF's formula in float64: sign(d)·(ceil(log(|d|/mid) / log((max-1)/mid) · (mid-1)) + mid) outside ±mid.
  const float64Bucket = (d: number, buckets: number, max: number): number => {
    const mid = Math.floor(buckets / 2);
    if (Math.abs(d) <= mid) return d;
    return (
      Math.sign(d) * (Math.ceil((Math.log(Math.abs(d) / mid) / Math.log((max - 1) / mid)) * (mid - 1)) + mid)
    );
  };

  test('DeBERTa-v3 shapes (256 buckets over 512 positions) and the fixtures (8 over 64) agree with the formula', () => {
    for (const [buckets, max] of [
      [256, 512],
      [8, 64],
    ] as const) {
      let disagreements = 0;
      for (let d = -3 * max; d <= 3 * max; d++) {
        const got = logBucketPosition(d, buckets, max);
        assert.equal(logBucketPosition(-d, buckets, max), -got, `odd at ${d}`);
        // float32 and float64 may only part where the quotient sits within float32 rounding of an integer.
        if (got !== float64Bucket(d, buckets, max)) disagreements++;
      }
      assert.ok(disagreements <= 2, `${buckets}/${max}: ${disagreements} distances differ from float64`);
      assert.equal(logBucketPosition(max - 1, buckets, max), buckets - 1, 'max - 1 lands in the last bucket');
    }
  });

  test('the index table clamps like HF, stays monotone, and saturates at its reach', () => {
    const config = { positionBuckets: 8, maxRelativePositions: 64 };
    const { table, reach } = relativeIndexTable(config, 'config.json');
    assert.equal(table.length, 2 * reach + 1);
    for (let d = -reach; d < reach; d++)
      assert.ok(table[d + reach]! <= table[d + reach + 1]!, `monotone at ${d}`);
    assert.equal(Number(table[0]), 0);
    assert.equal(Number(table[2 * reach]), 15);
    // Past the reach the index no longer moves (so the graph clips distances to ±reach).
    for (const d of [reach + 1, 5 * reach, 1000]) {
      assert.equal(relativeIndex(d, config), 15);
      assert.equal(relativeIndex(-d, config), 0);
    }
    // Without buckets the index is the distance shifted by the span and clamped.
    const plain = { positionBuckets: -1, maxRelativePositions: 6 };
    assert.deepEqual(
      [-9, -6, -5, 0, 5, 6, 9].map((d) => relativeIndex(d, plain)),
      [0, 0, 1, 6, 11, 11, 11],
    );
    assert.equal(relativeIndexTable(plain, 'config.json').reach, 6);
  });
});

describe('DeBERTa-v2 config errors name the field', () => {
  const base = {
    model_type: 'deberta-v2',
    hidden_size: 32,
    num_attention_heads: 4,
    relative_attention: true,
    position_buckets: 8,
    max_position_embeddings: 64,
  };
  const fails = (patch: Record<string, unknown>, field: string, pattern: RegExp) =>
    assert.throws(
      () => {
        const config = readDebertaV2Config(new ConfigReader({ ...base, ...patch }));
        relativeIndexTable(config, 'config.json');
      },
      (e: unknown) => e instanceof ConfigError && e.field === field && pattern.test(e.message),
    );

  test('pos_att_type, conv_kernel_size, pooler_hidden_size, attention_head_size, position_buckets', () => {
    fails({ pos_att_type: ['c2p', 'p2x'] }, 'pos_att_type', /"c2p" \/ "p2c"/);
    fails({ pos_att_type: 3 }, 'pos_att_type', /expected a list/);
    fails({ conv_kernel_size: 4 }, 'conv_kernel_size', /odd kernel size, got 4/);
    fails({ conv_groups: 5 }, 'conv_groups', /not a multiple of 5 groups/);
    fails({ pooler_hidden_size: 16 }, 'pooler_hidden_size', /differs from hidden_size 32/);
    fails(
      { attention_head_size: 16 },
      'attention_head_size',
      /only hidden_size \/ num_attention_heads \(8\)/,
    );
    fails({ position_buckets: 200 }, 'position_buckets', /need max_relative_positions/);
    fails({ conv_act: 'mish' }, 'conv_act', /unsupported activation/);
  });

  test('the string form of pos_att_type and norm_rel_ebd reads as HF reads it', () => {
    const config = readDebertaV2Config(
      new ConfigReader({ ...base, pos_att_type: 'P2C | c2p', norm_rel_ebd: 'layer_norm|none' }),
    );
    assert.equal(config.c2p, true);
    assert.equal(config.p2c, true);
    assert.equal(config.normRelativeEmbeddings, true);
    assert.equal(
      config.maxRelativePositions,
      64,
      'max_relative_positions < 1 falls back to max_position_embeddings',
    );
    const noPositions = readDebertaV2Config(new ConfigReader({ ...base, pos_att_type: ['p2p'] }));
    assert.equal(noPositions.c2p || noPositions.p2c, false);
  });
});
