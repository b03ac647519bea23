/** The CLI's row input/output layer: readers, writers, resume, progress and the row-command driver. */
export type { InputRow, InputFormat } from './input-row.js';
export { INPUT_FORMATS } from './input-row.js';
export { readInputRows, countInputRows, resolveInputFormat, type InputSpec } from './input-source.js';
export { OUTPUT_FORMATS, type OutputFormat, type OutputRecord } from './output-format.js';
export {
  openRowWriter,
  OutputClosedError,
  resolveOutputFormat,
  WORK_FILE_SUFFIX,
  type OutputSpec,
  type RowWriter,
} from './row-writer.js';
export { scanOutputFile, type OutputScan } from './output-scan.js';
export { writeRanked } from './write-ranked.js';
export { manifestPath, type OutputManifest, type RunFingerprint } from './output-manifest.js';
export { interruptOnSignals, type Interruption } from './interrupt.js';
export { createRowProgress, formatSeconds, type RowProgress } from './progress.js';
export {
  runRowsCommand,
  type BatchProgress,
  type ProcessBatch,
  type RowsCommandIO,
  type RowsCommandOptions,
  type RowsCommandSummary,
} from './run-rows-command.js';
export { addRowsOptions, rowsOptionsFrom, DEFAULT_BATCH_SIZE, type RowsCliOptions } from './rows-options.js';
