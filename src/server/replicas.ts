/**
 * Several copies of one model behind a single Engine, so the server can run that many batches side by side.
 *
 * Why: one ONNX Runtime session splits each operator across its intra-op threads, and the threads meet at the end
 * of every operator. In a server the main thread (HTTP, JSON, tokenising) and the load's other threads keep taking
 * a core for a moment; each time, the session's other thread waits at the next meeting point. Replicas with one
 * thread each never wait for one another. The price is one copy of the weights per replica, and on the 2-core
 * benchmark machine the gain was within the noise (docs/server.md, "Replicas").
 *
 * Each call goes to the replica with the fewest batches running; among equals, to the one whose oldest running
 * batch started first, which is the one expected to be free first (a batch the batcher prepares ahead queues there).
 */
import type { Engine } from './engine.js';
import { InputError } from '../errors.js';

interface Replica {
  engine: Engine;
  /** Start times (performance.now()) of the calls this replica is running or has queued. */
  running: number[];
}

export function replicatedEngine(engines: readonly Engine[]): Engine {
  if (engines.length === 0) {
    throw new InputError('replicatedEngine needs at least one engine', { argument: 'engines' });
  }
  const replicas: Replica[] = engines.map((engine) => ({ engine, running: [] }));
  const first = engines[0]!;

  const pick = (): Replica => {
    let best = replicas[0]!;
    for (const replica of replicas.slice(1)) {
      const fewer = replica.running.length < best.running.length;
      const tie = replica.running.length === best.running.length;
      if (fewer || (tie && (replica.running[0] ?? 0) < (best.running[0] ?? 0))) best = replica;
    }
    return best;
  };

  const route = async <T>(call: (engine: Engine) => Promise<T>): Promise<T> => {
    const replica = pick();
    const started = performance.now();
    replica.running.push(started);
    try {
      return await call(replica.engine);
    } finally {
      replica.running.splice(replica.running.indexOf(started), 1);
    }
  };

  return {
    info: { ...first.info, replicas: engines.length },
    // Tokenising needs no model: every replica shares the same tokenizer files, so the first one answers.
    countTokens: (text, textPair) => first.countTokens(text, textPair),
    ...(first.prepareText ? { prepareText: first.prepareText.bind(first) } : {}),
    ...(first.prepareEmbed ? { prepareEmbed: first.prepareEmbed.bind(first) } : {}),
    ...(first.prepareIds ? { prepareIds: first.prepareIds.bind(first) } : {}),
    ...(first.decode ? { decode: first.decode.bind(first) } : {}),
    ...(first.score ? { score: (items, options) => route((engine) => engine.score!(items, options)) } : {}),
    tokenize: (texts, options) => first.tokenize(texts, options),
    classify: (items, options) => route((engine) => engine.classify(items, options)),
    embed: (texts, options, encoded) => route((engine) => engine.embed(texts, options, encoded)),
    isReady: () => engines.every((engine) => engine.isReady?.() ?? true),
    async close() {
      for (const engine of engines) await engine.close?.();
    },
  };
}
