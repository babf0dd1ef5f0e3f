import { StripeApiError, invalidRequest } from './errors.ts';

/**
 * The only two places where a sandbox amount crosses between our bigint minor units and Stripe's wire format, which
 * carries amounts as JSON integers. Everything inside the sandbox computes with bigint; a `number` holding an amount
 * exists only in the JSON handed to (or read back from) the wire and the stored objects.
 */

const DIGITS = /^-?\d+$/;

/**
 * Reads an amount in minor units from a wire or stored JSON value: a bigint, a safe-integer number, or a decimal
 * string of digits with an optional leading '-' (as form values and some stored values are). Anything else is
 * Stripe's invalid_request_error naming `param`.
 */
export function amountFromWire(value: unknown, param = 'amount'): bigint {
  if (typeof value === 'bigint') return value;
  if (typeof value === 'number') {
    // Past the safe range a number no longer names one integer, so it cannot be trusted as an amount.
    if (Number.isSafeInteger(value)) return BigInt(value);
  } else if (typeof value === 'string' && DIGITS.test(value)) {
    return BigInt(value);
  }
  throw invalidRequest(`Invalid integer: ${describe(value)}`, param);
}

/** Writes an amount in minor units as the JSON integer Stripe's wire format carries; it must be exactly representable. */
export function amountToWire(minor: bigint): number {
  if (minor > BigInt(Number.MAX_SAFE_INTEGER) || minor < BigInt(Number.MIN_SAFE_INTEGER)) {
    throw new StripeApiError(500, {
      type: 'api_error',
      message: `Amount ${minor.toString()} is outside the range a JSON integer carries exactly.`,
    });
  }
  return Number(minor);
}

function describe(value: unknown): string {
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  if (value === null) return 'null';
  if (value === undefined) return 'undefined';
  return typeof value;
}
