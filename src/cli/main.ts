/**
 * The `seqbatch` command line. Each command lives in its own module under ./commands and registers itself on the
 * commander program; this file only assembles them (loading the one a command line names) and turns typed errors
 * into one-line messages.
 */
import { Command, CommanderError } from 'commander';
import { SeqbatchError } from '../errors.js';
/** What a command module exports: `register(program)` declares the command, its flags and its action. */
type CommandModule = { register(program: Command): void };

/**
 * Every command, by name, with its module. A module is loaded only when its command runs (each pulls in its own
 * dependencies: ONNX Runtime, fastify, BullMQ, ...; loading them all took most of a second before any work), or
 * all of them when no known command is named (`--help`, `help`, a typo), so the help still lists every command.
 * Add new commands to this list (the name is the one the module registers; test/cli-main.test.ts checks it).
 */
export const COMMAND_MODULES: ReadonlyArray<readonly [name: string, load: () => Promise<CommandModule>]> = [
  ['tokenize', () => import('./commands/tokenize.js')],
  ['forward', () => import('./commands/forward.js')],
  ['export', () => import('./commands/export.js')],
  ['inspect', () => import('./commands/inspect.js')],
  ['classify', () => import('./commands/classify.js')],
  ['embed', () => import('./commands/embed.js')],
  ['rerank', () => import('./commands/rerank.js')],
  ['similarity', () => import('./commands/similarity.js')],
  ['ner', () => import('./commands/ner.js')],
  ['qa', () => import('./commands/qa.js')],
  ['fill-mask', () => import('./commands/fill-mask.js')],
  ['zero-shot', () => import('./commands/zero-shot.js')],
  ['serve', () => import('./commands/serve.js')],
  ['viz', () => import('./commands/viz.js')],
  ['bench', () => import('./commands/bench.js')],
  ['download', () => import('./commands/download.js')],
  ['jobs', () => import('./commands/jobs.js')],
];

/**
 * The program with the command `argv` names (`['node', 'seqbatch', 'classify', ...]`) registered, or every
 * command when it names none of them (or without `argv`).
 */
export async function buildProgram(argv?: readonly string[]): Promise<Command> {
  const program = new Command();
  program
    .name('seqbatch')
    .description(
      'Exact Hugging Face tokenization and BERT-family encoders on ONNX Runtime for many sequences',
    )
    .version('0.1.0')
    .exitOverride();
  const named = COMMAND_MODULES.filter(([name]) => name === argv?.[2]);
  const modules = await Promise.all((named.length > 0 ? named : COMMAND_MODULES).map(([, load]) => load()));
  for (const module of modules) module.register(program);
  return program;
}

export async function main(argv: string[]): Promise<void> {
  const program = await buildProgram(argv);
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
