import { randomHexId } from '../random-id.ts';

export function newRefundId(): string {
  return randomHexId('rf', 12);
}

/** The PSP idempotency key of a refund: identical on every attempt, so the PSP refunds at most once. */
export function refundIdempotencyKey(refundId: string): string {
  return `bursar:rf:${refundId}`;
}
