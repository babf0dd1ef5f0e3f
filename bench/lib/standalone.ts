import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { formatRows } from './table.ts';
import type { BenchRow } from './types.ts';

/**
 * When the module at `moduleUrl` is the script being run (`npx tsx bench/<name>/run.ts`), runs its benchmark and
 * prints the table of its rows; an error is printed and sets a failing exit code. Imported by `bench/run.ts`
 * instead, it does nothing.
 */
export function runWhenMain(moduleUrl: string, rows: () => Promise<BenchRow[]>): void {
  const script = process.argv[1];
  if (script === undefined || moduleUrl !== pathToFileURL(path.resolve(script)).href) return;
  rows()
    .then((result) => process.stdout.write(`\n${formatRows(result)}\n`))
    .catch((error: unknown) => {
      process.stderr.write(`${(error as Error).stack ?? String(error)}\n`);
      process.exitCode = 1;
    });
}
