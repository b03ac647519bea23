/**
 * The HTTP server over a deterministic fake engine: per-request answers under concurrency, batches actually formed,
 * TEI and OpenAI response shapes, validation and size errors, 429 on overload, graceful shutdown.
 */
import assert from 'node:assert/strict';
import test from 'node:test';
import {
  closeOnSignals,
  createServer,
  type ClassifyOptions,
  type EmbedOptions,
  type Engine,
  type EngineInfo,
  type Prediction,
  type SeqbatchServer,
  type TextItem,
  type TokenizeOptions,
  type TokenizedText,
} from '../src/server/index.js';
import { InputError } from '../src/errors.js';
import { assertErrorBody, postJson } from './helpers/http.js';

const words = (text: string): number => text.split(/\s+/).filter(Boolean).length;

/** The fake model's definitions, used both by the engine and by the tests' expectations. */
const longScore = (item: TextItem): number => {
  const n = item.text.length + (item.textPair?.length ?? 0);
  return n / (n + 10);
};
const rawEmbedding = (text: string): number[] => [
  text.length,
  (text.match(/[aeiou]/g) ?? []).length,
  words(text),
];
const normalized = (v: number[]): number[] => {
  const norm = Math.hypot(...v) || 1;
  return v.map((x) => Math.fround(x / norm));
};

class FakeEngine implements Engine {
  info: EngineInfo = {
    modelId: 'fake/length-model',
    maxInputLength: 16,
    tasks: ['classify', 'embed', 'tokenize'],
    embeddingDimension: 3,
    labels: ['SHORT', 'LONG'],
  };
  batches: { task: string; size: number }[] = [];
  delayMs = 10;
  ready = true;
  closeCalls = 0;
  private gate: Promise<void> = Promise.resolve();
  private release: () => void = () => {};

  /** Holds every batch until release() is called. */
  hold(): void {
    this.gate = new Promise((resolve) => (this.release = resolve));
  }
  open(): void {
    this.release();
  }

  countTokens(text: string, textPair?: string): number {
    return words(text) + (textPair === undefined ? 0 : words(textPair) + 1) + 2;
  }
  isReady(): boolean {
    return this.ready;
  }
  async close(): Promise<void> {
    this.closeCalls++;
  }
  private async work(task: string, size: number): Promise<void> {
    this.batches.push({ task, size });
    await this.gate;
    await new Promise((resolve) => setTimeout(resolve, this.delayMs));
  }
  async classify(items: TextItem[], options: ClassifyOptions): Promise<Prediction[][]> {
    await this.work('classify', items.length);
    return items.map((item) => {
      const long = longScore(item);
      const scores = options.rawScores ? [-long, long] : [1 - long, long];
      return [
        { label: 'SHORT', score: scores[0]! },
        { label: 'LONG', score: scores[1]! },
      ];
    });
  }
  async embed(texts: string[], options: EmbedOptions): Promise<Float32Array[]> {
    await this.work('embed', texts.length);
    return texts.map((text) =>
      Float32Array.from(options.normalize ? normalized(rawEmbedding(text)) : rawEmbedding(text)),
    );
  }
  async tokenize(texts: string[], options: TokenizeOptions): Promise<TokenizedText[]> {
    return texts.map((text) => {
      const ids: number[] = [];
      const tokens: string[] = [];
      const offsets: [number, number][] = [];
      const special: number[] = [];
      const push = (token: string, offset: [number, number], isSpecial: number) => {
        ids.push(isSpecial ? 100 + tokens.length : token.length);
        tokens.push(token);
        offsets.push(offset);
        special.push(isSpecial);
      };
      if (options.addSpecialTokens) push('[CLS]', [0, 0], 1);
      for (const match of text.matchAll(/\S+/g))
        push(match[0].toLowerCase(), [match.index!, match.index! + match[0].length], 0);
      if (options.addSpecialTokens) push('[SEP]', [0, 0], 1);
      return { ids, tokens, offsets, specialTokensMask: special };
    });
  }
}

async function start(options: Partial<Parameters<typeof createServer>[0]> = {}) {
  const engine = (options.engine as FakeEngine | undefined) ?? new FakeEngine();
  const server = createServer({ maxWaitMs: 15, ...options, engine });
  const url = await server.listen({ host: '127.0.0.1', port: 0 });
  return { engine, server, url };
}

const assertApiError = (...args: [{ status: number; json: unknown }, number, string, RegExp?]) =>
  assertErrorBody('openai', ...args);
