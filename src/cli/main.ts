/**
 * The `seqbatch` command line. Each command lives in its own module under ./commands and registers itself on the
 * commander program; this file only assembles them and turns typed errors into one-line messages.
 */
import { Command, CommanderError } from 'commander';
import { SeqbatchError } from '../errors.js';
import * as tokenizeCommand from './commands/tokenize.js';
import * as forwardCommand from './commands/forward.js';
import * as exportCommand from './commands/export.js';
import * as inspectCommand from './commands/inspect.js';
import * as classifyCommand from './commands/classify.js';
import * as embedCommand from './commands/embed.js';
import * as rerankCommand from './commands/rerank.js';
import * as similarityCommand from './commands/similarity.js';
import * as nerCommand from './commands/ner.js';
import * as qaCommand from './commands/qa.js';
import * as fillMaskCommand from './commands/fill-mask.js';
import * as zeroShotCommand from './commands/zero-shot.js';
import * as serveCommand from './commands/serve.js';
import * as vizCommand from './commands/viz.js';
import * as benchCommand from './commands/bench.js';
import * as downloadCommand from './commands/download.js';
import * as jobsCommand from './commands/jobs.js';

/** Each command module exports `register(program)`. Add new commands to this list. */
const commandModules: Array<{ register(program: Command): void }> = [
  tokenizeCommand,
  forwardCommand,
  exportCommand,
  inspectCommand,
  classifyCommand,
  embedCommand,
  rerankCommand,
  similarityCommand,
  nerCommand,
  qaCommand,
  fillMaskCommand,
  zeroShotCommand,
  serveCommand,
  vizCommand,
  benchCommand,
  downloadCommand,
  jobsCommand,
];

export function buildProgram(): Command {
  const program = new Command();
  program
    .name('seqbatch')
    .description(
      'Exact Hugging Face tokenization and BERT-family encoders on ONNX Runtime for many sequences',
    )
    .version('0.1.0')
    .exitOverride();
  for (const module of commandModules) module.register(program);
  return program;
}

export async function main(argv: string[]): Promise<void> {
  const program = buildProgram();
  try {
    await program.parseAsync(argv);
  } catch (error) {
    if (error instanceof CommanderError) {
      // commander already printed its message (usage errors, --help, --version).
      process.exitCode = error.exitCode;
      return;
    }
    if (error instanceof SeqbatchError) {
      process.stderr.write(`seqbatch: ${error.message}\n`);
      process.exitCode = 2;
      return;
    }
    throw error;
  }
}
