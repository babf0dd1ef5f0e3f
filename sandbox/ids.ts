import { randomBytesPooled } from '../src/random-id.ts';

const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';

/**
 * Random base-62 text; the modulo bias of 256 % 62 does not matter for identifiers. The bytes come from a pool the
 * CSPRNG refills a few KiB at a time (a charge makes six ids).
 */
export function randomToken(length: number): string {
  const bytes = randomBytesPooled(length);
  let out = '';
  for (const byte of bytes) out += ALPHABET[byte % ALPHABET.length];
  return out;
}

/** Ids shaped like Stripe's: a type prefix, an underscore, 24 base-62 characters (`pi_3Mt…`). */
export function newId(prefix: string): string {
  return `${prefix}_${randomToken(24)}`;
}

export const ID_PREFIX = {
  payment_intent: 'pi',
  payment_method: 'pm',
  charge: 'ch',
  refund: 're',
  event: 'evt',
  balance_transaction: 'txn',
  payout: 'po',
  webhook_endpoint: 'we',
  dispute: 'dp',
  checkout_session: 'cs_test',
  line_item: 'li',
  request: 'req',
} as const;
