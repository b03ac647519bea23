/**
 * Running statistics of a batched run: how much of the computed work was padding and how fast sequences and
 * tokens go through. One accumulator per run; callbacks receive immutable snapshots.
 */

export interface BatchRunStats {
  /** Sequences whose batch has finished. */
  sequences: number;
  batches: number;
  /** Tokens that are not padding (Σ lengths). */
  realTokens: number;
  /** Tokens the model computed: Σ rows × paddedLength. */
  paddedTokens: number;
  /** (paddedTokens − realTokens) / paddedTokens; 0 before any token. */
  paddingRatio: number;
  /** Wall time since the run started pulling input, in milliseconds. */
  elapsedMs: number;
  /** Sum of the time spent inside `runBatch` calls (exceeds elapsedMs when batches overlap). */
  runBatchMs: number;
  sequencesPerSecond: number;
  /** Real (unpadded) tokens per second of wall time. */
  tokensPerSecond: number;
  /** Computed (padded) tokens per second of wall time. */
  paddedTokensPerSecond: number;
  /** True on the final snapshot, once all input has been processed. */
  done: boolean;
}

export class BatchRunStatsAccumulator {
  private readonly startedAt = performance.now();
  private sequences = 0;
  private batches = 0;
  private realTokens = 0;
  private paddedTokens = 0;
  private runBatchMs = 0;

  addBatch(rows: number, paddedLength: number, realTokens: number, durationMs: number): void {
    this.sequences += rows;
    this.batches += 1;
    this.realTokens += realTokens;
    this.paddedTokens += rows * paddedLength;
    this.runBatchMs += durationMs;
  }

  snapshot(done = false): BatchRunStats {
    const elapsedMs = performance.now() - this.startedAt;
    const perSecond = (n: number) => (elapsedMs > 0 ? (n * 1000) / elapsedMs : 0);
    return {
      sequences: this.sequences,
      batches: this.batches,
      realTokens: this.realTokens,
      paddedTokens: this.paddedTokens,
      paddingRatio: this.paddedTokens === 0 ? 0 : (this.paddedTokens - this.realTokens) / this.paddedTokens,
      elapsedMs,
      runBatchMs: this.runBatchMs,
      sequencesPerSecond: perSecond(this.sequences),
      tokensPerSecond: perSecond(this.realTokens),
      paddedTokensPerSecond: perSecond(this.paddedTokens),
      done,
    };
  }
}
