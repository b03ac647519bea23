/**
 * Dynamic batching across requests. Items from concurrent requests that share a batch key (same task, same
 * options) are run together, up to `maxBatchSize` items and `maxBatchTokens` padded tokens (items × longest item,
 * which is what a padded batch costs to run). A batch leaves as soon as it is full, or when its oldest item has
 * waited `maxWaitMs`. The queue is bounded: a request that does not fit is refused at once (the server answers
 * 429), so memory and latency stay bounded under overload.
 */

export interface BatchItem<I> {
  input: I;
  /** Tokens this item occupies in a padded batch (capped at the model's max length). */
  tokens: number;
}

export interface BatcherOptions {
  maxBatchTokens: number;
  maxBatchSize: number;
  maxWaitMs: number;
  /** Items allowed to wait (not counting batches already running). */
  maxQueue: number;
  /** Batches run at the same time. */
  concurrency: number;
}

export interface BatchStats {
  key: string;
  size: number;
  /** Sum of item tokens. */
  realTokens: number;
  /** size × longest item. */
  paddedTokens: number;
  seconds: number;
}

export class QueueFullError extends Error {
  constructor(
    readonly queued: number,
    readonly capacity: number,
    /** Suggested Retry-After, in whole seconds. */
    readonly retryAfterSeconds: number,
  ) {
    super(`server is overloaded: ${queued} inputs are already queued (capacity ${capacity}); retry later`);
    this.name = 'QueueFullError';
  }
}

/** Runs one batch of same-key inputs and returns one output per input, in order. */
export type BatchRunner<I, O> = (inputs: I[]) => Promise<O[]>;

interface Pending<I, O> {
  key: string;
  /** Which submit() call the item came from. */
  request: number;
  run: BatchRunner<I, O>;
  item: BatchItem<I>;
  enqueuedAt: number;
  settle: (error: unknown, output?: O) => void;
}

export class DynamicBatcher {
  private queue: Pending<unknown, unknown>[] = [];
  private running = 0;
  private timer: NodeJS.Timeout | undefined;
  private timerDue = Infinity;
  private flushing = false;
  private idleWaiters: (() => void)[] = [];
  /** Items per second over recent batches (for Retry-After). */
  private throughput = 0;
  private nextRequest = 0;

  constructor(
    private readonly options: BatcherOptions,
    private readonly onBatch: (stats: BatchStats) => void = () => {},
  ) {}

  /** Items waiting to be batched. */
  get depth(): number {
    return this.queue.length;
  }

  get runningBatches(): number {
    return this.running;
  }

  /**
   * Queues the items of one request and resolves with their outputs in order once every item has run.
   * Throws QueueFullError synchronously when they do not all fit, so no part of a refused request runs.
   */
  submit<I, O>(key: string, items: BatchItem<I>[], run: BatchRunner<I, O>): Promise<O[]> {
    if (this.queue.length + items.length > this.options.maxQueue) {
      throw new QueueFullError(
        this.queue.length,
        this.options.maxQueue,
        this.retryAfterSeconds(items.length),
      );
    }
    return new Promise<O[]>((resolve, reject) => {
      const outputs = new Array<O>(items.length);
      let remaining = items.length;
      let failed = false;
      if (remaining === 0) return resolve(outputs);
      const now = performance.now();
      const request = this.nextRequest++;
      items.forEach((item, i) => {
        this.queue.push({
          key,
          request,
          run: run as BatchRunner<unknown, unknown>,
          item,
          enqueuedAt: now,
          settle: (error, output) => {
            if (failed) return;
            if (error !== undefined) {
              failed = true;
              reject(error);
              return;
            }
            outputs[i] = output as O;
            if (--remaining === 0) resolve(outputs);
          },
        });
      });
      this.schedule();
    });
  }

  /** Runs everything queued without waiting for companions; resolves when the queue is empty and idle. */
  async drain(): Promise<void> {
    this.flushing = true;
    this.schedule();
    if (this.queue.length === 0 && this.running === 0) return;
    await new Promise<void>((resolve) => this.idleWaiters.push(resolve));
  }

  private retryAfterSeconds(incoming: number): number {
    const backlog = this.queue.length + incoming;
    const seconds = this.throughput > 0 ? backlog / this.throughput : 1;
    return Math.min(60, Math.max(1, Math.ceil(seconds)));
  }