const assertTeiError = (...args: [{ status: number; json: unknown }, number, string, RegExp?]) =>
  assertErrorBody('tei', ...args);

/** Response floats are float32 printed shortest; read them back as float32 to compare with the engine's values. */
const asFloat32 = (vectors: number[][]): number[][] => vectors.map((v) => v.map(Math.fround));

function metricValue(metrics: string, sample: string): number {
  const line = metrics.split('\n').find((l) => l.startsWith(sample + ' '));
  assert.ok(line, `metric sample ${sample} missing in:\n${metrics}`);
  return Number(line.slice(sample.length + 1));
}

async function stop(server: SeqbatchServer): Promise<void> {
  await server.close();
}

test('concurrent clients each get their own answers, and their inputs were batched together', async () => {
  const { engine, server, url } = await start();
  try {
    const texts = Array.from({ length: 24 }, (_, i) => 'word '.repeat(1 + (i % 5)) + 'x'.repeat(i));
    const responses = await Promise.all(texts.map((text) => postJson(`${url}/classify`, { inputs: text })));
    responses.forEach((response, i) => {
      assert.equal(response.status, 200);
      const long = longScore({ text: texts[i]! });
      // Ties keep the engine's order (a stable sort).
      const expected = long > 0.5 ? ['LONG', 'SHORT'] : ['SHORT', 'LONG'];
      assert.deepEqual(
        response.json.map((p: Prediction) => p.label),
        expected,
      );
      assert.equal(response.json.find((p: Prediction) => p.label === 'LONG').score, long);
    });
    assert.ok(
      engine.batches.some((b) => b.size > 1),
      `expected a batch of more than one input, got ${JSON.stringify(engine.batches)}`,
    );
    assert.equal(
      engine.batches.reduce((sum, b) => sum + b.size, 0),
      24,
    );

    const metrics = await (await fetch(`${url}/metrics`)).text();
    const count = metricValue(metrics, 'seqbatch_batch_size_count{task="classify"}');
    const sum = metricValue(metrics, 'seqbatch_batch_size_sum{task="classify"}');
    assert.equal(sum, 24);
    assert.ok(sum / count > 1, `mean batch size ${sum / count} should exceed 1`);
    assert.ok(metricValue(metrics, 'seqbatch_batch_size_bucket{task="classify",le="1"}') < count);
    assert.equal(metricValue(metrics, 'seqbatch_requests_total{route="/classify",status="200"}'), 24);
    assert.equal(metricValue(metrics, 'seqbatch_request_duration_seconds_count{route="/classify"}'), 24);
    assert.equal(metricValue(metrics, 'seqbatch_queue_depth'), 0);
    assert.ok(metrics.includes('# TYPE seqbatch_batch_padding_ratio histogram'));
    assert.ok(metricValue(metrics, 'seqbatch_batch_tokens_total{task="classify",kind="padded"}') >= 24 * 3);
  } finally {
    await stop(server);
  }
});

test('/classify: pairs, arrays, top_k, raw_scores', async () => {
  const { server, url } = await start();
  try {
    const pair = await postJson(`${url}/classify`, { inputs: { text: 'a b', text_pair: 'c d e' } });
    assert.equal(pair.status, 200);
    assert.equal(pair.json[0].score, 1 - longScore({ text: 'a b', textPair: 'c d e' }));
    const batch = await postJson(`${url}/classify`, {
      inputs: ['short', { text: 'a much longer text here' }],
      top_k: 1,
    });
    assert.deepEqual(
      batch.json.map((list: Prediction[]) => list.map((p) => p.label)),
      [['SHORT'], ['LONG']],
    );
    const raw = await postJson(`${url}/classify`, { inputs: 'abc', raw_scores: true });
    assert.equal(raw.json.find((p: Prediction) => p.label === 'SHORT').score, -longScore({ text: 'abc' }));
  } finally {
    await stop(server);
  }
});

/** A fake engine that tokenises once (`prepareText`) and records what the batches hand back. */
class PreparingEngine extends FakeEngine {
  countCalls = 0;
  received: unknown[] = [];
  override countTokens(text: string, textPair?: string): number {
    this.countCalls++;
    return super.countTokens(text, textPair);
  }
  prepareText(text: string, textPair?: string) {
    return {
      tokens: words(text) + (textPair === undefined ? 0 : words(textPair) + 1) + 2,
      encoded: { madeFrom: [text, textPair ?? null] },
    };
  }
  override async classify(items: TextItem[], options: ClassifyOptions): Promise<Prediction[][]> {
    this.received.push(...items.map((item) => item.encoded));
    return super.classify(items, options);
  }
  override async embed(texts: string[], options: EmbedOptions, encoded?: readonly unknown[]) {
    this.received.push(...(encoded ?? []));
    return super.embed(texts, options);
  }
}

