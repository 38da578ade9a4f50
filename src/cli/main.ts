#!/usr/bin/env node
/** The onnx-cil command line. */
import yargs, { type CommandModule } from 'yargs';
import { hideBin } from 'yargs/helpers';
import { dataCommand } from './commands/data.js';
import { inspectCommand } from './commands/inspect.js';
import { trainCommand } from './commands/train.js';

/** Every command, in help order. */
export const COMMANDS: readonly CommandModule<any, any>[] = Object.freeze([trainCommand, inspectCommand, dataCommand]);

/**
 * Runs the CLI on `argv`; errors print as one clear line (set ONNX_CIL_DEBUG=1 for the stack).
 * @example await runCli(['train', '--epochs', '1']);
 */
export async function runCli(argv: string[]): Promise<void> {
  let cli = yargs(argv).scriptName('onnx-cil').strict().demandCommand(1, 'choose a command').recommendCommands().help().alias('h', 'help').version();
  for (const c of COMMANDS) cli = cli.command(c);
  await cli
    .fail((msg, err, y) => {
      if (err) throw err;
      process.stderr.write(`${y.help === undefined ? '' : ''}onnx-cil: ${msg}\nRun with --help for usage.\n`);
      process.exit(2);
    })
    .parseAsync();
}

const isMain = (() => {
  try {
    const self = new URL(import.meta.url).pathname;
    return process.argv[1] !== undefined && (self === process.argv[1] || self.replace(/\.ts$/, '.js') === process.argv[1] || self.endsWith(process.argv[1]!.replace(/^.*\//, '/')));
  } catch {
    return false;
  }
})();

if (isMain) {
  runCli(hideBin(process.argv)).catch((err: unknown) => {
    const e = err instanceof Error ? err : new Error(String(err));
    process.stderr.write(`onnx-cil: error: ${e.message}\n`);
    if (process.env['ONNX_CIL_DEBUG']) process.stderr.write(`${e.stack}\n`);
    process.exit(1);
  });
}
