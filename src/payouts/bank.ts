/**
 * Bank details belong to the sellers module (docs/architecture.md); payouts and their adapters use the sellers'
 * type and checks through this one file.
 */
export {
  ibanWithCheckDigits,
  maskBankDetails,
  normaliseBic,
  normaliseIban,
  normaliseRoutingNumber,
  type BankDetails,
} from '../sellers/index.ts';
