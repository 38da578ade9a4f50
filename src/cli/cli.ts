/** The onnx-cil command line: commands and the yargs parser (main.ts runs it). */
import yargs, { type CommandModule } from 'yargs';
import { dataCommand } from './commands/data.js';
import { doctorCommand } from './commands/doctor.js';
import { evalCommand } from './commands/eval.js';
import { exportCommand } from './commands/export.js';
import { incrementCommand } from './commands/increment.js';
import { inspectCommand } from './commands/inspect.js';
import { predictCommand } from './commands/predict.js';
import { runCommand } from './commands/run.js';
import { trainCommand } from './commands/train.js';

/** Every command, in help order. */
// biome-ignore lint/suspicious/noExplicitAny: yargs' CommandModule is invariant in its argument types, so commands with different arguments share no other element type
export const COMMANDS: readonly CommandModule<any, any>[] = Object.freeze([
  trainCommand,
  runCommand,
  incrementCommand,
  exportCommand,
  predictCommand,
  evalCommand,
  inspectCommand,
  dataCommand,
  doctorCommand,
]);

/**
 * Runs the CLI on `argv`; errors print as one clear line (set ONNX_CIL_DEBUG=1 for the stack).
 * @example await runCli(['train', '--epochs', '1']);
 */
export async function runCli(argv: string[]): Promise<void> {
  let cli = yargs(argv).scriptName('onnx-cil').strict().demandCommand(1, 'choose a command').recommendCommands().help().alias('h', 'help').version();
  for (const c of COMMANDS) cli = cli.command(c);
  await cli
    .fail((msg, err) => {
      if (err) throw err;
      // Usage mistakes (unknown flag, missing argument) print like every other error: one line, exit status 1.
      process.stderr.write(`onnx-cil: error: ${oneLine(msg)} (see --help)\n`);
      process.exit(1);
    })
    .parseAsync();
}

/** A message on one line: multi-line messages (validation reports) are joined with "; ". */
function oneLine(message: string): string {
  return message
    .split('\n')
    .map((l) => l.trim())
    .filter(Boolean)
    .join('; ');
}

/**
 * Prints an error as one clear line (the stack only with ONNX_CIL_DEBUG=1) and sets a failing exit code.
 * @example runCli(argv).catch(reportError); // "onnx-cil: error: --threads must be a positive integer, got 0"
 */
export function reportError(err: unknown): void {
  const e = err instanceof Error ? err : new Error(String(err));
  process.stderr.write(`onnx-cil: error: ${oneLine(e.message)}\n`);
  if (process.env['ONNX_CIL_DEBUG']) process.stderr.write(`${e.stack}\n`);
  process.exitCode = 1;
}
