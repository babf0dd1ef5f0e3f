import { randomBytes } from 'node:crypto';

const ALPHABET = 'abcdefghijklmnopqrstuvwxyz234567';

function token(length: number): string {
  const bytes = randomBytes(length);
  let out = '';
  for (const byte of bytes) out += ALPHABET[byte % 32] ?? 'a';
  return out;
}

/** A payout id, `po_` + 24 characters: short enough to be an ISO 20022 EndToEndId (at most 35). */
export function newPayoutId(): string {
  return `po_${token(24)}`;
}

/** A payout file id; also the pain.001 MsgId (at most 35 characters). */
export function newPayoutFileId(): string {
  return `pf_${token(24)}`;
}
