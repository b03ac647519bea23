/**
 * `seqbatch inspect --model DIR`: what a checkpoint folder holds, without running it: the config summary (type,
 * head, sizes, labels), the parameter count from the safetensors headers (the tensor data is never read), the
 * tokenizer summary when tokenizer files exist, and the longest input the model and tokenizer accept.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { Command } from 'commander';
import { SeqbatchError, WeightsError } from '../../errors.js';
import { AutoConfig } from '../../models/config.js';
import { taskFromConfig } from '../../models/index.js';
import { Tokenizer } from '../../tokenizers/tokenizer.js';
import { readShardIndex, SAFETENSORS_FILE, SAFETENSORS_INDEX_FILE } from '../../weights/load.js';
import { readSafetensorsHeader } from '../../weights/safetensors.js';
import type { SafetensorsDtype } from '../../weights/types.js';

export interface InspectReport {
  model: string;
  modelType: string;
  architectures: string[];
  task: string;
  hiddenSize: number;
  numHiddenLayers: number;
  numAttentionHeads: number;
  vocabSize: number;
  maxPositionEmbeddings: number;
  labels: Record<number, string> | null;
  problemType: string | null;
  weights: {
    files: string[];
    tensors: number;
    parameters: number;
    dtypes: Partial<Record<SafetensorsDtype, number>>;
    bytes: number;
  } | null;
  tokenizer: {
    model: string;
    vocabSize: number;
    modelMaxLength: number | null;
    specialTokens: Record<string, string>;
  } | null;
  /** Why the tokenizer could not be summarised, when files exist but do not load. */
  tokenizerError?: string;
  /** The longest input accepted: the position table's limit, capped by the tokenizer's model_max_length. */
  maxLength: number;
}

const TOKENIZER_FILES = ['tokenizer.json', 'vocab.txt', 'vocab.json'];

async function weightsSummary(dir: string): Promise<InspectReport['weights']> {
  let files: string[];
  if (existsSync(join(dir, SAFETENSORS_FILE))) files = [join(dir, SAFETENSORS_FILE)];
  else if (existsSync(join(dir, SAFETENSORS_INDEX_FILE))) {
    // Validated like loadWeights does (JSON, weight_map shape, shard names inside the folder).
    const weightMap = await readShardIndex(dir, join(dir, SAFETENSORS_INDEX_FILE));
    files = [...new Set(weightMap.values())].sort();
  } else return null;
  const summary = {
    files,
    tensors: 0,
    parameters: 0,
    dtypes: {} as Partial<Record<SafetensorsDtype, number>>,
    bytes: 0,
  };
  for (const file of files) {
    if (!existsSync(file)) throw new WeightsError(`${file}: shard listed in the index is missing`, { file });
    const header = await readSafetensorsHeader(file);
    for (const t of header.tensors) {
      summary.tensors++;
      summary.parameters += t.size;
      summary.bytes += t.end - t.begin;
      summary.dtypes[t.dtype] = (summary.dtypes[t.dtype] ?? 0) + t.size;
    }
  }
  return summary;
}

export async function inspectModel(dir: string): Promise<InspectReport> {
  const config = AutoConfig.fromPretrained(dir);
  const report: InspectReport = {
    model: dir,
    modelType: config.modelType,
    architectures: [...config.architectures],
    task: taskFromConfig(config.toJSON(), config.file),
    hiddenSize: config.hiddenSize,
    numHiddenLayers: config.numHiddenLayers,
    numAttentionHeads: config.numAttentionHeads,
    vocabSize: config.vocabSize,
    maxPositionEmbeddings: config.maxPositionEmbeddings,
    labels: config.raw.id2label === undefined ? null : { ...config.id2label },
    problemType: config.problemType ?? null,
    weights: await weightsSummary(dir),
    tokenizer: null,
    maxLength: config.maxSequenceLength,
  };
  if (TOKENIZER_FILES.some((f) => existsSync(join(dir, f)))) {
    try {
      const tokenizer = await Tokenizer.fromPretrained(dir, { onWarning: () => {} });
      const special: Record<string, string> = {};
      for (const [role, token] of Object.entries(tokenizer.specialTokens)) {
        if (typeof token === 'string') special[role] = token;
      }
      const modelMaxLength = Number.isFinite(tokenizer.modelMaxLength) ? tokenizer.modelMaxLength : null;
      report.tokenizer = {
        model: tokenizer.pipeline.model.type,
        vocabSize: tokenizer.vocabSize,
        modelMaxLength,
        specialTokens: special,
      };
      if (modelMaxLength !== null) report.maxLength = Math.min(report.maxLength, modelMaxLength);
    } catch (error) {
      if (!(error instanceof SeqbatchError)) throw error;
      report.tokenizerError = error.message;
    }
  }
  return report;
}

function formatCount(n: number): string {
  if (n >= 1e9) return `${(n / 1e9).toFixed(2)}B`;
  if (n >= 1e6) return `${(n / 1e6).toFixed(1)}M`;
  if (n >= 1e3) return `${(n / 1e3).toFixed(1)}K`;
  return String(n);
}

export function formatReport(r: InspectReport): string {
  const lines = [
    `model        ${r.model}`,
    `type         ${r.modelType} (${r.architectures.join(', ') || 'no architectures listed'}; task ${r.task})`,
    `size         hidden ${r.hiddenSize}, layers ${r.numHiddenLayers}, heads ${r.numAttentionHeads}, vocab ${r.vocabSize}`,
    `positions    max_position_embeddings ${r.maxPositionEmbeddings}`,
  ];
  if (r.labels) {
    const labels = Object.entries(r.labels).map(([id, label]) => `${id}=${label}`);
    lines.push(
      `labels       ${labels.length}: ${labels.join(', ')}${r.problemType ? ` (${r.problemType})` : ''}`,
    );
  }
  if (r.weights) {
    const dtypes = Object.entries(r.weights.dtypes).map(([d, n]) => `${d} ${formatCount(n)}`);
    lines.push(
      `parameters   ${formatCount(r.weights.parameters)} (${r.weights.parameters}) in ${r.weights.tensors} tensors, ` +
        `${(r.weights.bytes / 2 ** 20).toFixed(1)} MiB [${dtypes.join(', ')}] in ${r.weights.files.length} file(s)`,
    );
  } else {
    lines.push('parameters   no model.safetensors (or index) found');
  }
  if (r.tokenizer) {
    const special = Object.entries(r.tokenizer.specialTokens).map(([role, token]) => `${role} ${token}`);
    lines.push(
      `tokenizer    ${r.tokenizer.model}, vocab ${r.tokenizer.vocabSize}, model_max_length ` +
        `${r.tokenizer.modelMaxLength ?? 'unset'}; special: ${special.join(', ') || 'none'}`,
    );
  } else if (r.tokenizerError) {
    lines.push(`tokenizer    failed to load: ${r.tokenizerError}`);
  } else {
    lines.push('tokenizer    no tokenizer files');
  }
  lines.push(`max length   ${r.maxLength} tokens`);
  return `${lines.join('\n')}\n`;
}

export function register(program: Command): void {
  program
    .command('inspect')
    .description('summarise a checkpoint folder: config, parameter count, tokenizer, max length')
    .requiredOption('--model <dir>', 'checkpoint folder')
    .option('--json', 'print the summary as JSON')
    .action(async (options: { model: string; json?: boolean }) => {
      const report = await inspectModel(options.model);
      process.stdout.write(options.json ? `${JSON.stringify(report, null, 2)}\n` : formatReport(report));
    });
}
