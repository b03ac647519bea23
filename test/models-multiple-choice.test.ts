/**
 * Multiple choice for the architectures without a PyTorch fixture of their own (BERT's is
 * fixtures/models-2/bert-multiple-choice, run by models-fixtures and models-api). Each base-model fixture becomes a
 * `*ForMultipleChoice` checkpoint by adding seeded head weights; the reference is the base model (itself checked
 * against PyTorch by the fixture tests) followed by the HF head written out here in plain TypeScript: pooler →
 * classifier (BERT, ALBERT, RoBERTa, CamemBERT, Longformer, MPNet), first token → pre_classifier → ReLU →
 * classifier (DistilBERT), first token → SequenceSummary dense → gelu → classifier (ELECTRA), ContextPooler → classifier
 * (DeBERTa-v2). Longformer's reference passes the global attention HF defaults to (the question tokens) explicitly.
 */
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { ConfigError, InputError } from '../src/errors.js';
import { AutoModel, AutoModelForMultipleChoice, hasPackedGraph } from '../src/models/auto.js';
import { loadWeights } from '../src/weights/load.js';
import { serializeSafetensors, type TensorToWrite } from '../src/weights/write.js';
import { mulberry32 } from './helpers/random.js';
import { sharedPath, skipUnlessShared } from './helpers/shared.js';

const skip = skipUnlessShared('fixtures', 'models-2');
const workDir = mkdtempSync(join(tmpdir(), 'seqbatch-multiple-choice-'));
after(() => rmSync(workDir, { recursive: true, force: true }));

type Vector = Float64Array;
type Head = 'pooler' | 'distilbert' | 'electra' | 'deberta' | 'modernbert';
/** How a row's hidden states become the head's input (besides the poolers of the 'pooler' head). */
type Summary = 'first' | 'last' | 'mean' | 'first-attended' | 'attended-mean';

interface Case {
  fixture: string;
  className: string;
  head: Head;
  summary?: Summary;
  /** config.json fields set on top of the fixture's. */
  config?: Record<string, unknown>;
}

const CASES: Case[] = [
  { fixture: 'models/bert-model', className: 'BertForMultipleChoice', head: 'pooler' },
  { fixture: 'models/albert-model', className: 'AlbertForMultipleChoice', head: 'pooler' },
  { fixture: 'models/roberta-model', className: 'RobertaForMultipleChoice', head: 'pooler' },
  { fixture: 'models-2/camembert-model', className: 'CamembertForMultipleChoice', head: 'pooler' },
  { fixture: 'models/longformer-model', className: 'LongformerForMultipleChoice', head: 'pooler' },
  { fixture: 'models-2/mpnet-model', className: 'MPNetForMultipleChoice', head: 'pooler' },
  { fixture: 'models/distilbert-model', className: 'DistilBertForMultipleChoice', head: 'distilbert' },
  { fixture: 'models/electra-model', className: 'ElectraForMultipleChoice', head: 'electra' },
  { fixture: 'models-2/deberta-v2-model', className: 'DebertaV2ForMultipleChoice', head: 'deberta' },
  // SequenceSummary's other types read the padded tensor as HF does: padded graph only.
  ...(['last', 'mean', 'cls_index'] as const).map((type): Case => ({
    fixture: 'models/electra-model',
    className: 'ElectraForMultipleChoice',
    head: 'electra',
    summary: type === 'cls_index' ? 'last' : type,
    config: { summary_type: type },
  })),
  // ModernBertForMultipleChoice (transformers ≥ 4.50): cls reads each row's first attended token.
  {
    fixture: 'models-2/modernbert-model',
    className: 'ModernBertForMultipleChoice',
    head: 'modernbert',
    summary: 'first-attended',
  },
  {
    fixture: 'models-2/modernbert-model',
    className: 'ModernBertForMultipleChoice',
    head: 'modernbert',
    summary: 'attended-mean',
    config: { classifier_pooling: 'mean' },
  },
];

/** SequenceSummary's "last" and "mean" read padding positions. */
const readsPadding = (c: Case): boolean => c.summary === 'last' || c.summary === 'mean';

/** A case's test name and folder name. */
function caseName(c: Case): string {
  return c.config ? `${c.fixture} ${JSON.stringify(c.config)}` : c.fixture;
}

