/**
 * The model flags every model command shares (`--model`, `--revision`, `--offline`, `--tokenizer`, `--threads`,
 * `--no-graph-cache`, `--packed`) and the pipeline loading behind them: a folder or Hub id through `resolveModel`, the bundled
 * demo checkpoint when the command has one as its default.
 */
import { Option, type Command } from 'commander';
import { InputError } from '../../errors.js';
import { resolveModel, type ResolveModelOptions } from '../../hub/index.js';
import type { PipelineOptions } from '../../pipelines/index.js';
import { Tokenizer } from '../../tokenizers/tokenizer.js';
import { DEFAULT_MODEL_NAME, defaultModelDir } from '../default-model.js';
import {
  DEFAULT_INT8_WEIGHTS,
  INT8_WEIGHT_SCHEMES,
  type Int8WeightScheme,
} from '../../models/layers/int8.js';
import { integerFlag, listFlag } from './shared-flags.js';

/** What commander hands the action for the options added by addModelOptions. */
export interface ModelCliOptions {
  model?: string;
  revision?: string;
  offline?: boolean;
  tokenizer?: string;
  threads?: string;
  graphCache?: boolean;
  packed?: 'auto' | 'true' | 'false';
  dtype?: 'fp32' | 'int8';
  int8Exclude?: string;
  int8Weights?: Int8WeightScheme;
  allowHeadMismatch?: boolean;
}

export interface ModelFlagsSpec {
  /** The bundled demo checkpoint is the default (`classify`, `embed`, ...); otherwise --model is required. */
  defaultsToDemo: boolean;
  /** What kind of checkpoint the command needs, for --help. */
  needs: string;
  /** The command runs a pipeline task whose head is checked: it takes --allow-head-mismatch. */
  checksHead?: boolean;
}

export function addModelOptions(command: Command, spec: ModelFlagsSpec): Command {
  const modelHelp =
    `${spec.needs}: a checkpoint folder or a Hub id (org/name[@revision])` +
    (spec.defaultsToDemo ? ' (default: the bundled seqbatch-demo-sst2 sentiment model)' : '');
  command
    .addOption(
      spec.defaultsToDemo
        ? new Option('-m, --model <dir-or-id>', modelHelp)
        : new Option('-m, --model <dir-or-id>', modelHelp).makeOptionMandatory(),
    )
    .option('--revision <rev>', 'Hub branch, tag or commit (default: main)')
    .option('--offline', 'never contact the Hub: use only the local cache (as HF_HUB_OFFLINE=1)')
    .option('--tokenizer <dir>', "use this tokenizer folder instead of the model's")
    .option('--threads <n>', 'ONNX Runtime intra-op threads for one model run (default 2)')
    .option('--no-graph-cache', 'build the ONNX graph afresh instead of reusing the cached one')
    .addOption(
      new Option('--packed <mode>', 'padding-free execution: auto (batches over 5% padding), true or false')
        .choices(['auto', 'true', 'false'])
        .default('auto'),
    );
  addDtypeOptions(command);
  if (spec.checksHead) {
    command.option(
      '--allow-head-mismatch',
      "run even when config.json's architectures name a head that does not fit the task (refused by default)",
    );
  }
  return command;
}

export interface ResolvedModelFlags {
  /** The --model value as given (or the demo model's name): for messages and reports. */
  modelId: string;
  /** Local folder of the checkpoint, after any download. */
  dir: string;
  /** Loading options for `pipeline()`. */
  load: PipelineOptions;
}

/** Resolves --model (downloading a Hub id unless --offline) and reads the loading flags. */
export async function resolveModelFlags(options: ModelCliOptions): Promise<ResolvedModelFlags> {
  const modelId = options.model ?? DEFAULT_MODEL_NAME;
  if (options.model === '') {
    throw new InputError('--model: expected a folder or a Hub id, got ""', { argument: '--model' });
  }
  const hub: ResolveModelOptions = {};
  if (options.revision !== undefined) hub.revision = options.revision;
  if (options.offline) hub.offline = true;
  const dir = await resolveModel(options.model ?? defaultModelDir(), hub);
  const threads = integerFlag(options.threads, '--threads');
  const load: PipelineOptions = {};
  if (threads !== undefined) load.threads = threads;
  if (options.graphCache === false) load.cacheDir = false;
  if (options.allowHeadMismatch) load.allowHeadMismatch = true;
  if (options.packed !== undefined)
    load.packed = options.packed === 'auto' ? 'auto' : options.packed === 'true';
  Object.assign(load, dtypeFlags(options));
  if (options.tokenizer !== undefined) load.tokenizer = await Tokenizer.fromPretrained(options.tokenizer);
  return { modelId, dir, load };
}

/** `--dtype`, `--int8-exclude` and `--int8-weights`, on every command that loads a model (read back with `dtypeFlags`). */
export function addDtypeOptions(command: Command): Command {
  return command
    .addOption(
      new Option('--dtype <dtype>', 'fp32, or int8: quantized matrix products (docs/models.md, "int8")')
        .choices(['fp32', 'int8'])
        .default('fp32'),
    )
    .option(
      '--int8-exclude <layers>',
      'with --dtype int8: comma-separated Linear layer names kept in fp32 (default: pooler,pre_classifier,classifier)',
    )
    .addOption(
      new Option(
        '--int8-weights <scheme>',
        `with --dtype int8: per-channel weight quantization (default: ${DEFAULT_INT8_WEIGHTS})`,
      ).choices(INT8_WEIGHT_SCHEMES),
    );
}

/** What commander hands the action for the options added by addDtypeOptions. */
export type DtypeCliOptions = Pick<ModelCliOptions, 'dtype' | 'int8Exclude' | 'int8Weights'>;

/** The loading options of --dtype, --int8-exclude and --int8-weights (an empty object for fp32). */
export function dtypeFlags(options: DtypeCliOptions): {
  dtype?: 'int8';
  int8Exclude?: string[];
  int8Weights?: Int8WeightScheme;
} {
  const exclude = listFlag(options.int8Exclude, '--int8-exclude');
  for (const [flag, given] of [
    ['--int8-exclude', exclude],
    ['--int8-weights', options.int8Weights],
  ] as const) {
    if (given !== undefined && options.dtype !== 'int8') {
      throw new InputError(`${flag}: only meaningful with --dtype int8`, { argument: flag });
    }
  }
  if (options.dtype !== 'int8') return {};
  return {
    dtype: 'int8',
    ...(exclude === undefined ? {} : { int8Exclude: exclude }),
    ...(options.int8Weights === undefined ? {} : { int8Weights: options.int8Weights }),
  };
}
