import { formatAmount, isCurrencyCode } from '../money/index.ts';
import { EXCEPTION_CLASSES, type ExceptionClass, type ExceptionKind } from './domain/types.ts';

/** What a run did, stored with the run and printed by the CLI. Amounts are minor units (bigint while counting). */
export interface RunCounters {
  linesRead: number;
  matched: number;
  pending: number;
  /** Lines seen before with identical content (an overlapping report or statement): recognised, not filed. */
  repeated: number;
  autoFixed: number;
  queued: Record<ExceptionClass, number>;
  byKind: Partial<Record<ExceptionKind, number>>;
  pspTotals: Map<string, { grossMinor: bigint; feeMinor: bigint; netMinor: bigint; lines: number }>;
  bankTotals: Map<string, { creditMinor: bigint; debitMinor: bigint; lines: number }>;
  pspPayoutsReceived: number;
  /** Converted charge lines recorded, by outcome (fx_matched, fx_difference_booked, …). */
  fxLines: Partial<Record<string, number>>;
  internal: { ledgerOk: boolean | undefined; failures: number };
}

export function newCounters(): RunCounters {
  return {
    linesRead: 0,
    matched: 0,
    pending: 0,
    repeated: 0,
    autoFixed: 0,
    queued: { auto_fixed: 0, finance: 0, investigation: 0 },
    byKind: {},
    pspTotals: new Map(),
    bankTotals: new Map(),
    pspPayoutsReceived: 0,
    fxLines: {},
    internal: { ledgerOk: undefined, failures: 0 },
  };
}

export function countException(counters: RunCounters, cls: ExceptionClass, kind: ExceptionKind): void {
  counters.queued[cls] += 1;
  if (cls === 'auto_fixed') counters.autoFixed += 1;
  counters.byKind[kind] = (counters.byKind[kind] ?? 0) + 1;
}

function major(minor: bigint, currency: string): string {
  if (!isCurrencyCode(currency)) return minor.toString();
  return minor < 0n ? `-${formatAmount(-minor, currency)}` : formatAmount(minor, currency);
}

/** The stored (JSON) form of a run's report. */
export function reportJson(
  counters: RunCounters,
  extra: {
    runId: string;
    kind: string;
    imports: unknown[];
    durationMs: number;
    interval?: { start: Date; end: Date } | undefined;
  },
): Record<string, unknown> {
  return {
    run_id: extra.runId,
    kind: extra.kind,
    interval:
      extra.interval === undefined
        ? null
        : { start: extra.interval.start.toISOString(), end: extra.interval.end.toISOString() },
    imports: extra.imports,
    lines_read: counters.linesRead,
    matched: counters.matched,
    pending_at_bank: counters.pending,
    repeated_lines: counters.repeated,
    auto_fixed: counters.autoFixed,
    queued: { finance: counters.queued.finance, investigation: counters.queued.investigation },
    exceptions_by_kind: counters.byKind,
    psp_payouts_received: counters.pspPayoutsReceived,
    fx_lines: counters.fxLines,
    totals: {
      psp: Object.fromEntries(
        [...counters.pspTotals].map(([currency, t]) => [
          currency,
          {
            lines: t.lines,
            gross: major(t.grossMinor, currency),
            fee: major(t.feeMinor, currency),
            net: major(t.netMinor, currency),
          },
        ]),
      ),
      bank: Object.fromEntries(
        [...counters.bankTotals].map(([currency, t]) => [
          currency,
          { lines: t.lines, credits: major(t.creditMinor, currency), debits: major(t.debitMinor, currency) },
        ]),
      ),
    },
    internal_checks: {
      ledger_verified: counters.internal.ledgerOk ?? null,
      failures: counters.internal.failures,
    },
    duration_ms: extra.durationMs,
  };
}

/** The report as lines of text (CLI). */
export function reportLines(report: Record<string, unknown>): string[] {
  const r = report as {
    run_id: string;
    kind: string;
    interval?: { start: string; end: string } | null;
    lines_read: number;
    matched: number;
    pending_at_bank: number;
    repeated_lines?: number;
    auto_fixed: number;
    queued: Record<string, number>;
    exceptions_by_kind: Record<string, number>;
    fx_lines?: Record<string, number>;
    totals: { psp: Record<string, Record<string, unknown>>; bank: Record<string, Record<string, unknown>> };
    internal_checks: { ledger_verified: boolean | null; failures: number };
    duration_ms: number;
  };
  const lines = [
    `run ${r.run_id} (${r.kind}) in ${r.duration_ms} ms`,
    `covers:       ${r.interval == null ? 'no dated lines' : `${r.interval.start} to ${r.interval.end}`}`,
    `lines read:   ${r.lines_read}`,
    `matched:      ${r.matched}`,
    ...(r.pending_at_bank > 0 ? [`pending:      ${r.pending_at_bank} (not yet booked at the bank)`] : []),
    ...((r.repeated_lines ?? 0) > 0
      ? [`repeated:     ${r.repeated_lines} (seen before with identical content; not filed again)`]
      : []),
    `auto-fixed:   ${r.auto_fixed}`,
    ...EXCEPTION_CLASSES.filter((c) => c !== 'auto_fixed').map(
      (c) => `${`queued ${c}:`.padEnd(14)}${r.queued[c] ?? 0}`,
    ),
  ];
  for (const [kind, n] of Object.entries(r.exceptions_by_kind)) lines.push(`  ${kind}: ${n}`);
  const fx = Object.entries(r.fx_lines ?? {});
  if (fx.length > 0) lines.push(`fx lines:     ${fx.map(([kind, n]) => `${kind} ${n}`).join(', ')}`);
  for (const [currency, t] of Object.entries(r.totals.psp)) {
    lines.push(`psp ${currency}: ${t.lines} lines, gross ${t.gross}, fee ${t.fee}, net ${t.net}`);
  }
  for (const [currency, t] of Object.entries(r.totals.bank)) {
    lines.push(`bank ${currency}: ${t.lines} lines, credits ${t.credits}, debits ${t.debits}`);
  }
  if (r.internal_checks.ledger_verified !== null) {
    lines.push(
      `internal checks: ledger ${r.internal_checks.ledger_verified ? 'verified' : 'FAILED'}, ${r.internal_checks.failures} failure(s)`,
    );
  }
  return lines;
}
