/**
 * The sellers module's public surface: the factory, and the sellers' terms (fee, hold, reserve, schedule, bank
 * details) other modules read through these functions — never through the `sellers` schema.
 */
export { createSellers, type SellersDeps, type SellersModule, type PayinTerms } from './module.ts';
export { loadPlatformFee } from './config.ts';
export {
  ibanWithCheckDigits,
  maskBankDetails,
  normaliseAccountNumber,
  normaliseBic,
  normaliseIban,
  normaliseRoutingNumber,
  type BankDetails,
} from './bank.ts';
export {
  DEFAULT_HOLD_DAYS,
  DEFAULT_PAYOUT_SETTINGS,
  WEEKDAYS,
  type PayoutSettings,
  type Reserve,
  type Schedule,
  type Weekday,
} from './terms.ts';
export {
  findPayoutSettings,
  flagNeedsBankDetails,
  listBankDetailsAudit,
  sellersDueOn,
  type SellerDue,
} from './payout-settings-store.ts';
export { otherBankAccounts, type CurrencyBankAccount } from './bank-accounts.ts';
export { removeBankAccount } from './bank-account-removal.ts';
export { findSeller, insertSeller, lockSellers, sellerNames, type Seller } from './store.ts';
export { getSellerOrThrow } from './service.ts';
export { MaskedBankAccount } from './http-schemas.ts';
export {
  writeOffDebt,
  debtWriteOffToWire,
  debtWriteOffAudit,
  type DebtWriteOff,
  type WriteOffInput,
} from './debt.ts';
export { loadDebtWriteOffDays, DEFAULT_DEBT_WRITE_OFF_DAYS } from './debt-config.ts';
export {
  DEFAULT_REFUND_POLICY,
  loadRefundPolicy,
  refundPolicyFor,
  type RefundPolicy,
} from './refund-policy.ts';
export {
  recordBankCorrection,
  listBankCorrections,
  type BankCorrection,
  type CorrectedFields,
} from './bank-corrections.ts';