/** Seeded head weights: name → [shape, values]. */
function headWeights(head: Head, h: number, seed: number): Map<string, [number[], Float32Array]> {
  const random = mulberry32(seed);
  const values = (n: number) => Float32Array.from({ length: n }, () => (random() - 0.5) * 0.8);
  const out = new Map<string, [number[], Float32Array]>();
  const dense = (name: string) => {
    out.set(`${name}.weight`, [[h, h], values(h * h)]);
    out.set(`${name}.bias`, [[h], values(h)]);
  };
  if (head === 'distilbert') dense('pre_classifier');
  if (head === 'electra') dense('sequence_summary.summary');
  if (head === 'deberta') dense('pooler.dense');
  if (head === 'modernbert') {
    // ModernBertPredictionHead without biases (the fixture's classifier_bias and norm_bias are false).
    out.set('head.dense.weight', [[h, h], values(h * h)]);
    out.set('head.norm.weight', [[h], Float32Array.from(values(h), (v) => 1 + v)]);
  }
  out.set('classifier.weight', [[1, h], values(h)]);
  out.set('classifier.bias', [[1], values(1)]);
  return out;
}

/** The base fixture's folder with `architectures` set to the multiple-choice class and the head weights added. */
async function multipleChoiceCheckpoint(
  c: Case,
  head: Map<string, [number[], Float32Array]>,
): Promise<string> {
  const source = sharedPath('fixtures', c.fixture);
  const dir = join(workDir, caseName(c).replace(/[^a-z0-9-]+/gi, '-'));
  mkdirSync(dir, { recursive: true });
  const config = JSON.parse(readFileSync(join(source, 'config.json'), 'utf8')) as Record<string, unknown>;
  writeFileSync(
    join(dir, 'config.json'),
    JSON.stringify({ ...config, ...c.config, architectures: [c.className] }),
  );
  const base = await loadWeights(source);
  const tensors: TensorToWrite[] = base.names().map((name) => {
    const { shape, data } = base.getFloat32(name);
    return { name, dtype: 'F32', shape, data };
  });
  for (const [name, [shape, data]] of head) tensors.push({ name, dtype: 'F32', shape, data });
  writeFileSync(join(dir, 'model.safetensors'), serializeSafetensors(tensors, { format: 'pt' }));
  return dir;
}

/** W x + b for a torch Linear stored [out, in]. */
function linear(x: Vector, weight: Float32Array, bias: Float32Array): Vector {
  const out = new Float64Array(bias.length);
  for (let o = 0; o < bias.length; o++) {
    let sum = bias[o]!;
    for (let i = 0; i < x.length; i++) sum += weight[o * x.length + i]! * x[i]!;
    out[o] = sum;
  }
  return out;
}

/** erf by Abramowitz–Stegun 7.1.26 (|error| < 1.5e-7), for the exact (erf) GELU. */
function erf(x: number): number {
  const t = 1 / (1 + 0.3275911 * Math.abs(x));
  const y =
    1 -
    ((((1.061405429 * t - 1.453152027) * t + 1.421413741) * t - 0.284496736) * t + 0.254829592) *
      t *
      Math.exp(-x * x);
  return x >= 0 ? y : -y;
}
const gelu = (v: Vector): Vector => v.map((x) => 0.5 * x * (1 + erf(x / Math.SQRT2)));
const relu = (v: Vector): Vector => v.map((x) => Math.max(0, x));

/** nn.LayerNorm without a bias, in float64. */
function layerNorm(x: Vector, weight: Float32Array, eps: number): Vector {
  const mean = x.reduce((a, v) => a + v, 0) / x.length;
  const variance = x.reduce((a, v) => a + (v - mean) ** 2, 0) / x.length;
  return x.map((v, i) => ((v - mean) / Math.sqrt(variance + eps)) * weight[i]!);
}

/**
 * One row's head input from its hidden states [seq, hidden] and attention mask: the first token, the last
 * position, the mean over every position (SequenceSummary, padding included), the first attended token
 * (ModernBERT's `attention_mask.argmax`), or the mean over attended positions.
 */
