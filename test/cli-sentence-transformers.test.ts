/**
 * The sentence-transformers fixtures through the CLI, as issue 17 checks them: `seqbatch embed --model DIR -i
 * texts.jsonl --column text [--normalize] [--dimensions N] [--precision P] [--prompt-name NAME | --prompt TEXT]`
 * gives every encode case's rows, `seqbatch rerank --model DIR --query Q -i docs.jsonl --column text [--top-k N]`
 * every rank case's rows in rank order, and `seqbatch similarity` the similarity matrix.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { runEmbed, type EmbedCliOptions } from '../src/cli/commands/embed.js';
import { runRerank } from '../src/cli/commands/rerank.js';
import { runSimilarity } from '../src/cli/commands/similarity.js';
import { InputError } from '../src/errors.js';
import { quantizationRanges } from '../src/pipelines/index.js';
import { capture } from './helpers/cli-capture.js';
import {
  BI_ENCODERS,
  CROSS_ENCODERS,
  assertEncodeCase,
  readStExpected,
  skipStFolder,
  stFolder,
  type StCase,
} from './helpers/st-fixtures.js';

const WORK = mkdtempSync(join(tmpdir(), 'seqbatch-cli-st-'));
after(() => rmSync(WORK, { recursive: true, force: true }));
const CLI = { graphCache: false, progress: false, threads: '1' };

function jsonl(name: string, texts: readonly string[]): string {
  const file = join(WORK, name);
  writeFileSync(file, texts.map((text) => JSON.stringify({ text, id: text.length })).join('\n') + '\n');
  return file;
}

/** The embed flags of an encode case (Python kwargs → CLI flags). */
function embedFlags(c: StCase): Partial<EmbedCliOptions> {
  const k = c.kwargs;
  const flags: Partial<EmbedCliOptions> = { batchSize: '8' };
  if (k.normalize_embeddings === true) flags.normalize = true;
  if (typeof k.truncate_dim === 'number') flags.dimensions = String(k.truncate_dim);
  if (typeof k.precision === 'string') flags.precision = k.precision as EmbedCliOptions['precision'];
  if (typeof k.prompt_name === 'string') flags.promptName = k.prompt_name;
  if (typeof k.prompt === 'string') flags.prompt = k.prompt;
  if (c.method === 'encode_query') flags.promptName = 'query';
  return flags;
}

for (const name of BI_ENCODERS) {
  test(`seqbatch embed reproduces ${name}`, { skip: skipStFolder(name) }, async () => {
    const expected = readStExpected(name);
    const input = jsonl(`${name}.jsonl`, expected.texts);
    for (const c of expected.cases) {
      if (c.inputs !== 'texts' || (c.method !== 'encode' && c.method !== 'encode_query')) continue;
      const out = capture();
      await runEmbed([], { ...CLI, model: stFolder(name), input, column: 'text', ...embedFlags(c) }, out.io);
      assertEncodeCase(
        out.records().map((r) => r.embedding),
        expected,
        c,
      );
      if (c.kwargs.precision === 'int8') assert.match(out.stderr(), /--calibration FILE to stream/);
    }
  });
}

test(
  'seqbatch embed --calibration streams int8 with given ranges; errors name the flag',
  { skip: skipStFolder('st-bert-mean-norm') },
  async () => {
    const name = 'st-bert-mean-norm';
    const expected = readStExpected(name);
    const input = jsonl('calibrated.jsonl', expected.texts);
    const floats = expected.cases.find((c) => c.name === 'encode')!.output as number[][];
    const ranges = quantizationRanges(floats);
    const calibration = join(WORK, 'ranges.json');
    writeFileSync(calibration, JSON.stringify([ranges.min, ranges.max]));
    const embeddings = join(WORK, 'calibration.jsonl');
    writeFileSync(embeddings, floats.map((embedding) => JSON.stringify({ embedding })).join('\n'));
    const int8 = expected.cases.find((c) => c.name === 'precision_int8')!;
    for (const file of [calibration, embeddings]) {
      const out = capture();
      await runEmbed(
        [],
        {
          ...CLI,
          model: stFolder(name),
          input,
          column: 'text',
          precision: 'int8',
          calibration: file,
          batchSize: '4',
        },
        out.io,
      );
      assertEncodeCase(
        out.records().map((r) => r.embedding),
        expected,
        int8,
      );
      assert.equal(out.stderr(), '');
    }
    const named = (flag: string) => (e: unknown) => e instanceof InputError && e.argument === flag;
    await assert.rejects(
      runEmbed(['a'], { ...CLI, model: stFolder(name), calibration }),
      named('--calibration'),
    );
    await assert.rejects(
      runEmbed(['a'], { ...CLI, model: stFolder(name), dimensions: '0' }),
      named('--dimensions'),
    );
    await assert.rejects(
      runEmbed(['a'], { ...CLI, model: stFolder(name), promptName: 'nope' }),
      named('--prompt-name'),
    );
    await assert.rejects(
      runEmbed(['a'], {
        ...CLI,
        model: stFolder(name),
        precision: 'uint8',
        output: join(WORK, 'o.jsonl'),
        resume: true,
      }),
      named('--resume'),
    );
  },
);