test('an engine with prepareText tokenises each input once: its result comes back with the batch', async () => {
  const { engine, server, url } = await start({ engine: new PreparingEngine() });
  const preparing = engine as PreparingEngine;
  try {
    const classified = await postJson(`${url}/classify`, {
      inputs: ['one two', { text: 'three', text_pair: 'four five' }],
    });
    assert.equal(classified.status, 200);
    const embedded = await postJson(`${url}/embed`, { inputs: ['six'] });
    assert.equal(embedded.status, 200);
    assert.deepEqual(preparing.received, [
      { madeFrom: ['one two', null] },
      { madeFrom: ['three', 'four five'] },
      { madeFrom: ['six', null] },
    ]);
    // Its token counts decide the 413 check; countTokens is never asked.
    const tooLong = await postJson(`${url}/classify`, { inputs: 'w '.repeat(15) });
    assertApiError(tooLong, 413, 'invalid_request_error', /has 17 tokens/);
    assert.equal(preparing.countCalls, 0);
  } finally {
    await stop(server);
  }
});

test('/embed answers the text-embeddings-inference shape: number[][], normalized by default', async () => {
  const { server, url } = await start();
  try {
    const single = await postJson(`${url}/embed`, { inputs: 'hello there' });
    assert.equal(single.status, 200);
    assert.match(single.headers.get('content-type')!, /application\/json/);
    assert.deepEqual(asFloat32(single.json), [normalized(rawEmbedding('hello there'))]);
    const many = await postJson(`${url}/embed`, { inputs: ['a', 'bee cee'], normalize: false });
    assert.deepEqual(many.json, [rawEmbedding('a'), rawEmbedding('bee cee')]);
    assert.equal(
      (await postJson(`${url}/embed`, { inputs: 'a', truncation_direction: 'Right', prompt_name: null }))
        .status,
      200,
    );
    // TEI's directions in either case (what "Left" cuts: server-tei.test.ts); anything else fails the schema.
    for (const direction of ['Left', 'left', 'right']) {
      const answer = await postJson(`${url}/embed`, { inputs: 'a', truncation_direction: direction });
      assert.equal(answer.status, 200, `${direction}: ${answer.text}`);
    }
    assertTeiError(
      await postJson(`${url}/embed`, { inputs: 'a', truncation_direction: 'Middle' }),
      400,
      'Validation',
      /truncation_direction/,
    );
    assertTeiError(
      await postJson(`${url}/embed`, { inputs: 'a', prompt_name: 'query' }),
      400,
      'Validation',
      /prompt_name: "query" is not one of the model's prompts \(it has none\)/,
    );
    // float32 values are printed in their shortest form, not as 17-digit doubles.
    assert.ok(!/\d{10,}/.test(single.text), single.text);
  } finally {
    await stop(server);
  }
});

test('/v1/embeddings answers the OpenAI shape, with usage and base64 float32 encoding', async () => {
  const { engine, server, url } = await start();
  try {
    const texts = ['first input', 'the second one'];
    const result = await postJson(`${url}/v1/embeddings`, { input: texts, model: 'whatever' });
    assert.equal(result.status, 200);
    const tokens = texts.reduce((sum, t) => sum + engine.countTokens(t), 0);
    result.json.data.forEach((d: { embedding: number[] }) => (d.embedding = d.embedding.map(Math.fround)));
    assert.deepEqual(result.json, {
      object: 'list',
      data: texts.map((text, index) => ({
        object: 'embedding',
        index,
        embedding: normalized(rawEmbedding(text)),
      })),
      model: 'fake/length-model',
      usage: { prompt_tokens: tokens, total_tokens: tokens },
    });
    const b64 = await postJson(`${url}/v1/embeddings`, { input: 'first input', encoding_format: 'base64' });
    const bytes = Buffer.from(b64.json.data[0].embedding, 'base64');
    const decoded = Array.from({ length: bytes.length / 4 }, (_, i) => bytes.readFloatLE(i * 4));
    assert.deepEqual(decoded, normalized(rawEmbedding('first input')));
    assertApiError(
      await postJson(`${url}/v1/embeddings`, { input: 'x', dimensions: 4 }),
      400,
      'invalid_request_error',
      /dimensions: expected 1 to 3, got 4/,
    );
  } finally {
    await stop(server);
  }
});

