import assert from 'node:assert/strict';
import test from 'node:test';
import type { Engine, Prediction, TextItem } from '../src/server/index.js';
import { replicatedEngine } from '../src/server/replicas.js';

/** A fake replica whose calls stay running until the test releases them; it records what it was given. */
function heldReplica(name: string) {
  const calls: { texts: string[]; release: () => void; failWith?: Error }[] = [];
  let closed = false;
  const hold = (texts: string[]) =>
    new Promise<void>((resolve, reject) => {
      const call = { texts, release: () => (call.failWith ? reject(call.failWith) : resolve()) } as {
        texts: string[];
        release: () => void;
        failWith?: Error;
      };
      calls.push(call);
    });
  const engine: Engine = {
    info: { modelId: 'fake', maxInputLength: 32, tasks: ['classify', 'embed', 'tokenize'] },
    countTokens: (text) => text.length + (name === 'a' ? 0 : 1000),
    async classify(items: TextItem[]): Promise<Prediction[][]> {
      await hold(items.map((item) => item.text));
      return items.map(() => [{ label: name, score: 1 }]);
    },
    async embed(texts) {
      await hold(texts);
      return texts.map(() => [name === 'a' ? 1 : 2]);
    },
    async tokenize(texts) {
      return texts.map((text) => ({
        ids: [name.length],
        tokens: [text],
        offsets: [[0, 1]],
        specialTokensMask: [0],
      }));
    },
    async close() {
      closed = true;
    },
  };
  return { engine, calls, closed: () => closed };
}

const options = { truncate: false, rawScores: false };
const tick = () => new Promise((resolve) => setImmediate(resolve));

test('replicatedEngine runs concurrent batches on different replicas and reports how many it has', async () => {
  const a = heldReplica('a');
  const b = heldReplica('b');
  const engine = replicatedEngine([a.engine, b.engine]);
  assert.equal(engine.info.replicas, 2);
  assert.equal(engine.info.modelId, 'fake');

  const first = engine.classify([{ text: 'one' }], options);
  const second = engine.classify([{ text: 'two' }], options);
  await tick();
  assert.deepEqual(
    [a.calls.map((c) => c.texts), b.calls.map((c) => c.texts)],
    [[['one']], [['two']]],
    'the second batch must not queue behind the first while a replica is idle',
  );
  a.calls[0]!.release();
  b.calls[0]!.release();
  assert.equal((await first)[0]![0]!.label, 'a');
  assert.equal((await second)[0]![0]!.label, 'b');
});

test('with every replica busy, the next batch queues on the replica whose running batch started first', async () => {
  const a = heldReplica('a');
  const b = heldReplica('b');
  const engine = replicatedEngine([a.engine, b.engine]);
  const onA = engine.embed(['first'], { normalize: false, truncate: false });
  await new Promise((resolve) => setTimeout(resolve, 5));
  const onB = engine.embed(['second'], { normalize: false, truncate: false });
  await tick();
  // a started first, so it is expected to be free first.
  const third = engine.embed(['third'], { normalize: false, truncate: false });
  await tick();
  assert.deepEqual(
    a.calls.map((c) => c.texts),
    [['first'], ['third']],
  );
  assert.deepEqual(
    b.calls.map((c) => c.texts),
    [['second']],
  );

  // Once a's first batch ends, a has one call again and b one: the next goes to b, whose batch is now older.
  a.calls[0]!.release();
  assert.deepEqual(await onA, [[1]]);
  const fourth = engine.embed(['fourth'], { normalize: false, truncate: false });
  await tick();
  assert.deepEqual(
    b.calls.map((c) => c.texts),
    [['second'], ['fourth']],
  );
  for (const call of [a.calls[1]!, b.calls[0]!, b.calls[1]!]) call.release();
  assert.deepEqual(await Promise.all([onB, third, fourth]), [[[2]], [[1]], [[2]]]);
});

test('a failed batch frees its replica and reaches the caller; close closes every replica', async () => {
  const a = heldReplica('a');
  const b = heldReplica('b');
  const engine = replicatedEngine([a.engine, b.engine]);
  const failing = engine.classify([{ text: 'bad' }], options);
  await tick();
  a.calls[0]!.failWith = new Error('replica a failed');
  a.calls[0]!.release();
  await assert.rejects(failing, /replica a failed/);
  // a is idle again and started nothing more recently than b (idle too): the next call goes back to a.
  const next = engine.classify([{ text: 'next' }], options);
  await tick();
  assert.equal(a.calls.length, 2);
  assert.equal(b.calls.length, 0);
  a.calls[1]!.release();
  await next;

  // Tokenising needs no model, and the first replica answers it.
  assert.equal(engine.countTokens('abc'), 3);
  assert.equal(engine.prepareText, undefined, 'replicas without prepareText make an engine without it');
  const preparing = replicatedEngine([
    {
      ...a.engine,
      prepareText: (text) => ({ tokens: text.length, encoded: `a:${text}` }),
      embed: async (texts, _options, encoded) => texts.map((_, i) => [encoded?.[i] === 'a:xy' ? 1 : 0]),
    },
    b.engine,
  ]);
  assert.deepEqual(preparing.prepareText!('xy'), { tokens: 2, encoded: 'a:xy' });
  assert.deepEqual(await preparing.embed(['xy'], { normalize: false, truncate: false }, ['a:xy']), [[1]]);
  assert.deepEqual((await engine.tokenize(['x'], { addSpecialTokens: true }))[0]!.ids, [1]);
  await engine.close!();
  assert.equal(a.closed() && b.closed(), true);
});

test('replicatedEngine refuses an empty list', () => {
  assert.throws(() => replicatedEngine([]), /at least one engine/);
});
