import { randomBase32 } from '../random-id.ts';

/** A payout id, `po_` + 24 characters: short enough to be an ISO 20022 EndToEndId (at most 35). */
export function newPayoutId(): string {
  return `po_${randomBase32(24)}`;
}

/** A payout file id; also the pain.001 MsgId (at most 35 characters). */
export function newPayoutFileId(): string {
  return `pf_${randomBase32(24)}`;
}
