/**
 * The CLI's command table (src/cli/main.ts): each entry's name is the command its module registers, a command
 * line naming a command loads that command's module alone, and anything else (help, a typo) gets every command.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { buildProgram, COMMAND_MODULES } from '../src/cli/main.js';

test('every command in the table registers the command it is listed under, in the table order', async () => {
  const program = await buildProgram();
  assert.deepEqual(
    program.commands.map((command) => command.name()),
    COMMAND_MODULES.map(([name]) => name),
  );
});

test('a command line naming a command registers that command alone; --help and unknown names get all', async () => {
  for (const name of ['classify', 'jobs', 'serve']) {
    const program = await buildProgram(['node', 'seqbatch', name, '--help']);
    assert.deepEqual(
      program.commands.map((command) => command.name()),
      [name],
    );
  }
  for (const argv of [
    ['node', 'seqbatch', '--help'],
    ['node', 'seqbatch', 'clasify'],
    ['node', 'seqbatch'],
  ]) {
    assert.equal((await buildProgram(argv)).commands.length, COMMAND_MODULES.length, argv.join(' '));
  }
});
