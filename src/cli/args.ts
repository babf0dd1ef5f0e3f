import { parseArgs, type ParseArgsConfig } from 'node:util';

/** Thin wrapper over node's parseArgs that turns its errors into a usage message. */
export function parse<T extends NonNullable<ParseArgsConfig['options']>>(argv: string[], options: T) {
  return parseArgs({ args: argv, options, allowPositionals: true, strict: true });
}

export class UsageError extends Error {}
