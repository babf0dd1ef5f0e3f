/** The default age past which an unrecovered seller debt may be written off (docs/payouts.md "Seller debt"). */
export const DEFAULT_DEBT_WRITE_OFF_DAYS = 90;

/** `BURSAR_DEBT_WRITE_OFF_DAYS`: whole days, 0–36500; default 90. */
export function loadDebtWriteOffDays(env: NodeJS.ProcessEnv = process.env): number {
  const raw = env.BURSAR_DEBT_WRITE_OFF_DAYS;
  if (raw === undefined || raw === '') return DEFAULT_DEBT_WRITE_OFF_DAYS;
  if (!/^\d{1,5}$/.test(raw) || Number.parseInt(raw, 10) > 36500) {
    throw new Error(`BURSAR_DEBT_WRITE_OFF_DAYS must be a whole number of days (0–36500), got "${raw}"`);
  }
  return Number.parseInt(raw, 10);
}