test('/tokenize answers the TEI shape with offsets into the input', async () => {
  const { server, url } = await start();
  try {
    const result = await postJson(`${url}/tokenize`, { inputs: 'Héllo  World' });
    assert.deepEqual(result.json, [
      [
        { id: 100, text: '[CLS]', special: true, start: null, stop: null },
        { id: 5, text: 'Héllo', special: false, start: 0, stop: 5 },
        { id: 5, text: 'World', special: false, start: 7, stop: 12 },
        { id: 103, text: '[SEP]', special: true, start: null, stop: null },
      ],
    ]);
    const plain = await postJson(`${url}/tokenize`, { inputs: ['a', 'b c'], add_special_tokens: false });
    assert.deepEqual(
      plain.json.map((list: { text: string }[]) => list.map((t) => t.text)),
      [['a'], ['b', 'c']],
    );
  } finally {
    await stop(server);
  }
});

test('validation and size errors are JSON (OpenAI body on /classify and /v1, TEI body on its routes) with the right status', async () => {
  const engine = new FakeEngine();
  engine.info = { ...engine.info, tasks: ['classify', 'tokenize'] };
  const { server, url } = await start({ engine, bodyLimit: 2048, maxInputsPerRequest: 4 });
  try {
    assertApiError(await postJson(`${url}/classify`, {}), 400, 'invalid_request_error', /inputs/);
    assertApiError(
      await postJson(`${url}/classify`, { inputs: 5 }), // not coerced to "5"
      400,
      'invalid_request_error',
      /body\.inputs: expected a string, a \{"text", "text_pair"\} object, or a non-empty array of them/,
    );
    assertApiError(await postJson(`${url}/classify`, { inputs: [] }), 400, 'invalid_request_error');
    assertApiError(
      await postJson(`${url}/classify`, { inputs: [{ txt: 'typo' }] }),
      400,
      'invalid_request_error',
    );
    assertApiError(
      await postJson(`${url}/classify`, { inputs: 'x', top_k: 0 }),
      400,
      'invalid_request_error',
      /top_k/,
    );
    assertApiError(
      await postJson(`${url}/v1/embeddings`, { input: 'x', encoding_format: 'hex' }),
      400,
      'invalid_request_error',
      /body\.encoding_format must be one of "float", "base64"/,
    );
    assertApiError(await postJson(`${url}/classify`, '{"inputs": '), 400, 'invalid_request_error');
    assertApiError(
      await postJson(`${url}/classify`, '<inputs/>', { 'content-type': 'application/xml' }),
      415,
      'invalid_request_error',
    );
    assertApiError(
      await postJson(`${url}/classify`, { inputs: 'x'.repeat(4096) }),
      413,
      'invalid_request_error',
    );
    assertApiError(
      await postJson(`${url}/classify`, { inputs: ['a', 'b', 'c', 'd', 'e'] }),
      413,
      'invalid_request_error',
      /at most 4/,
    );
    const long = 'w '.repeat(20);
    assertApiError(
      await postJson(`${url}/classify`, { inputs: long }),
      413,
      'invalid_request_error',
      /22 tokens; the model accepts at most 16/,
    );
    assert.equal((await postJson(`${url}/classify`, { inputs: long, truncate: true })).status, 200);
    assertTeiError(
      await postJson(`${url}/embed`, { inputs: 'x' }),
      424,
      'Backend',
      /fake\/length-model is a sequence classifier \(2 labels\) and does not support \/embed/,
    );
    assertApiError(
      await postJson(`${url}/v1/embeddings`, { input: 'x' }),
      424,
      'unsupported_task_error',
      /does not support \/v1\/embeddings/,
    );
    const missing = await fetch(`${url}/nope`);
    assertApiError({ status: missing.status, json: await missing.json() }, 404, 'not_found_error');
  } finally {
    await stop(server);
  }
});

test('server options are validated', () => {
  assert.throws(
    () => createServer({ engine: new FakeEngine(), maxBatchSize: 0 }),
    (e: unknown) => e instanceof InputError && e.argument === 'maxBatchSize',
  );
  assert.throws(
    () => createServer({ engine: new FakeEngine(), maxQueue: 8, maxInputsPerRequest: 16 }),
    (e: unknown) => e instanceof InputError && e.argument === 'maxInputsPerRequest',
  );
});

