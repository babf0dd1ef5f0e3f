import { assertCurrency, formatAmount } from '../money/index.ts';
import { maskBankDetails } from './bank.ts';
import type { PayoutWire } from './http-schemas.ts';
import type { Payout, PayoutStatusStep } from './types.ts';

export function payoutToWire(payout: Payout, history?: PayoutStatusStep[]): PayoutWire {
  const currency = assertCurrency(payout.currency);
  return {
    object: 'payout',
    id: payout.id,
    seller_account: payout.sellerAccount,
    amount: formatAmount(payout.amountMinor, currency),
    currency,
    status: payout.status,
    source: payout.source,
    run_date: payout.runDate,
    provider: payout.provider,
    provider_reference: payout.providerReference,
    payout_file_id: payout.payoutFileId,
    destination: maskBankDetails(payout.destination),
    return_reason: payout.returnReason,
    ledger_entry_id: payout.ledgerEntryId,
    created_at: payout.createdAt.toISOString(),
    updated_at: payout.updatedAt.toISOString(),
    ...(history === undefined
      ? {}
      : {
          status_history: history.map((step) => ({
            from: step.from,
            to: step.to,
            reason: step.reason,
            source: step.source,
            reference: step.reference,
            at: step.at.toISOString(),
          })),
        }),
  };
}
