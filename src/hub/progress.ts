/**
 * Download progress: an `onProgress` callback for API users, and a cli-progress bar per file on stderr when it is
 * a terminal (never in pipes or logs, where it would only add noise).
 */
import cliProgress from 'cli-progress';

export interface DownloadProgress {
  repoId: string;
  /** Repo path of the file, e.g. `model.safetensors`. */
  file: string;
  /** Bytes on disk so far, including bytes resumed from an earlier attempt. */
  downloadedBytes: number;
  /** Size announced by the Hub, when known. */
  totalBytes: number | undefined;
  /** True once, when the file is complete and verified. */
  done: boolean;
}

export type ProgressCallback = (progress: DownloadProgress) => void;

export interface FileProgress {
  update(downloadedBytes: number): void;
  finish(): void;
}

export interface ProgressReporter {
  start(file: string, totalBytes: number | undefined, downloadedBytes: number): FileProgress;
  stop(): void;
}

function formatBytes(bytes: number): string {
  const units = ['B', 'kB', 'MB', 'GB', 'TB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1000 && unit < units.length - 1) {
    value /= 1000;
    unit++;
  }
  return `${unit === 0 ? value : value.toFixed(1)} ${units[unit]}`;
}

/** Python shows "(…)" plus the last 20 characters of long names; do the same so bars line up. */
function displayName(file: string): string {
  return file.length > 22 ? `(…)${file.slice(-20)}` : file.padEnd(22);
}

export function createProgressReporter(
  repoId: string,
  options: { onProgress?: ProgressCallback; showBar: boolean },
): ProgressReporter {
  let multiBar: cliProgress.MultiBar | undefined;
  const bar = (): cliProgress.MultiBar => {
    multiBar ??= new cliProgress.MultiBar(
      {
        stream: process.stderr,
        format: '{name} |{bar}| {percentage}% {done}/{size}',
        hideCursor: true,
        clearOnComplete: false,
        autopadding: true,
      },
      cliProgress.Presets.shades_classic,
    );
    return multiBar;
  };
  return {
    start(file, totalBytes, downloadedBytes) {
      const size = totalBytes === undefined ? '?' : formatBytes(totalBytes);
      const fileBar = options.showBar
        ? bar().create(totalBytes ?? 0, downloadedBytes, {
            name: displayName(file),
            done: formatBytes(downloadedBytes),
            size,
          })
        : undefined;
      const report = (bytes: number, done: boolean): void => {
        fileBar?.update(bytes, { done: formatBytes(bytes) });
        options.onProgress?.({ repoId, file, downloadedBytes: bytes, totalBytes, done });
      };
      let last = downloadedBytes;
      report(downloadedBytes, false);
      return {
        update(bytes) {
          last = bytes;
          report(bytes, false);
        },
        finish() {
          report(last, true);
        },
      };
    },
    stop() {
      multiBar?.stop();
    },
  };
}