function summarise(states: Float32Array, mask: number[], h: number, summary: Summary): Vector {
  const seq = mask.length;
  const at = (t: number) => Float64Array.from(states.subarray(t * h, (t + 1) * h));
  const meanOver = (positions: number[]) => {
    const out = new Float64Array(h);
    for (const t of positions) for (let i = 0; i < h; i++) out[i]! += states[t * h + i]! / positions.length;
    return out;
  };
  switch (summary) {
    case 'first':
      return at(0);
    case 'last':
      return at(seq - 1);
    case 'mean':
      return meanOver(mask.map((_, t) => t));
    case 'first-attended':
      return at(mask.indexOf(1));
    case 'attended-mean':
      return meanOver(mask.flatMap((m, t) => (m === 1 ? [t] : [])));
  }
}

/** The HF head on one row's pooler output or first-token hidden state. */
function referenceScore(head: Head, weights: Map<string, [number[], Float32Array]>, x: Vector): number {
  const w = (name: string) => weights.get(name)![1];
  let pooled = x;
  if (head === 'distilbert') pooled = relu(linear(x, w('pre_classifier.weight'), w('pre_classifier.bias')));
  if (head === 'electra')
    pooled = gelu(linear(x, w('sequence_summary.summary.weight'), w('sequence_summary.summary.bias')));
  if (head === 'deberta') pooled = gelu(linear(x, w('pooler.dense.weight'), w('pooler.dense.bias')));
  if (head === 'modernbert') {
    const dense = linear(x, w('head.dense.weight'), new Float32Array(x.length));
    pooled = layerNorm(gelu(dense), w('head.norm.weight'), 1e-5);
  }
  return linear(pooled, w('classifier.weight'), w('classifier.bias'))[0]!;
}

interface ChoiceBatch {
  input_ids: number[][][];
  attention_mask: number[][][];
  token_type_ids?: number[][][];
  /** Tokens before the first separator, per choice row (HF's default Longformer global attention). */
  questionLength: number[][];
}

/** `[cls] question [sep][sep] answer [sep]` per choice, right-padded per example set to the longest row. */
function choiceBatch(
  config: Record<string, unknown>,
  examples: number,
  choices: number,
  seed: number,
): ChoiceBatch {
  const random = mulberry32(seed);
  const vocab = (config.vocab_size as number) - 10;
  const pad = (config.pad_token_id as number | undefined) ?? 0;
  const cls = (config.bos_token_id as number | undefined) ?? 2;
  const sep = (config.sep_token_id as number | undefined) ?? (config.eos_token_id as number | undefined) ?? 3;
  const word = () => 7 + Math.floor(random() * vocab);
  const rows: number[][][] = [];
  const types: number[][][] = [];
  const questionLength: number[][] = [];
  for (let e = 0; e < examples; e++) {
    const question = Array.from({ length: 2 + e * 2 }, word);
    const example: number[][] = [];
    const exampleTypes: number[][] = [];
    for (let c = 0; c < choices; c++) {
      const answer = Array.from({ length: 1 + ((c * 3 + e) % 5) }, word);
      example.push([cls, ...question, sep, sep, ...answer, sep]);
      exampleTypes.push([...Array(question.length + 3).fill(0), ...Array(answer.length + 1).fill(1)]);
    }
    rows.push(example);
    types.push(exampleTypes);
    questionLength.push(example.map(() => question.length + 1));
  }
  const longest = Math.max(...rows.flat().map((r) => r.length));
  const padTo = <T>(row: T[], fill: T) => [...row, ...Array<T>(longest - row.length).fill(fill)];
  return {
    input_ids: rows.map((e) => e.map((r) => padTo(r, pad))),
    attention_mask: rows.map((e) =>
      e.map((r) =>
        padTo(
          r.map(() => 1),
          0,
        ),
      ),
    ),
    token_type_ids: types.map((e) => e.map((r) => padTo(r, 0))),
    questionLength,
  };
}

/** One example of a batch alone, padded only to its own longest choice. */
function exampleAlone(batch: ChoiceBatch, e: number): ChoiceBatch {
  const lengths = batch.attention_mask[e]!.map((r) => r.reduce((a, b) => a + b, 0));
  const longest = Math.max(...lengths);
  const cut = (rows: number[][]) => [rows.map((r) => r.slice(0, longest))];
  return {
    input_ids: cut(batch.input_ids[e]!),
    attention_mask: cut(batch.attention_mask[e]!),
    token_type_ids: batch.token_type_ids && cut(batch.token_type_ids[e]!),
    questionLength: [batch.questionLength[e]!],
  };
}

function maxDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  assert.equal(a.length, b.length);
  let worst = 0;
  for (let i = 0; i < a.length; i++) worst = Math.max(worst, Math.abs(a[i]! - b[i]!));
  return worst;
}

const options = { cacheDir: false as const, threads: 1 };

describe('multiple choice on every architecture with an HF *ForMultipleChoice head', { skip }, () => {
  for (const c of CASES) {
    test(`${c.className} (${caseName(c)})`, async () => {
      const config = JSON.parse(
        readFileSync(sharedPath('fixtures', c.fixture, 'config.json'), 'utf8'),
      ) as Record<string, unknown>;
      const h = (config.hidden_size ?? config.dim) as number;
      const head = headWeights(c.head, h, 7001 + CASES.indexOf(c));
      const dir = await multipleChoiceCheckpoint(c, head);
      const model = await AutoModelForMultipleChoice.fromPretrained(dir, options);
      const base = await AutoModel.fromPretrained(sharedPath('fixtures', c.fixture), options);
      try {
        assert.equal(model.task, 'multiple-choice');
        const withTypes = model.config.typeVocabSize > 1;
        const batch = choiceBatch(config, 2, 3, 11);
        const feed = (b: ChoiceBatch) => ({
          input_ids: b.input_ids,
          attention_mask: b.attention_mask,
          ...(withTypes ? { token_type_ids: b.token_type_ids } : {}),
        });
        const out = await model.forward(feed(batch), { packed: false });
        assert.deepEqual(out.logits!.dims, [2, 3]);

        // Reference: the base model on the flattened rows, then the head by hand.
        const flat = <T>(x: T[][]) => x.flat();
        const globalMask = batch.input_ids.flatMap((e, i) =>
          e.map((row, j) => row.map((_, s) => (s < batch.questionLength[i]![j]! ? 1 : 0))),
        );
        const baseOut = await base.forward(
          {
            input_ids: flat(batch.input_ids),
            attention_mask: flat(batch.attention_mask),
            ...(withTypes ? { token_type_ids: flat(batch.token_type_ids!) } : {}),
            ...(c.className.startsWith('Longformer') ? { global_attention_mask: globalMask } : {}),
          },
          { packed: false },
        );
        const rows = 6;
        const seq = baseOut.last_hidden_state!.dims[1]!;
        const masks = flat(batch.attention_mask);
        const expected = Array.from({ length: rows }, (_, r) => {
          const x =
            c.head === 'pooler'
              ? Float64Array.from(baseOut.pooler_output!.data.subarray(r * h, (r + 1) * h))
              : summarise(
                  baseOut.last_hidden_state!.data.subarray(r * seq * h, (r + 1) * seq * h),
                  masks[r]!,
                  h,
                  c.summary ?? 'first',
                );
          return referenceScore(c.head, head, x);
        });
        for (let i = 0; i < rows; i++) {
          const got = out.logits!.data[i]!;
          assert.ok(
            Math.abs(got - expected[i]!) <= 1e-4 + 1e-4 * Math.abs(expected[i]!),
            `${c.className} logits[${i}]: ${got} vs reference ${expected[i]}`,
          );
        }

        if (readsPadding(c)) {
          // HF's result depends on the padding here, so there is no packed graph and no row-alone promise.
          assert.equal(hasPackedGraph(model.config), false);
          await assert.rejects(model.forward(feed(batch), { packed: true }), /reads padding positions/);
          return;
        }
        // Each example alone equals its row of the batch; packed equals padded.
        for (let e = 0; e < 2; e++) {
          const alone = await model.forward(feed(exampleAlone(batch, e)), { packed: false });
          assert.ok(maxDiff(alone.logits!.data, out.logits!.data.subarray(e * 3, e * 3 + 3)) <= 1e-5);
        }
        if (hasPackedGraph(model.config)) {
          const packed = await model.forward(feed(batch), { packed: true });
          assert.equal(model.packedRuns, 1);
          assert.deepEqual(packed.logits!.dims, [2, 3]);
          assert.ok(maxDiff(packed.logits!.data, out.logits!.data) <= 1e-5, 'packed vs padded');
        }

        if (c.summary === 'first-attended') {
          // Left-padded, each row pools its own first attended token (not position 0, a padding position).
          const leftPad = (rows: number[][][], masks: number[][][], fill: number) =>
            rows.map((e, i) =>
              e.map((row, j) => {
                const real = row.filter((_, t) => masks[i]![j]![t] === 1);
                return [...Array<number>(row.length - real.length).fill(fill), ...real];
              }),
            );
          const left = await model.forward(
            {
              input_ids: leftPad(batch.input_ids, batch.attention_mask, 0),
              attention_mask: leftPad(batch.attention_mask, batch.attention_mask, 0),
            },
            { packed: false },
          );
          assert.ok(maxDiff(left.logits!.data, out.logits!.data) <= 1e-5, 'left-padded vs right-padded');
        }

        // labels: cross-entropy over the choices.
        const labels = [2, 0];
        const withLoss = await model.forward({ ...feed(batch), labels }, { packed: false });
        const ce = labels.reduce((sum, label, e) => {
          const row = Array.from(out.logits!.data.subarray(e * 3, e * 3 + 3));
          const max = Math.max(...row);
          return sum + max + Math.log(row.reduce((s, v) => s + Math.exp(v - max), 0)) - row[label]!;
        }, 0);
        assert.ok(Math.abs(withLoss.loss! - ce / 2) <= 1e-6, `loss ${withLoss.loss} vs ${ce / 2}`);
      } finally {
        await model.dispose();
        await base.dispose();
      }
    });
  }
});

