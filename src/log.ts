import pino, { type Logger } from 'pino';

export type { Logger };

/**
 * Any run of 13–19 digits (optionally split by spaces or dashes) is treated as a possible card number and masked.
 * We never accept card data, but a buyer may paste one into a free-text field; it must not reach the logs.
 */
const CARD_LIKE = /\b(?:\d[ -]?){12,18}\d\b/g;

export function scrubCardNumbers(text: string): string {
  return text.replace(CARD_LIKE, '[REDACTED_PAN]');
}

function scrubValue(value: unknown, depth: number): unknown {
  if (typeof value === 'string') return scrubCardNumbers(value);
  if (depth > 8 || value === null || typeof value !== 'object') return value;
  if (Array.isArray(value)) return value.map((item) => scrubValue(item, depth + 1));
  if (value instanceof Error) return value;
  const out: Record<string, unknown> = {};
  for (const [key, inner] of Object.entries(value)) out[key] = scrubValue(inner, depth + 1);
  return out;
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

export function createLogger(level: string, destination?: pino.DestinationStream): Logger {
  return pino(
    {
      level,
      base: { service: 'bursar' },
      redact: { paths: REDACT_PATHS, censor: '[REDACTED]' },
      formatters: {
        log: (record) => scrubValue(record, 0) as Record<string, unknown>,
      },
      hooks: {
        logMethod(args, method) {
          const scrubbed = args.map((arg) => (typeof arg === 'string' ? scrubCardNumbers(arg) : arg));
          method.apply(this, scrubbed as Parameters<typeof method>);
        },
      },
    },
    destination,
  );
}
