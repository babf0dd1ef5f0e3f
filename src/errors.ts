/**
 * The closed list of error codes Bursar answers with. Each code has exactly one HTTP status.
 * `docs/errors.md` documents every code; test/unit/errors-doc.test.ts keeps the two in sync.
 * Domain modules throw `AppError` with one of these codes; the HTTP layer renders it.
 */
export const ERROR_CODES = {
  // Requests that are malformed or invalid.
  validation_failed: {
    status: 400,
    description: 'A field is missing or invalid; the message names the field.',
  },
  invalid_json: { status: 400, description: 'The request body is not valid JSON.' },
  idempotency_key_missing: {
    status: 400,
    description: 'A POST that can move money came without an Idempotency-Key header.',
  },
  idempotency_key_invalid: {
    status: 400,
    description: 'The Idempotency-Key header is empty, too long or has characters outside printable ASCII.',
  },
  card_data_not_accepted: {
    status: 400,
    description: 'The body holds something shaped like a card number; Bursar never accepts card data.',
  },
  webhook_signature_invalid: {
    status: 400,
    description:
      'A webhook whose signature is missing, wrong or older than the tolerance; it is not processed.',
  },
  payload_too_large: { status: 413, description: 'The request body is larger than the route accepts.' },
  unsupported_media_type: { status: 415, description: 'The request body is not application/json.' },

  // Money parsing: one code per way an amount or currency can be wrong.
  amount_empty: { status: 400, description: 'The amount is an empty string.' },
  amount_not_string: {
    status: 400,
    description: 'The amount is not a string; amounts travel as strings in major units.',
  },
  amount_negative: { status: 400, description: 'The amount is negative.' },
  amount_signed: { status: 400, description: 'The amount carries a sign ("+"); write the digits only.' },
  amount_exponent: { status: 400, description: 'The amount uses exponent notation (such as "1e3").' },
  amount_whitespace: { status: 400, description: 'The amount contains spaces or other white space.' },
  amount_thousands_separator: {
    status: 400,
    description: 'The amount contains a thousands separator (such as "1,000.00").',
  },
  amount_malformed: { status: 400, description: 'The amount is not digits with an optional decimal point.' },
  amount_too_precise: {
    status: 400,
    description: 'The amount has more decimals than its currency has minor units.',
  },
  amount_zero: { status: 400, description: 'The amount is zero where a positive amount is required.' },
  amount_too_large: {
    status: 400,
    description: 'The amount is above the maximum Bursar accepts (see docs/money.md).',
  },
  currency_unknown: { status: 400, description: 'The currency is not an active ISO 4217 code.' },
  currency_not_uppercase: {
    status: 400,
    description: 'The currency code is not written in upper case (ISO 4217 codes are).',
  },
  currency_mismatch: {
    status: 400,
    description: 'Amounts in different currencies were combined, or a currency differs from the account’s.',
  },

  // Authentication and authorisation.
  unauthenticated: {
    status: 401,
    description: 'The Authorization header is missing, malformed, or names an unknown or revoked API key.',
  },
  insufficient_scope: {
    status: 403,
    description: 'The API key lacks the scope this route needs; the message names it.',
  },

  // Resources.
  not_found: { status: 404, description: 'No route or resource by that path or id.' },
  seller_exists: {
    status: 409,
    description: 'A seller with this seller_account already exists with other details.',
  },
  checkout_exists: {
    status: 409,
    description: 'A checkout with this checkout_id already exists; the message names it.',
  },
  payment_order_exists: {
    status: 409,
    description: 'A payment order with this payment_order_id already exists; the message names it.',
  },
  seller_unknown: { status: 422, description: 'A seller named in the request is not registered.' },
  idempotency_key_reused: {
    status: 422,
    description: 'The Idempotency-Key was used before with a different request.',
  },
  request_in_progress: {
    status: 429,
    description:
      'A request with this Idempotency-Key is still being processed; retry after Retry-After seconds.',
  },

  // Ledger.
  ledger_entry_unbalanced: {
    status: 422,
    description: 'A journal entry whose debits and credits differ in some currency.',
  },
  ledger_entry_invalid: {
    status: 422,
    description:
      'A journal entry with fewer than two postings, a non-positive amount, or an unknown account.',
  },
  ledger_reference_conflict: {
    status: 409,
    description: 'A journal entry with this idempotency reference exists with different contents.',
  },
  account_limit_exceeded: {
    status: 422,
    description:
      'The entry would take an account beyond its limit (for example a seller payable below zero).',
  },

  // Service state.
  internal_error: {
    status: 500,
    description:
      'An unexpected error; details are in the server log under the request id, never in the response.',
  },
  service_unavailable: {
    status: 503,
    description:
      'The service cannot serve the request now (database unreachable, shutting down); retry after Retry-After seconds.',
  },
} as const satisfies Record<string, { status: number; description: string }>;

export type ErrorCode = keyof typeof ERROR_CODES;

export function statusOf(code: ErrorCode): number {
  return ERROR_CODES[code].status;
}

export class AppError extends Error {
  readonly code: ErrorCode;
  readonly status: number;
  /** The request field the error is about, when there is one (dotted path). */
  readonly field: string | undefined;
  /** Seconds a client should wait before retrying (429 and 503). */
  readonly retryAfterSeconds: number | undefined;

  constructor(
    code: ErrorCode,
    message: string,
    options: { field?: string; retryAfterSeconds?: number; cause?: unknown } = {},
  ) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'AppError';
    this.code = code;
    this.status = statusOf(code);
    this.field = options.field;
    this.retryAfterSeconds = options.retryAfterSeconds;
  }

  /** The same error, about a field of a larger document (e.g. `payment_orders.2.amount`). */
  atField(field: string): AppError {
    return new AppError(
      this.code,
      this.message.startsWith(field) ? this.message : `${field}: ${this.message}`,
      {
        field,
        ...(this.retryAfterSeconds === undefined ? {} : { retryAfterSeconds: this.retryAfterSeconds }),
      },
    );
  }
}

export function isAppError(value: unknown): value is AppError {
  return value instanceof AppError;
}
