/**
 * Dynamic batching across requests. Items from concurrent requests that share a batch key (same task, same
 * options) are run together, up to `maxBatchSize` items and `maxBatchTokens` padded tokens (items × longest item,
 * which is what a padded batch costs to run). A batch leaves as soon as it is full, or when its oldest item has
 * waited `maxWaitMs`. The queue is bounded: a request that does not fit is refused at once (the server answers
 * 429), so memory and latency stay bounded under overload.
 *
 * With `prepareAheadMs`, the next batch is formed and handed to the engine shortly before the running one is
 * expected to finish (from the measured time per token of recent batches), so the engine can tokenise it and queue
 * it on the ONNX Runtime thread while the cores are still busy; the runtime then starts it without waiting for
 * the main thread. Without it, the cores sat idle for that preparation between every two batches.
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
  /**
   * When every slot is busy, hand one more batch to the engine this many ms before the earliest running batch is
   * expected to finish (0 or unset: never). It waits behind the running batch in the engine.
   */
  prepareAheadMs?: number;
}

export interface BatchStats {
  key: string;
  size: number;
  /** Sum of item tokens. */
  realTokens: number;
  /** size × longest item. */
  paddedTokens: number;
  /** From the batch taking a slot (not from being prepared ahead) to its outputs. */
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

/**
 * How uneven consecutive batches may be (see `lastEnded`): with 64 clients, sizes settle at no worse than 29 and
 * 35. Closer to 1, nearly equal batches would keep waiting on each other for the last few inputs.
 */
const BALANCE = 0.8;

/** The share of a running batch's estimated time after which its end counts as expected (prepareAheadDue). */
const ESTIMATE_SHARE = 0.9;

/** Runs one batch of same-key inputs and returns one output per input, in order. */
export type BatchRunner<I, O> = (inputs: I[]) => Promise<O[]>;

/** A batch handed to the engine and not yet finished. */
interface InFlight {
  /** When it took a slot: its dispatch, or for a batch prepared ahead, the end of the batch it waited behind. */
  started: number;
  size: number;
  realTokens: number;
  /** Prepared ahead and still waiting for a slot. */
  ahead: boolean;
}

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
  private readonly inFlight = new Set<InFlight>();
  /** Requests being re-run one at a time after a failed batch (see isolateFailure); they hold a slot. */
  private retrying = 0;
  private timer: NodeJS.Timeout | undefined;
  private timerDue = Infinity;
  private flushing = false;
  private idleWaiters: (() => void)[] = [];
  /** Items per second over recent batches (for Retry-After). */
  private throughput = 0;
  /** Seconds per real token over recent batches (to foresee when the running batch ends); 0 until one ends. */
  private secondsPerToken = 0;
  /**
   * Size and end time of the last batch to finish. A server's clients send again as soon as they are answered,
   * so with concurrency 1 and N busy clients, batch sizes alternate a, N - a, a, ... for as long as each batch
   * takes everything queued. Started unevenly (the first request arrives alone), 64 clients locked into 8 and 56
   * on the DistilBERT-base checkpoint, and a batch of 7 or 8 cost about 30% more per input than one of 32. A
   * batch smaller than BALANCE × the one that just ended therefore waits for companions up to 2 × maxWaitMs from
   * that end (twice, because the window also covers sending the responses that prompt those inputs), so the
   * answered clients' next inputs can join it; the sizes even out within a few batches.
   */
  private lastEnded = { size: 0, at: 0 };
  private nextRequest = 0;

  constructor(
    private readonly options: BatcherOptions,
    private readonly onBatch: (stats: BatchStats) => void = () => {},
  ) {}

  /** Items waiting to be batched. */
  get depth(): number {
    return this.queue.length;
  }

  /** Batches allowed to run at once. */
  get concurrency(): number {
    return this.options.concurrency;
  }

  /** Batches handed to the engine and not finished (a batch prepared ahead counts). */
  get runningBatches(): number {
    return this.inFlight.size + this.retrying;
  }

  /** Batches holding a slot. */
  private get active(): number {
    let active = this.retrying;
    for (const batch of this.inFlight) if (!batch.ahead) active++;
    return active;
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
    if (this.queue.length === 0 && this.runningBatches === 0) return;
    await new Promise<void>((resolve) => this.idleWaiters.push(resolve));
  }

  /** Fails every input still waiting (not yet handed to the engine) with `error`; batches already running go on. */
  failQueued(error: unknown): void {
    const queued = this.queue;
    this.queue = [];
    for (const pending of queued) pending.settle(error);
    this.schedule();
  }

  private retryAfterSeconds(incoming: number): number {
    const backlog = this.queue.length + incoming;
    const seconds = this.throughput > 0 ? backlog / this.throughput : 1;
    return Math.min(60, Math.max(1, Math.ceil(seconds)));
  }