  private schedule(): void {
    while (this.running < this.options.concurrency && this.queue.length > 0) {
      const { batch, full } = this.nextBatch();
      const oldest = this.queue[0]!.enqueuedAt;
      const waited = performance.now() - oldest;
      if (!full && !this.flushing && waited < this.options.maxWaitMs) {
        this.armTimer(oldest + this.options.maxWaitMs);
        return;
      }
      this.dispatch(batch);
    }
    if (this.queue.length === 0 && this.timer !== undefined) {
      // Nothing left to wait for: a pending timer would only keep the process alive.
      clearTimeout(this.timer);
      this.timer = undefined;
      this.timerDue = Infinity;
    }
    if (this.queue.length === 0 && this.running === 0) {
      const waiters = this.idleWaiters;
      this.idleWaiters = [];
      for (const resolve of waiters) resolve();
    }
  }

  /** Same-key items from the head of the queue, in arrival order, within the size and padded-token limits. */
  private nextBatch(): { batch: Pending<unknown, unknown>[]; full: boolean } {
    const key = this.queue[0]!.key;
    const batch: Pending<unknown, unknown>[] = [];
    let longest = 0;
    for (const pending of this.queue) {
      if (pending.key !== key) continue;
      const nextLongest = Math.max(longest, pending.item.tokens);
      if (batch.length > 0 && (batch.length + 1) * nextLongest > this.options.maxBatchTokens) {
        return { batch, full: true };
      }
      batch.push(pending);
      longest = nextLongest;
      if (batch.length >= this.options.maxBatchSize) return { batch, full: true };
    }
    return { batch, full: false };
  }

  private armTimer(due: number): void {
    if (this.timer !== undefined && this.timerDue <= due) return;
    clearTimeout(this.timer);
    this.timerDue = due;
    this.timer = setTimeout(
      () => {
        this.timer = undefined;
        this.timerDue = Infinity;
        this.schedule();
      },
      Math.max(0, due - performance.now()),
    );
  }

  private dispatch(batch: Pending<unknown, unknown>[]): void {
    const taken = new Set(batch);
    this.queue = this.queue.filter((pending) => !taken.has(pending));
    this.running++;
    const started = performance.now();
    const inputs = batch.map((pending) => pending.item.input);
    let realTokens = 0;
    let longest = 0;
    for (const pending of batch) {
      realTokens += pending.item.tokens;
      longest = Math.max(longest, pending.item.tokens);
    }
    void (async () => {
      const { outputs, failure } = await runChecked(batch[0]!.run, inputs);
      const seconds = (performance.now() - started) / 1000;
      const rate = batch.length / Math.max(seconds, 1e-6);
      this.throughput = this.throughput === 0 ? rate : 0.8 * this.throughput + 0.2 * rate;
      this.running--;
      try {
        // Before settling, so metrics already count this batch when its responses go out.
        this.onBatch({
          key: batch[0]!.key,
          size: batch.length,
          realTokens,
          paddedTokens: longest * batch.length,
          seconds,
        });
      } catch {
        // metrics must never fail a request
      }
      if (failure === undefined) {
        batch.forEach((pending, i) => pending.settle(undefined, outputs![i]));
      } else {
        await this.isolateFailure(batch, failure);
      }
      this.schedule();
    })();
  }

  /**
   * A failed batch that mixed several requests is re-run one request at a time, so that one bad input (which the
   * engine refuses) fails only the request that sent it, not everyone who happened to share its batch.
   */
  private async isolateFailure(batch: Pending<unknown, unknown>[], failure: unknown): Promise<void> {
    const byRequest = new Map<number, Pending<unknown, unknown>[]>();
    for (const pending of batch) {
      const group = byRequest.get(pending.request);
      if (group) group.push(pending);
      else byRequest.set(pending.request, [pending]);
    }
    if (byRequest.size === 1) {
      for (const pending of batch) pending.settle(failure);
      return;
    }
    this.running++;
    try {
      for (const group of byRequest.values()) {
        const retried = await runChecked(
          group[0]!.run,
          group.map((pending) => pending.item.input),
        );
        group.forEach((pending, i) =>
          retried.failure === undefined
            ? pending.settle(undefined, retried.outputs![i])
            : pending.settle(retried.failure),
        );
      }
    } finally {
      this.running--;
    }
  }
}

/** Runs a batch and checks it returned one output per input; never throws. */
async function runChecked(
  run: BatchRunner<unknown, unknown>,
  inputs: unknown[],
): Promise<{ outputs?: unknown[]; failure?: unknown }> {
  try {
    const outputs = await run(inputs);
    if (!Array.isArray(outputs) || outputs.length !== inputs.length) {
      throw new Error(
        `engine returned ${Array.isArray(outputs) ? outputs.length : 'no'} outputs for ${inputs.length} inputs`,
      );
    }
    return { outputs };
  } catch (error) {
    return { failure: error ?? new Error('batch failed') };
  }
}
