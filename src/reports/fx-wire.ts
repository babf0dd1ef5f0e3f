import { stringify } from 'csv-stringify/sync';
import { assertCurrency, formatAmount } from '../money/index.ts';
import type { FxPositionsReport } from './fx-positions.ts';

/** The FX positions report as JSON and as CSV (docs/reports.md): amounts in major units of their currency. */

function money(minor: bigint, currency: string): string {
  const code = assertCurrency(currency);
  return minor < 0n ? `-${formatAmount(-minor, code)}` : formatAmount(minor, code);
}

export function fxPositionsToWire(r: FxPositionsReport) {
  return {
    object: 'fx_positions_report' as const,
    from: r.from.toISOString(),
    to: r.to.toISOString(),
    pairs: r.pairs.map((p) => ({
      from_currency: p.fromCurrency,
      to_currency: p.toCurrency,
      conversions: p.conversions,
      converted_volume: money(p.convertedFromMinor, p.fromCurrency),
      converted_value: money(p.convertedToMinor, p.toCurrency),
      refunded_volume: money(p.refundedFromMinor, p.fromCurrency),
      fx_revenue: money(p.fxRevenueMinor, p.toCurrency),
      realised_gain_loss: money(p.realisedMinor, p.toCurrency),
      settlement_differences: money(p.settlementDifferencesMinor, p.toCurrency),
      net_position_from: money(p.positionFromMinor, p.fromCurrency),
      net_position_to: money(p.positionToMinor, p.toCurrency),
    })),
    currencies: r.currencies.map((c) => ({
      currency: c.currency,
      position_opening: money(c.positionOpeningMinor, c.currency),
      position_movement: money(c.positionMovementMinor, c.currency),
      position_closing: money(c.positionClosingMinor, c.currency),
      fx_revenue: money(c.fxRevenueMovementMinor, c.currency),
      gain_loss: money(c.gainLossMovementMinor, c.currency),
    })),
  };
}

export const FX_POSITIONS_CSV_COLUMNS = [
  'from_currency',
  'to_currency',
  'conversions',
  'converted_volume',
  'converted_value',
  'refunded_volume',
  'fx_revenue',
  'realised_gain_loss',
  'settlement_differences',
  'net_position_from',
  'net_position_to',
] as const;

/** One row per currency pair, the columns of FX_POSITIONS_CSV_COLUMNS. */
export function fxPositionsCsv(r: FxPositionsReport): string {
  const wire = fxPositionsToWire(r);
  const rows = wire.pairs.map((p) => FX_POSITIONS_CSV_COLUMNS.map((column) => String(p[column])));
  return stringify(rows, { header: true, columns: [...FX_POSITIONS_CSV_COLUMNS] });
}
