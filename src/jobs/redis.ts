/**
 * The Redis connection behind every `seqbatch jobs` command: `REDIS_URL` (default `redis://127.0.0.1:6379`),
 * opened through ioredis, the client BullMQ is built on. A worker keeps reconnecting for as long as Redis is away
 * (it must outlive a Redis restart); the one-shot commands (submit, status, collect) fail at once with a message
 * naming the URL when Redis cannot be reached, and give up after a few reconnections if it goes away meanwhile.
 */
import { Redis } from 'ioredis';
import { QueueError } from '../errors.js';

export const DEFAULT_REDIS_URL = 'redis://127.0.0.1:6379';

/** The Redis the jobs commands use: `REDIS_URL`, or the local default. */
export function redisUrl(env: NodeJS.ProcessEnv = process.env): string {
  const url = env.REDIS_URL?.trim();
  return url === undefined || url === '' ? DEFAULT_REDIS_URL : url;
}

/** Reconnections a one-shot command tries when Redis goes away during its work. */
const CONNECT_ATTEMPTS = 5;

export interface ConnectOptions {
  /** Keep reconnecting forever (workers) instead of failing after a few attempts (one-shot commands). */
  persistent?: boolean;
}

/** A connected client; fails with a QueueError naming the URL when Redis cannot be reached. */
export async function connectRedis(url: string, options: ConnectOptions = {}): Promise<Redis> {
  let client: Redis;
  try {
    client = new Redis(url, {
      lazyConnect: true,
      // BullMQ's blocking worker connection must wait out a Redis restart instead of failing its commands.
      maxRetriesPerRequest: null,
      retryStrategy: (attempt) =>
        options.persistent || attempt <= CONNECT_ATTEMPTS ? Math.min(attempt * 200, 2000) : null,
    });
  } catch (error) {
    throw new QueueError(`REDIS_URL: cannot use "${url}": ${(error as Error).message}`, {
      argument: 'REDIS_URL',
      cause: error,
    });
  }
  // ioredis reports every failed reconnection as an 'error' event; without a listener each one would be printed.
  client.on('error', () => {});
  // A worker started before Redis waits for it: its commands queue until the connection is up.
  if (options.persistent) {
    void client.connect().catch(() => {});
    return client;
  }
  try {
    await client.connect();
  } catch (error) {
    client.disconnect();
    throw new QueueError(
      `cannot reach Redis at ${url} (REDIS_URL): ${(error as Error).message}; start redis-server or set REDIS_URL`,
      { argument: 'REDIS_URL', cause: error },
    );
  }
  return client;
}