test('a full queue answers 429 with Retry-After; accepted requests still complete', async () => {
  const { engine, server, url } = await start({ maxQueue: 4, maxBatchSize: 1, maxWaitMs: 0 });
  try {
    engine.hold();
    const accepted = [postJson(`${url}/embed`, { inputs: 'running' })];
    await waitFor(() => engine.batches.length === 1);
    accepted.push(postJson(`${url}/embed`, { inputs: ['q1', 'q2', 'q3'] }));
    await waitFor(() => server.batcher.depth === 3);
    const refused = await postJson(`${url}/embed`, { inputs: ['q4', 'q5'] });
    assertTeiError(refused, 429, 'Overloaded', /overloaded/);
    assert.match(refused.headers.get('retry-after') ?? '', /^[1-9]\d*$/);
    accepted.push(postJson(`${url}/embed`, { inputs: 'q6' })); // exactly fills the queue
    await waitFor(() => server.batcher.depth === 4);
    engine.open();
    const results = await Promise.all(accepted);
    assert.deepEqual(
      results.map((r) => r.status),
      [200, 200, 200],
    );
    assert.deepEqual(
      asFloat32(results[1]!.json),
      ['q1', 'q2', 'q3'].map((t) => normalized(rawEmbedding(t))),
    );
    const metrics = await (await fetch(`${url}/metrics`)).text();
    assert.equal(metricValue(metrics, 'seqbatch_requests_total{route="/embed",status="429"}'), 1);
    assert.equal(metricValue(metrics, 'seqbatch_queue_rejections_total'), 1);
  } finally {
    engine.open();
    await stop(server);
  }
});

test('/health, and /ready following engine readiness', async () => {
  const { engine, server, url } = await start();
  try {
    const health = (await (await fetch(`${url}/health`)).json()) as { status: string; model: { id: string } };
    assert.equal(health.status, 'ok');
    assert.equal(health.model.id, 'fake/length-model');
    assert.equal((await fetch(`${url}/ready`)).status, 200);
    engine.ready = false;
    const notReady = await fetch(`${url}/ready`);
    assertApiError(
      { status: notReady.status, json: await notReady.json() },
      503,
      'unavailable_error',
      /loading/,
    );
  } finally {
    await stop(server);
  }
});

test('close() stops accepting, answers every accepted request, then closes the engine', async () => {
  const { engine, server, url } = await start({ maxWaitMs: 1000 });
  engine.hold();
  const texts = Array.from({ length: 6 }, (_, i) => `text number ${i}`);
  const inflight = texts.map((text) => postJson(`${url}/embed`, { inputs: text, normalize: false }));
  await waitFor(() => server.batcher.depth + engine.batches.reduce((s, b) => s + b.size, 0) === texts.length);
  const closed = server.close();
  // Once close() has begun, a new request is refused: the connection (once the listener is closed) or with 503.
  const late = await fetch(`${url}/health`).then(
    async (response) => ({ status: response.status, json: await response.json() }),
    () => 'refused' as const,
  );
  if (late !== 'refused') assertApiError(late, 503, 'unavailable_error', /shutting down/);
  assert.equal(engine.closeCalls, 0, 'engine stays open while requests are pending');
  engine.open();
  const results = await Promise.all(inflight);
  results.forEach((result, i) => {
    assert.equal(result.status, 200);
    assert.deepEqual(result.json, [rawEmbedding(texts[i]!)]);
  });
  await closed;
  assert.equal(engine.closeCalls, 1);
  await server.close(); // idempotent
  assert.equal(engine.closeCalls, 1);
});

test('SIGTERM closes gracefully, then exits with code 0', async () => {
  const { engine, server, url } = await start({ maxWaitMs: 1000 });
  engine.hold();
  const exitCodes: number[] = [];
  const remove = closeOnSignals(server, { signals: ['SIGTERM'], exit: (code) => void exitCodes.push(code) });
  const stderrWrite = process.stderr.write;
  try {
    const pending = postJson(`${url}/classify`, { inputs: 'accepted before the signal' });
    await waitFor(() => server.batcher.depth === 1);
    process.stderr.write = () => true;
    process.emit('SIGTERM', 'SIGTERM');
    process.stderr.write = stderrWrite;
    await new Promise((resolve) => setTimeout(resolve, 20));
    assert.deepEqual(exitCodes, [], 'no exit while a request is pending');
    engine.open();
    assert.equal((await pending).status, 200);
    await waitFor(() => exitCodes.length === 1);
    assert.deepEqual(exitCodes, [0]);
  } finally {
    process.stderr.write = stderrWrite;
    remove();
    engine.open();
    await server.close();
  }
});

async function waitFor(condition: () => boolean, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('timed out waiting for condition');
    await new Promise((resolve) => setTimeout(resolve, 2));
  }
}