describe('multiple-choice refusals', { skip }, () => {
  const rejectsWith = (promise: Promise<unknown>, argument: string, pattern: RegExp) =>
    assert.rejects(promise, (e: unknown) => {
      assert.ok(e instanceof InputError, String(e));
      assert.equal(e.argument, argument);
      assert.match(e.message, pattern);
      return true;
    });

  test('inputs that are not [batch, choices, sequence]', async () => {
    const model = await AutoModelForMultipleChoice.fromPretrained(
      sharedPath('fixtures', 'models-2', 'bert-multiple-choice'),
      options,
    );
    try {
      await rejectsWith(
        model.forward({ input_ids: [[2, 5, 3]] }),
        'input_ids',
        /\[batch, choices, sequence\], got \[1, 3\]/,
      );
      await rejectsWith(
        model.forward({
          input_ids: [[[2, 5, 3]], [[2, 6, 3]]],
          attention_mask: [
            [
              [1, 1, 1],
              [1, 1, 1],
            ],
          ],
        }),
        'attention_mask',
        /shape \[1, 2, 3\] does not match input_ids \[2, 1, 3\]/,
      );
      await rejectsWith(
        model.forward([{ ids: [2, 3], attentionMask: [1, 1], typeIds: [0, 0] }]),
        'input_ids',
        /tokenizer batch/,
      );
      await rejectsWith(
        model.forward({
          input_ids: [
            [
              [2, 5, 3],
              [2, 6, 3],
            ],
          ],
          labels: [[0, 1]],
        }),
        'labels',
        /one choice index per example/,
      );
      await rejectsWith(
        model.forward({
          input_ids: [
            [
              [2, 5, 3],
              [2, 6, 3],
            ],
          ],
          labels: [2],
        }),
        'labels',
        /out of range \[0, 2\)/,
      );
    } finally {
      await model.dispose();
    }
  });

  test('ELECTRA summary_type "attn" (NotImplementedError in HF) is a ConfigError naming the field', async () => {
    const c: Case = {
      fixture: 'models/electra-model',
      className: 'ElectraForMultipleChoice',
      head: 'electra',
      config: { summary_type: 'attn' },
    };
    const dir = await multipleChoiceCheckpoint(c, headWeights('electra', 32, 1));
    await assert.rejects(AutoModelForMultipleChoice.fromPretrained(dir, options), (e: unknown) => {
      assert.ok(e instanceof ConfigError, String(e));
      assert.equal(e.field, 'summary_type');
      assert.match(e.message, /expected one of "first", "last", "mean", "cls_index".*got "attn"/);
      return true;
    });
  });
});
