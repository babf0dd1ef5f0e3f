/**
 * How a statement names a ledger entry kind (docs/reports.md). Kinds are the ledger's (ENTRY_KINDS in
 * src/ledger/recipes.ts and the refund, dispute, debt and FX recipes' kinds); a kind this table does not know is
 * `other`, never dropped, so a statement still adds up when a new kind appears.
 */
export const MOVEMENT_CATEGORIES = [
  'sale',
  'platform_fee',
  'refund',
  'dispute',
  'reinstatement',
  'hold_release',
  'reserve',
  'payout',
  'payout_return',
  'debt_recovery',
  'write_off',
  'fx',
  'reversal',
  'other',
] as const;
export type MovementCategory = (typeof MOVEMENT_CATEGORIES)[number];

const BY_KIND: Record<string, MovementCategory> = {
  'payin.succeeded': 'sale',
  'refund.psp_fee': 'platform_fee',
  refund: 'refund',
  'refund.reversed': 'refund',
  chargeback: 'dispute',
  'dispute.fee': 'dispute',
  'dispute.reinstated': 'reinstatement',
  'hold.released': 'hold_release',
  'reserve.held': 'reserve',
  'reserve.released': 'reserve',
  'payout.started': 'payout',
  'payout.paid': 'payout',
  'payout.returned': 'payout_return',
  'payout.returned_after_paid': 'payout_return',
  'debt.recovered': 'debt_recovery',
  'debt.written_off': 'write_off',
  'fx.conversion': 'fx',
  'fx.gain_loss': 'fx',
  'fx.settled': 'fx',
  'fx.settled_out': 'fx',
  'fx.settlement_difference': 'fx',
  'ledger.reversal': 'reversal',
};

export function categoryOf(kind: string): MovementCategory {
  return BY_KIND[kind] ?? 'other';
}

/** The ids an entry's metadata names (paymentOrderId, refundId, payoutId…), as snake_case references. */
export function referencesOf(metadata: Record<string, unknown>): Record<string, string> {
  const references: Record<string, string> = {};
  for (const [key, value] of Object.entries(metadata)) {
    if (!/Id$/.test(key) || key === 'sellerId') continue;
    if (typeof value !== 'string' && typeof value !== 'number') continue;
    references[key.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`)] = String(value);
  }
  return references;
}
