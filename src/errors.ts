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
    description:
      'The body, a query or path value, or the Idempotency-Key holds something shaped like a card number; Bursar never accepts card data.',
  },
  webhook_signature_invalid: {
    status: 400,
    description:
      'A webhook whose signature is missing, wrong or older than the tolerance; it is not processed.',
  },
  payload_too_large: { status: 413, description: 'The request body is larger than the route accepts.' },
  request_timeout: {
    status: 408,
    description: "The request (headers and body) did not arrive within the server's request timeout.",
  },
  rate_limited: {
    status: 429,
    description:
      'Too many requests from this API key or client address for this kind of route; retry after Retry-After seconds.',
  },
  unsupported_media_type: { status: 415, description: 'The request body is not application/json.' },

  // The dashboard's operators (docs/dashboard.md).
  sign_in_failed: {
    status: 401,
    description: 'The email or password is wrong (or the operator is disabled).',
  },
  sign_in_throttled: {
    status: 429,
    description:
      'Too many failed sign-ins for this email or client address; retry after Retry-After seconds.',
  },
  insufficient_role: { status: 403, description: 'The signed-in operator’s role does not allow this.' },
  csrf_token_invalid: {
    status: 403,
    description: 'A dashboard write came without the session’s CSRF token in the X-CSRF-Token header.',
  },
  dead_letter_replayed: {
    status: 409,
    description: 'The dead letter was replayed already; it is replayed at most once.',
  },
  operator_exists: { status: 409, description: 'An operator with this email exists already.' },

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
  currency_not_supported_for_seller: {
    status: 422,
    description:
      "The order's currency is not the seller's payout currency and no exchange rate converts it (docs/currencies.md).",
  },
  fx_quote_not_found: { status: 404, description: 'No FX quote with this id.' },
  fx_quote_expired: {
    status: 422,
    description: 'The FX quote named by the checkout expired (its lock ended); ask for a new quote.',
  },
  fx_quote_mismatch: {
    status: 422,
    description: "The FX quote named by the checkout converts another pair of currencies than the order's.",
  },
  fx_rate_unavailable: {
    status: 422,
    description:
      'No exchange rate is known for this pair of currencies (none fetched, or the source lacks one).',
  },
  fx_rate_stale: {
    status: 503,
    description:
      'The newest exchange rates are older than BURSAR_FX_MAX_AGE_HOURS; they are refused rather than used.',
  },
  seller_inactive: {
    status: 422,
    description:
      'A seller named in the request is deactivated and takes no new checkouts (refunds, disputes and payouts of what is owed go on).',
  },
  timestamp_invalid: {
    status: 400,
    description:
      'A timestamp filter (such as created[gte]) or report bound is not an ISO 8601 time with a zone or Unix seconds; the message names it.',
  },
  cursor_not_found: {
    status: 400,
    description: 'starting_after or ending_before names no object of the list.',
  },
  idempotency_key_reused: {
    status: 422,
    description: 'The Idempotency-Key was used before with a different request.',
  },
  request_in_progress: {
    status: 429,
    description:
      'A request with this Idempotency-Key is still being processed; retry after Retry-After seconds.',
  },

  // Pay-outs.
  iban_invalid: {
    status: 400,
    description: 'The IBAN is malformed, has the wrong length for its country, or fails its check digits.',
  },
  bic_invalid: {
    status: 400,
    description: 'The BIC is not 8 or 11 characters of bank code, country, location and optional branch.',
  },
  bank_details_invalid: {
    status: 400,
    description:
      'The bank details mix SEPA and non-SEPA fields, or an account or routing number is malformed.',
  },
  bank_details_missing: {
    status: 422,
    description:
      "The seller has no bank details, or no bank account in the payout's currency (or must give new ones after a returned payout).",
  },
  payout_exceeds_available: {
    status: 422,
    description: "The payout's amount is above the seller's available balance.",
  },
  payout_currency_mismatch: {
    status: 422,
    description: "The seller holds no balance and has no bank account in the payout's currency.",
  },
  bank_account_not_found: {
    status: 404,
    description: 'The seller has no bank account in this currency (none was given, or it was removed).',
  },
  bank_account_is_default: {
    status: 422,
    description:
      "The bank account of the seller's own currency is its payout settings' bank details: it can be replaced (PATCH), not removed.",
  },
  bank_account_payouts_in_flight: {
    status: 409,
    description:
      'Payouts in this currency are pending or in transit to the account; it can be removed once they are paid or returned.',
  },
  payout_not_found: { status: 404, description: 'No payout with this id.' },
  payout_ach_file_malformed: {
    status: 422,
    description:
      'An ACH return/notification-of-change file breaks the NACHA record rules (a record not 94 characters, an unknown record type, an addenda without its entry); the message names the line. Nothing of it was applied.',
  },
  payout_status_report_malformed: {
    status: 422,
    description:
      'A pain.002 payment status report is malformed or not a pain.002; the message names the line and element. Nothing of it was applied.',
  },
  seller_has_debt: {
    status: 422,
    description:
      'The seller owes the platform in this currency (a refund or dispute exceeded their balances); no payout until the debt is recovered or written off.',
  },
  seller_has_no_debt: {
    status: 409,
    description: 'A debt write-off for a seller who owes the platform nothing in that currency.',
  },
  debt_too_recent: {
    status: 409,
    description:
      "A debt write-off where no part of the seller's debt is older than the required age (BURSAR_DEBT_WRITE_OFF_DAYS or older_than_days).",
  },
  refund_exceeds_remaining: {
    status: 422,
    description:
      "The refund's amount is above what is left to refund of the payment order (its captured amount less its pending and succeeded refunds).",
  },
  payment_not_refundable: {
    status: 422,
    description: 'The payment order is not in SUCCESS (or the checkout has nothing left to refund).',
  },
  refund_not_found: { status: 404, description: 'No refund with this id.' },
  event_not_found: { status: 404, description: 'No event with this id in the last 30 days.' },
  webhook_endpoint_not_found: { status: 404, description: 'No webhook endpoint with this id.' },
  webhook_url_refused: {
    status: 400,
    description:
      'The webhook endpoint URL is not http(s), carries credentials, does not resolve, or resolves to a loopback, private or otherwise non-public address (allowed only with BURSAR_WEBHOOK_ALLOW_PRIVATE_URLS=true).',
  },
  payout_file_not_found: { status: 404, description: 'No payout file with this id.' },
  bank_correction_not_found: {
    status: 404,
    description: 'No notification of change (bank correction) with this id for this seller.',
  },
  bank_correction_resolved: {
    status: 409,
    description:
      'The notification of change was confirmed or dismissed already; it is resolved once. Or its corrected details no longer fit the seller (no ACH bank details).',
  },
  payout_event_refused: {
    status: 409,
    description:
      "A payout provider's event contradicts the payout (paid before it was sent, returned twice, or for a payout another provider carries); it is kept and logged, not applied.",
  },

  // Disputes (docs/disputes.md).
  dispute_not_found: { status: 404, description: 'No dispute with this id.' },
  dispute_not_open: {
    status: 409,
    description:
      'The dispute no longer waits for a response (evidence was submitted, or it is closed): evidence cannot be sent and it cannot be accepted.',
  },
  dispute_psp_refused: {
    status: 422,
    description: 'The PSP refused the evidence or the acceptance of the dispute; the message gives its code.',
  },
  dispute_psp_unavailable: {
    status: 503,
    description:
      'The PSP could not be reached about the dispute; retry after Retry-After seconds with the same Idempotency-Key.',
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

  // Reconciliation.
  reconciliation_file_malformed: {
    status: 422,
    description:
      'A settlement report or bank statement is malformed; the message names the line or element and what is wrong. Nothing of it was applied.',
  },
  reconciliation_file_duplicate: {
    status: 409,
    description: 'This file (same fingerprint) was imported before; it is not applied twice.',
  },
  reconciliation_exception_not_found: {
    status: 404,
    description: 'No reconciliation exception with this id.',
  },
  reconciliation_run_not_found: { status: 404, description: 'No reconciliation run with this id.' },
  reconciliation_exception_state: {
    status: 409,
    description: 'The exception is already in the state asked for (resolved, or open when reopening).',
  },
  reconciliation_source_unavailable: {
    status: 503,
    description: 'The PSP settlement report could not be fetched; retry after Retry-After seconds.',
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