for (const name of CROSS_ENCODERS) {
  test(`seqbatch rerank reproduces ${name}`, { skip: skipStFolder(name) }, async () => {
    const expected = readStExpected(name);
    const ranks = expected.cases.filter((c) => c.method === 'rank');
    if (ranks.length === 0) {
      // Three labels: rank is refused, as Python refuses it.
      await assert.rejects(
        runRerank(['a', 'b'], { ...CLI, model: stFolder(name), query: 'q' }, capture().io),
        (e) => e instanceof InputError && /one label/.test(e.message),
      );
      return;
    }
    for (const c of ranks) {
      const out = capture();
      const topK = c.kwargs.top_k as number | undefined;
      await runRerank(
        [],
        {
          ...CLI,
          model: stFolder(name),
          query: c.query!,
          input: jsonl(`${name}-${c.name}.jsonl`, c.documents!),
          column: 'text',
          batchSize: '8',
          ...(topK === undefined ? {} : { topK: String(topK) }),
          ...(c.kwargs.return_documents === true ? { returnDocuments: true } : {}),
        },
        out.io,
      );
      const want = c.output as { corpus_id: number; score: number; text?: string }[];
      const got = out.records();
      assert.deepEqual(
        got.map((r) => [r.index, r.text]),
        want.map((r) => [r.corpus_id, r.text]),
      );
      got.forEach((r, i) =>
        assert.ok(Math.abs((r.score as number) - want[i]!.score) <= 1e-4 + 1e-4 * Math.abs(want[i]!.score)),
      );
    }
    // --raw-scores gives the logits (the identity-activation case's values, in rank order).
    const logits = expected.cases.find((c) => c.name === 'predict_identity_logits')!;
    const pairs = logits.pairs as [string, string][];
    const raw = capture();
    await runRerank(
      [pairs[0]![1], pairs[1]![1]],
      { ...CLI, model: stFolder(name), query: pairs[0]![0], rawScores: true },
      raw.io,
    );
    const scores = (logits.output as number[]).slice(0, 2);
    const ranked = raw.records();
    assert.equal(ranked.length, 2);
    for (const r of ranked) assert.ok(Math.abs((r.score as number) - scores[r.index as number]!) < 1e-4);
    assert.ok((ranked[0]!.score as number) >= (ranked[1]!.score as number));
  });
}

test(
  "seqbatch similarity prints the similarity matrix with the model's function",
  { skip: skipStFolder('st-bert-cls-prompts') },
  async () => {
    const name = 'st-bert-cls-prompts';
    const expected = readStExpected(name);
    const c = expected.cases.find((x) => x.method === 'similarity')!;
    const out = capture();
    await runSimilarity(
      [],
      {
        ...CLI,
        model: stFolder(name),
        input: jsonl('a.jsonl', expected.texts.slice(0, 10)),
        column: 'text',
        against: jsonl('b.jsonl', expected.texts.slice(10, 20)),
      },
      out.io,
    );
    const matrix = out.records().map((r) => r.similarity as number[]);
    (c.output as number[][]).forEach((row, i) =>
      row.forEach((value, j) =>
        assert.ok(Math.abs(matrix[i]![j]! - value) <= 1e-4 + 1e-4 * Math.abs(value), `[${i}][${j}]`),
      ),
    );
    const euclid = capture();
    await runSimilarity(
      ['good', 'bad'],
      { ...CLI, model: stFolder(name), against: jsonl('c.jsonl', ['good']), function: 'euclidean' },
      euclid.io,
    );
    const [same, other] = euclid.records().map((r) => (r.similarity as number[])[0]!);
    assert.ok(Math.abs(same!) < 1e-6 && other! < 0, `${same} ${other}`);
  },
);
