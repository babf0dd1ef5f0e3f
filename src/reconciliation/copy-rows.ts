import { once } from 'node:events';
import { from as copyFrom } from 'pg-copy-streams';
import type { PoolClient } from '../db/pool.ts';

/**
 * Rows written to a table with `COPY … FROM STDIN` (text format) on the caller's connection and transaction:
 * several times cheaper per row than a multi-row `INSERT … SELECT FROM unnest(…)` of the same rows, which is what
 * staging a large report spends its time on. Every constraint of the table still holds (a violating row fails the
 * whole COPY, and the caller's transaction with it).
 */

/** A field: text, a number, a time, or null (`\N`). */
export type CopyValue = string | bigint | number | Date | null | undefined;

/** The text format's escaping: backslash, and the tab, newline and carriage return that delimit fields and rows. */
export function copyField(value: CopyValue): string {
  if (value === null || value === undefined) return '\\N';
  if (value instanceof Date) return value.toISOString();
  if (typeof value !== 'string') return value.toString();
  if (!/[\\\t\n\r]/.test(value)) return value;
  return value.replace(/[\\\t\n\r]/g, (c) => ESCAPES[c] ?? c);
}

const ESCAPES: Record<string, string> = { '\\': '\\\\', '\t': '\\t', '\n': '\\n', '\r': '\\r' };

export function copyRow(fields: CopyValue[]): string {
  return `${fields.map(copyField).join('\t')}\n`;
}

/** An open COPY into `table (columns)`: `write` rows, then `end` (or `abort` on an error of the caller's). */
export interface CopyWriter {
  write(fields: CopyValue[]): Promise<void>;
  end(): Promise<void>;
  abort(error: Error): Promise<void>;
}

const FLUSH_CHARS = 256 * 1024;

/**
 * Waits for `event` or an error, whichever comes first, and removes the listener of the other: a listener left
 * on the stream at every wait would pile up over a long COPY (one per back-pressure wait of a 10,000,000-line
 * report).
 */
async function firstOf(stream: NodeJS.EventEmitter, event: string): Promise<void> {
  const done = new AbortController();
  try {
    await Promise.race([
      once(stream, event, { signal: done.signal }),
      once(stream, 'error', { signal: done.signal }),
    ]);
  } finally {
    done.abort();
  }
}

/** `table` and `columns` are the caller's constants (identifiers are not quoted here). */
export function openCopy(client: PoolClient, table: string, columns: readonly string[]): CopyWriter {
  const stream = client.query(copyFrom(`COPY ${table} (${columns.join(', ')}) FROM STDIN`));
  let failed: Error | undefined;
  stream.on('error', (error: Error) => (failed ??= error));
  let buffered = '';
  const flush = async (): Promise<void> => {
    if (failed) throw failed;
    const chunk = buffered;
    buffered = '';
    if (!stream.write(chunk)) await firstOf(stream, 'drain');
    if (failed) throw failed;
  };
  return {
    async write(fields) {
      buffered += copyRow(fields);
      if (buffered.length >= FLUSH_CHARS) await flush();
    },
    async end() {
      if (buffered.length > 0) await flush();
      stream.end();
      await firstOf(stream, 'finish');
      if (failed) throw failed;
    },
    async abort(error) {
      if (!stream.destroyed) {
        stream.destroy(error);
        await once(stream, 'close').catch(() => undefined);
      }
    },
  };
}
