import Stripe from 'stripe';
import { PspError } from '../port.ts';

/** Connection failures that prove the request never reached Stripe: safe to call again. */
const NOT_SENT_CODES = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH']);

function detailCode(error: unknown): string | undefined {
  const detail = (error as { detail?: unknown }).detail;
  if (typeof detail === 'object' && detail !== null) {
    const code = (detail as { code?: unknown }).code;
    if (typeof code === 'string') return code;
    const cause = (detail as { cause?: unknown }).cause;
    if (
      typeof cause === 'object' &&
      cause !== null &&
      typeof (cause as { code?: unknown }).code === 'string'
    ) {
      return (cause as { code: string }).code;
    }
  }
  return undefined;
}

function retryAfterOf(error: InstanceType<typeof Stripe.errors.StripeError>): number | undefined {
  const raw = error.headers?.['retry-after'];
  const value = Array.isArray(raw) ? raw[0] : raw;
  if (typeof value !== 'string' || !/^\d{1,6}$/.test(value)) return undefined;
  return Number.parseInt(value, 10);
}

/**
 * Maps what the SDK throws to the port's outcome classes:
 * - card errors (402) → hard_decline, with Stripe's code and decline code; `processing_error` declines are
 *   transient (Stripe says to retry them);
 * - 429, 5xx API errors, 409 conflicts, and connection errors that prove nothing was sent (refused, DNS) → transient;
 * - timeouts and connections dropped after the request went out → unknown: Stripe may have acted; the caller asks
 *   (findCharge) before retrying, or retries with the same idempotency key, which Stripe replays;
 * - an idempotency error (same key, other parameters) is our bug, not Stripe's answer: unknown, so a person looks;
 * - other 4xx (invalid request, authentication, permission) → hard_decline: repeating the same call cannot succeed.
 */
export function mapStripeError(error: unknown): PspError {
  if (error instanceof PspError) return error;
  if (!(error instanceof Stripe.errors.StripeError)) {
    return new PspError('unknown', error instanceof Error ? error.message : String(error), { cause: error });
  }
  const details = {
    cause: error,
    ...(error.code === undefined ? {} : { pspCode: error.code }),
    ...(error.decline_code === undefined ? {} : { declineCode: error.decline_code }),
    ...(retryAfterOf(error) === undefined ? {} : { retryAfterSeconds: retryAfterOf(error) }),
    ...(typeof error.payment_intent?.id === 'string' ? { paymentId: error.payment_intent.id } : {}),
  };
  if (error instanceof Stripe.errors.StripeCardError) {
    if (error.code === 'processing_error') return new PspError('transient', error.message, details);
    return new PspError('hard_decline', error.message, details);
  }
  if (error instanceof Stripe.errors.StripeRateLimitError)
    return new PspError('transient', error.message, details);
  if (error instanceof Stripe.errors.StripeConnectionError) {
    const code = detailCode(error);
    if (code !== undefined && NOT_SENT_CODES.has(code))
      return new PspError('transient', error.message, details);
    return new PspError('unknown', error.message, details);
  }
  if (error instanceof Stripe.errors.StripeIdempotencyError)
    return new PspError('unknown', error.message, details);
  const status = error.statusCode ?? 0;
  if (status >= 500 || status === 409) return new PspError('transient', error.message, details);
  if (error instanceof Stripe.errors.StripeAPIError && status === 0)
    return new PspError('unknown', error.message, details);
  return new PspError('hard_decline', error.message, details);
}
