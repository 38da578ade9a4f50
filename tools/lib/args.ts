/**
 * Command lines of the tool scripts: node's own `parseArgs` (strict, so a mistyped flag is an error rather than
 * ignored), `--help`/`-h` printing the script's header comment, and checked numbers (parseArgs yields strings).
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parseArgs, type ParseArgsConfig } from 'node:util';

const HELP = { help: { type: 'boolean', short: 'h' } } as const;

type Options = NonNullable<ParseArgsConfig['options']>;

/** What `parseToolArgs` returns: parseArgs's typed `values` (plus `help`) and `positionals`. */
export type ToolArgs<O extends Options> = ReturnType<typeof parseArgs<{ args: string[]; options: O & typeof HELP; allowPositionals: boolean; strict: true }>>;

/**
 * The header comment of the script at `moduleUrl` (its `import.meta.url`), without the comment markers: its usage text.
 * @example process.stdout.write(usageOf(import.meta.url));
 */
export function usageOf(moduleUrl: string): string {
  const text = readFileSync(fileURLToPath(moduleUrl), 'utf8');
  const start = text.indexOf('/**');
  const end = text.indexOf('*/', start);
  if (start < 0 || end < 0) return `${fileURLToPath(moduleUrl)}: no usage text\n`;
  const usage = text
    .slice(start + 3, end)
    .split('\n')
    .map((line) => line.replace(/^ \* ?| \*$/, ''))
    .join('\n')
    .trim();
  return `${usage}\n`;
}

/**
 * Parses `argv` (default: this process's arguments) against `options`; with `--help` or `-h` prints the script's
 * header comment and exits. Unknown flags, a missing value, and positionals where none are allowed throw.
 * @example
 * const { values } = parseToolArgs(import.meta.url, { json: { type: 'boolean' }, reps: { type: 'string' } });
 * const reps = integerArg(values.reps, '--reps', 8, 1);
 */
export function parseToolArgs<const O extends Options>(
  moduleUrl: string,
  options: O,
  config: { argv?: readonly string[]; allowPositionals?: boolean } = {},
): ToolArgs<O> {
  const parsed = parseArgs({
    args: [...(config.argv ?? process.argv.slice(2))],
    options: { ...options, ...HELP },
    allowPositionals: config.allowPositionals ?? false,
    strict: true,
  });
  // Inside this generic function TypeScript cannot resolve the values' type, so `help` is read through a plain view.
  if ((parsed.values as { help?: boolean }).help) {
    process.stdout.write(usageOf(moduleUrl));
    process.exit(0);
  }
  return parsed;
}

/**
 * A flag's value as an integer of at least `min`, or `fallback` when the flag was not given.
 * @example integerArg('3', '--reps', 20, 1); // 3; integerArg(undefined, '--reps', 20, 1); // 20
 */
export function integerArg(value: string | undefined, flag: string, fallback: number, min = 0): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isInteger(n) || n < min) throw new Error(`${flag} needs an integer >= ${min}, got ${value}`);
  return n;
}

/**
 * A flag's value as a finite number, or `fallback` when the flag was not given.
 * @example numberArg('0.05', '--tolerance', 0.1); // 0.05
 */
export function numberArg(value: string | undefined, flag: string, fallback: number): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isFinite(n)) throw new Error(`${flag} needs a number, got ${value}`);
  return n;
}

/**
 * The items of a repeatable, comma-separated flag (`--only a,b --only c`), empty ones dropped.
 * @example listArg(['a,b', 'c']); // ['a', 'b', 'c']
 */
export function listArg(values: readonly string[] | undefined): string[] {
  return (values ?? []).flatMap((v) => v.split(',')).filter(Boolean);
}

/**
 * A flag's value parsed as JSON (e.g. session options), or undefined when the flag was not given.
 * @example jsonArg<{ enableMemPattern: boolean }>('{"enableMemPattern":false}', '--extra');
 */
export function jsonArg<T>(value: string | undefined, flag: string): T | undefined {
  if (value === undefined) return undefined;
  try {
    return JSON.parse(value) as T;
  } catch (err) {
    throw new Error(`${flag} needs JSON: ${(err as Error).message}`);
  }
}
