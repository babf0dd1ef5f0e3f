/**
 * The NACHA return reason codes (addenda type 99) and notification-of-change codes (addenda type 98, COR) Bursar
 * understands (docs/payouts.md "NACHA ACH"). Any `R01`–`R85` returns the payout; a code missing from the table
 * below still does, described by its number.
 */

export const RETURN_CODES: Readonly<Record<string, string>> = {
  R01: 'Insufficient funds',
  R02: 'Account closed',
  R03: 'No account/unable to locate account',
  R04: 'Invalid account number structure',
  R05: 'Unauthorized debit to consumer account using corporate SEC code',
  R06: "Returned per ODFI's request",
  R07: 'Authorization revoked by customer',
  R08: 'Payment stopped',
  R09: 'Uncollected funds',
  R10: 'Customer advises originator is not known to receiver or is not authorized',
  R11: 'Customer advises entry not in accordance with the terms of the authorization',
  R12: 'Account sold to another DFI',
  R13: 'Invalid ACH routing number',
  R14: 'Representative payee deceased or unable to continue in that capacity',
  R15: 'Beneficiary or account holder deceased',
  R16: 'Account frozen/entry returned per OFAC instruction',
  R17: 'File record edit criteria / entry initiated under questionable circumstances',
  R18: 'Improper effective entry date',
  R19: 'Amount field error',
  R20: 'Non-transaction account',
  R21: 'Invalid company identification',
  R22: 'Invalid individual ID number',
  R23: 'Credit entry refused by receiver',
  R24: 'Duplicate entry',
  R25: 'Addenda error',
  R26: 'Mandatory field error',
  R27: 'Trace number error',
  R28: 'Routing number check digit error',
  R29: 'Corporate customer advises not authorized',
  R30: 'RDFI not participant in check truncation program',
  R31: 'Permissible return entry (CCD and CTX only)',
  R32: 'RDFI non-settlement',
  R33: 'Return of XCK entry',
  R34: 'Limited participation DFI',
  R35: 'Return of improper debit entry',
  R36: 'Return of improper credit entry',
  R37: 'Source document presented for payment',
  R38: 'Stop payment on source document',
  R39: 'Improper source document/source document presented for payment',
  R40: 'Return of ENR entry by federal government agency',
  R41: 'Invalid transaction code (ENR only)',
  R42: 'Routing number/check digit error (ENR only)',
  R43: 'Invalid DFI account number (ENR only)',
  R44: 'Invalid individual ID number/identification number (ENR only)',
  R45: 'Invalid individual name/company name (ENR only)',
  R46: 'Invalid representative payee indicator (ENR only)',
  R47: 'Duplicate enrollment (ENR only)',
  R50: 'State law affecting RCK acceptance',
  R51: 'Item related to RCK entry is ineligible or RCK entry is improper',
  R52: 'Stop payment on item related to RCK entry',
  R53: 'Item and RCK entry presented for payment',
  R61: 'Misrouted return',
  R62: 'Return of erroneous or reversing debit',
  R67: 'Duplicate return',
  R68: 'Untimely return',
  R69: 'Field error(s)',
  R70: 'Permissible return entry not accepted/return not requested by ODFI',
  R71: 'Misrouted dishonored return',
  R72: 'Untimely dishonored return',
  R73: 'Timely original return',
  R74: 'Corrected return',
  R75: 'Return not a duplicate',
  R76: 'No errors found',
  R77: 'Non-acceptance of R62 dishonored return',
  R80: 'IAT entry coding error',
  R81: 'Non-participant in IAT program',
  R82: 'Invalid foreign receiving DFI identification',
  R83: 'Foreign receiving DFI unable to settle',
  R84: 'Entry not processed by gateway',
  R85: 'Incorrectly coded outbound international payment',
};

export const CHANGE_CODES: Readonly<Record<string, string>> = {
  C01: 'Incorrect DFI account number',
  C02: 'Incorrect routing number',
  C03: 'Incorrect routing number and incorrect DFI account number',
  C04: 'Incorrect individual name/receiving company name',
  C05: 'Incorrect transaction code',
  C06: 'Incorrect DFI account number and incorrect transaction code',
  C07: 'Incorrect routing number, incorrect DFI account number, and incorrect transaction code',
  C08: 'Incorrect receiving DFI identification (IAT only)',
  C09: 'Incorrect individual identification number',
  C10: 'Incorrect company name',
  C11: 'Incorrect company identification',
  C12: 'Incorrect company name and company identification',
  C13: 'Addenda format error',
};

/** `R01`…`R85`. */
export function isReturnCode(code: string): boolean {
  const n = /^R([0-9]{2})$/.exec(code)?.[1];
  return n !== undefined && Number(n) >= 1 && Number(n) <= 85;
}

export function returnDescription(code: string): string {
  return RETURN_CODES[code] ?? `return reason ${code}`;
}

/** What a NOC's corrected data says, by field (docs/payouts.md lists which code carries which). */
export interface CorrectedDetails {
  accountNumber?: string;
  routingNumber?: string;
  accountType?: 'checking' | 'savings';
  /** Fields Bursar shows but does not apply: a name, an identification number, addenda. */
  text?: string;
}

/** Transaction codes of a credit: 22 checking, 32 savings (and their prenote/return neighbours 2x/3x). */
function accountTypeOf(transactionCode: string): 'checking' | 'savings' | undefined {
  if (/^2[0-9]$/.test(transactionCode)) return 'checking';
  if (/^3[0-9]$/.test(transactionCode)) return 'savings';
  return undefined;
}

function withType(details: CorrectedDetails, code: string): CorrectedDetails {
  const accountType = accountTypeOf(code.trim());
  return accountType === undefined ? details : { ...details, accountType };
}

/**
 * Parses the 29-character corrected data of an addenda 98 by change code (the NACHA Operating Rules' layouts):
 * C01 account (1–17); C02 routing (1–9); C03 routing (1–9), account (13–29); C05 transaction code (1–2);
 * C06 account (1–17), transaction code (21–22); C07 routing (1–9), account (10–26), transaction code (27–28);
 * the others carry text (a name, an identification).
 */
export function parseCorrectedData(changeCode: string, data: string): CorrectedDetails {
  const field = (from: number, to: number): string => data.slice(from - 1, to).trim();
  const nonEmpty = (value: string): string | undefined => (value === '' ? undefined : value);
  const account = (from: number, to: number) => nonEmpty(field(from, to));
  const pick = (details: Record<string, string | undefined>): CorrectedDetails =>
    Object.fromEntries(Object.entries(details).filter(([, v]) => v !== undefined)) as CorrectedDetails;
  switch (changeCode) {
    case 'C01':
      return pick({ accountNumber: account(1, 17) });
    case 'C02':
      return pick({ routingNumber: account(1, 9) });
    case 'C03':
      return pick({ routingNumber: account(1, 9), accountNumber: account(13, 29) });
    case 'C05':
      return withType({}, field(1, 2));
    case 'C06':
      return withType(pick({ accountNumber: account(1, 17) }), field(21, 22));
    case 'C07':
      return withType(pick({ routingNumber: account(1, 9), accountNumber: account(10, 26) }), field(27, 28));
    default:
      return pick({ text: nonEmpty(data.trim()) });
  }
}