  private schedule(): void {
    while (this.queue.length > 0) {
      if (this.active < this.options.concurrency) {
        const { batch, full } = this.nextBatch();
        // A batch much smaller than the one that just ended waits for the answered clients' next inputs: see
        // `lastEnded`.
        const small = batch.length < BALANCE * this.lastEnded.size;
        const due = small
          ? Math.max(
              this.queue[0]!.enqueuedAt + this.options.maxWaitMs,
              this.lastEnded.at + 2 * this.options.maxWaitMs,
            )
          : this.queue[0]!.enqueuedAt + this.options.maxWaitMs;
        if (!full && !this.flushing && performance.now() < due) {
          this.armTimer(due);
          break;
        }
        this.dispatch(batch, false);
      } else {
        const due = this.prepareAheadDue();
        if (due === Number.POSITIVE_INFINITY) break;
        if (performance.now() < due) {
          this.armTimer(due);
          break;
        }
        const { batch } = this.nextBatch();
        // Prepared ahead, a small batch would lock in the alternation `lastEnded` is there to break.
        if (batch.length < BALANCE * this.earliestRunning()!.size) break;
        this.dispatch(batch, true);
      }
    }
    if (this.queue.length === 0 && this.timer !== undefined) {
      // Nothing left to wait for: a pending timer would only keep the process alive.
      clearTimeout(this.timer);
      this.timer = undefined;
      this.timerDue = Infinity;
    }
    if (this.queue.length === 0 && this.runningBatches === 0) {
      const waiters = this.idleWaiters;
      this.idleWaiters = [];
      for (const resolve of waiters) resolve();
    }
  }

  /**
   * When to hand the next batch to the engine ahead of a free slot: `prepareAheadMs` before the earliest running
   * batch is expected to end. The expected end is taken at 90% of the estimate (real tokens × the recent time per
   * token), because batch times scatter around it by about that much, and an end foreseen too late leaves the
   * cores idle while the next batch is prepared. Never while one batch is already prepared ahead, or before any
   * batch has ended (no time per token measured yet).
   */
  private prepareAheadDue(): number {
    const lead = this.options.prepareAheadMs ?? 0;
    if (lead <= 0 || this.secondsPerToken === 0) return Number.POSITIVE_INFINITY;
    for (const batch of this.inFlight) if (batch.ahead) return Number.POSITIVE_INFINITY;
    const earliest = this.earliestRunning();
    return earliest === undefined ? Number.POSITIVE_INFINITY : this.expectedEnd(earliest) - lead;
  }

  /** The running batch expected to end first. */
  private earliestRunning(): InFlight | undefined {
    let earliest: InFlight | undefined;
    for (const batch of this.inFlight) {
      if (!batch.ahead && (earliest === undefined || this.expectedEnd(batch) < this.expectedEnd(earliest))) {
        earliest = batch;
      }
    }
    return earliest;
  }

  private expectedEnd(batch: InFlight): number {
    return batch.started + ESTIMATE_SHARE * batch.realTokens * this.secondsPerToken * 1000;
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

  private dispatch(batch: Pending<unknown, unknown>[], ahead: boolean): void {
    const taken = new Set(batch);
    this.queue = this.queue.filter((pending) => !taken.has(pending));
    const inputs = batch.map((pending) => pending.item.input);
    let realTokens = 0;
    let longest = 0;
    for (const pending of batch) {
      realTokens += pending.item.tokens;
      longest = Math.max(longest, pending.item.tokens);
    }
    const record: InFlight = { started: performance.now(), size: batch.length, realTokens, ahead };
    this.inFlight.add(record);
    void (async () => {
      const { outputs, failure } = await runChecked(batch[0]!.run, inputs);
      const now = performance.now();
      this.lastEnded = { size: batch.length, at: now };
      this.inFlight.delete(record);
      if (!record.ahead) {
        // Its slot passes to the batch prepared ahead, which has been waiting behind it in the engine.
        for (const waiting of this.inFlight) {
          if (waiting.ahead) {
            waiting.ahead = false;
            waiting.started = now;
            break;
          }
        }
      }
      const seconds = Math.max((now - record.started) / 1000, 1e-6);
      const rate = batch.length / seconds;
      this.throughput = this.throughput === 0 ? rate : 0.8 * this.throughput + 0.2 * rate;
      if (failure === undefined && realTokens > 0) {
        const perToken = seconds / realTokens;
        this.secondsPerToken =
          this.secondsPerToken === 0 ? perToken : 0.8 * this.secondsPerToken + 0.2 * perToken;
      }
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
    this.retrying++;
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
      this.retrying--;
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
