/**
 * A progress bar (rows done, rate, ETA) on stderr, drawn only when stderr is a terminal so that logs and pipes
 * stay clean. The total may arrive later (it is counted in the background) or never (stdin).
 */
import cliProgress from 'cli-progress';

export interface RowProgress {
  /** Rows finished so far (including rows skipped by --resume). */
  update(done: number): void;
  /**
   * Model rows this run finished so far, shown beside the rows once reported: a row may be thousands of sliding
   * windows, which then show progress within it.
   */
  modelRows(done: number): void;
  setTotal(total: number): void;
  stop(): void;
}

const SILENT: RowProgress = { update() {}, modelRows() {}, setTotal() {}, stop() {} };

export interface ProgressOptions {
  /** true/false forces it; 'auto' (default) draws only when `stream` is a TTY. */
  enabled?: boolean | 'auto';
  stream?: NodeJS.WriteStream;
  /** Rows already done before this run (resume), so the rate counts only this run's work. */
  start?: number;
}

export function createRowProgress(options: ProgressOptions = {}): RowProgress {
  const stream = options.stream ?? process.stderr;
  const enabled = options.enabled ?? 'auto';
  if (enabled === false || (enabled === 'auto' && !stream.isTTY)) return SILENT;
  const start = options.start ?? 0;
  const startedAt = Date.now();
  let total = 0;
  const bar = new cliProgress.SingleBar(
    {
      stream,
      format: (opts, params, payload: { rate: string; modelRows?: number }) => {
        const rate = `${payload.rate} rows/s`;
        const model = payload.modelRows === undefined ? '' : ` (${payload.modelRows} model rows)`;
        if (params.total <= 0) return `${params.value} rows${model} | ${rate}`;
        const barWidth = opts.barsize ?? 30;
        const filled = Math.round(params.progress * barWidth);
        const bar = '█'.repeat(filled) + '░'.repeat(barWidth - filled);
        const eta = params.eta > 0 && Number.isFinite(params.eta) ? formatSeconds(params.eta) : '--';
        return `${bar} ${Math.floor(params.progress * 100)}% | ${params.value}/${params.total} rows${model} | ${rate} | ETA ${eta}`;
      },
      hideCursor: true,
      clearOnComplete: false,
      etaBuffer: 50,
      fps: 5,
    },
    cliProgress.Presets.shades_classic,
  );
  bar.start(0, start, { rate: '0' });
  let rowsDone = start;
  return {
    update(done) {
      rowsDone = done;
      const seconds = (Date.now() - startedAt) / 1000;
      const rate = seconds > 0 ? ((done - start) / seconds).toFixed(1) : '0';
      bar.update(done, { rate });
    },
    modelRows(done) {
      bar.update(rowsDone, { modelRows: done });
    },
    setTotal(value) {
      total = value;
      bar.setTotal(total);
    },
    stop() {
      bar.stop();
    },
  };
}

/** `42s`, `3m07s`, `2h05m`. */
export function formatSeconds(seconds: number): string {
  const s = Math.round(seconds);
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
  return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
}
