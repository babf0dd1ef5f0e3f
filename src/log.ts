import pino, { type DestinationStream, type Logger } from 'pino';

export type { Logger };

/**
 * Any run of 13–19 digits is treated as a possible card number and masked, in every log line. We never accept card
 * data, but a buyer may paste one into a free-text field, a database error may quote it back, and a log line is
 * read by more people than the database is.
 *
 * A digit is any Unicode decimal digit (full-width, Arabic-Indic, …). Digits may be split by up to two separators
 * as people type them or as a decoder leaves them (space, tab, no-break space, dash, dot, slash, underscore, or a
 * JSON `\t`, `\n`, `\r` escape). The run is bounded by non-digits, not by word boundaries: `ref4111111111111111`
 * is masked too (letters next to the digits do not hide them).
 */
const SEPARATOR = String.raw`(?:[ \t\u00a0./_\-]|\\[tnr])`;
const CARD_LIKE = new RegExp(String.raw`(?<!\p{Nd})\p{Nd}(?:${SEPARATOR}{0,2}\p{Nd}){12,18}(?!\p{Nd})`, 'gu');

export const PAN_MASK = '[REDACTED_PAN]';

export function scrubCardNumbers(text: string): string {
  return text.replace(CARD_LIKE, PAN_MASK);
}

/** A JSON number of 13–19 integer digits is masked like a string (pino writes numbers without quotes). */
function scrubNumber(value: number): number | string {
  if (!Number.isFinite(value)) return value;
  const digits = Math.abs(Math.trunc(value)).toString();
  return /^\d{13,19}$/.test(digits) ? PAN_MASK : value;
}

/** Fields pino itself writes as numbers: the epoch-milliseconds timestamp is 13 digits and is not a card. */
const OWN_NUMERIC_FIELDS = new Set(['time']);

/** `ownField` is true for a top-level field pino writes itself (only there is `time` pino's). */
function scrubParsed(value: unknown, ownField: boolean): unknown {
  if (typeof value === 'string') return scrubCardNumbers(value);
  if (typeof value === 'number') return ownField ? value : scrubNumber(value);
  if (Array.isArray(value)) return value.map((item) => scrubParsed(item, false));
  if (value !== null && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [inner, element] of Object.entries(value)) {
      out[scrubCardNumbers(inner)] = scrubParsed(element, false);
    }
    return out;
  }
  return value;
}

function scrubRecord(record: unknown): unknown {
  if (record === null || typeof record !== 'object' || Array.isArray(record))
    return scrubParsed(record, false);
  const out: Record<string, unknown> = {};
  for (const [key, element] of Object.entries(record)) {
    out[scrubCardNumbers(key)] = scrubParsed(element, OWN_NUMERIC_FIELDS.has(key));
  }
  return out;
}

/**
 * Scrubs one serialized log line, after pino has applied every serializer (errors with their message, stack and
 * driver fields, requests, responses): what is written is what is checked. A line that is not JSON is masked as
 * text.
 */
export function scrubLogLine(line: string): string {
  const newline = line.endsWith('\n');
  const body = newline ? line.slice(0, -1) : line;
  let parsed: unknown;
  try {
    parsed = JSON.parse(body) as unknown;
  } catch {
    return scrubCardNumbers(line);
  }
  return `${JSON.stringify(scrubRecord(parsed))}${newline ? '\n' : ''}`;
}

/** A destination that scrubs every line before passing it on; flushing reaches the stream underneath. */
export function scrubbingDestination(target: DestinationStream): DestinationStream {
  const inner = target as DestinationStream & {
    flush?: (cb?: (err?: Error) => void) => void;
    flushSync?: () => void;
    end?: () => void;
  };
  return {
    write: (chunk: string) => inner.write(scrubLogLine(chunk)),
    ...(inner.flush === undefined ? {} : { flush: inner.flush.bind(inner) }),
    ...(inner.flushSync === undefined ? {} : { flushSync: inner.flushSync.bind(inner) }),
    ...(inner.end === undefined ? {} : { end: inner.end.bind(inner) }),
  } as DestinationStream;
}

/** Paths whose values are secrets wherever they appear in a log record. */
export const REDACT_PATHS = [
  'req.headers.authorization',
  'req.headers["stripe-signature"]',
  'req.headers.cookie',
  'headers.authorization',
  'authorization',
  'password',
  'secret',
  'apiKey',
  'api_key',
  'key',
  '*.password',
  '*.secret',
  '*.apiKey',
  '*.api_key',
  '*.secretKey',
  '*.webhookSecret',
  '*.token',
  'databaseUrl',
  '*.databaseUrl',
];

export function createLogger(level: string, destination?: DestinationStream): Logger {
  return pino(
    {
      level,
      base: { service: 'bursar' },
      redact: { paths: REDACT_PATHS, censor: '[REDACTED]' },
    },
    scrubbingDestination(destination ?? pino.destination(1)),
  );
}
