import type { PoolClient } from '../db/pool.ts';
import { afterCommit, withTransaction } from '../db/tx.ts';
import { postEntry, pspPayout } from '../ledger/index.ts';
import {
  bankEvidence,
  classifyBankLine,
  isReturnLine,
  type BankLine,
  type BankLineContext,
} from './domain/classify-bank.ts';
import type { Finding } from './domain/types.ts';
import { fileAll } from './filing.ts';
import type { RunCounters } from './report.ts';
import type { ReconRuntime } from './runtime.ts';

interface Row {
  seq: number;
  line: number;
  message_type: string;
  statement_id: string;
  amount_minor: bigint;
  currency: string;
  credit_debit: 'CRDT' | 'DBIT';
  reversal: boolean;
  status: string;
  booking_date: string | null;
  entry_ref: string | null;
  acct_svcr_ref: string | null;
  end_to_end_id: string | null;
  bank_code: string | null;
  return_code: string | null;
  return_info: string | null;
  remittance: string | null;
  seen_key: string;
}

function toLine(importId: string, row: Row): BankLine & { seenKey: string; entryRef: string | undefined } {
  return {
    importId,
    seq: row.seq,
    line: row.line,
    messageType: row.message_type,
    statementId: row.statement_id,
    amountMinor: row.amount_minor,
    currency: row.currency,
    creditDebit: row.credit_debit,
    reversal: row.reversal,
    status: row.status,
    bookingDate: row.booking_date ?? undefined,
    acctSvcrRef: row.acct_svcr_ref ?? undefined,
    endToEndId: row.end_to_end_id ?? undefined,
    bankCode: row.bank_code ?? undefined,
    returnCode: row.return_code ?? undefined,
    returnInfo: row.return_info ?? undefined,
    remittance: row.remittance ?? undefined,
    seenKey: row.seen_key,
    entryRef: row.entry_ref ?? undefined,
  };
}

/** Words of a line's references and remittance that could name a PSP payout (Stripe's are `po_…`). */
function referenceTokens(line: BankLine & { entryRef: string | undefined }): string[] {
  const text = [line.endToEndId, line.acctSvcrRef, line.entryRef, line.remittance]
    .filter((t) => t !== undefined)
    .join(' ');
  return [...new Set(text.split(/[^A-Za-z0-9_]+/).filter((t) => t.length >= 4))];
}

/** The PSP payout a credit meets: named in its references, else the one unclaimed payout of that amount near its date. */
async function findPspPayout(
  client: PoolClient,
  line: BankLine & { entryRef: string | undefined },
): Promise<BankLineContext['pspPayout']> {
  const tokens = referenceTokens(line);
  if (tokens.length > 0) {
    const byRef = await client.query<{ id: string; amount_minor: bigint; currency: string }>(
      'SELECT id, amount_minor, currency FROM recon.psp_payouts WHERE id = ANY($1::text[]) ORDER BY id LIMIT 1',
      [tokens],
    );
    const row = byRef.rows[0];
    if (row !== undefined) {
      return { id: row.id, amountMinor: row.amount_minor, currency: row.currency, matchedBy: 'reference' };
    }
  }
  const byAmount = await client.query<{ id: string; amount_minor: bigint; currency: string }>(
    `SELECT id, amount_minor, currency FROM recon.psp_payouts
      WHERE currency = $1 AND amount_minor = $2 AND bank_import_id IS NULL
        AND ($3::date IS NULL OR effective_at IS NULL OR effective_at BETWEEN $3::date - 5 AND $3::date + 6)
      ORDER BY effective_at NULLS LAST, id LIMIT 1 FOR UPDATE SKIP LOCKED`,
    [line.currency, line.amountMinor, line.bookingDate ?? null],
  );
  const row = byAmount.rows[0];
  return row === undefined
    ? undefined
    : { id: row.id, amountMinor: row.amount_minor, currency: row.currency, matchedBy: 'amount' };
}

type StagedBankLine = ReturnType<typeof toLine>;
type ToCure = Array<{ finding: Finding; effectiveAt: Date | undefined }>;
type PayoutsByEndToEnd = Awaited<ReturnType<ReconRuntime['fix']['payouts']['findByEndToEndIds']>>;

/** What one chunk's transaction knows before it sorts its lines, and what it gathers while doing so. */
interface BankChunkState {
  importId: string;
  runId: string;
  owner: Map<string, { seen_key: string; import_id: string; seq: number; content: string | null }>;
  payouts: PayoutsByEndToEnd;
  toFile: Finding[];
  toCure: ToCure;
}

/** The next chunk of staged lines after `after`, in sequence order. */
async function readBankChunk(rt: ReconRuntime, importId: string, after: number): Promise<StagedBankLine[]> {
  const chunk = await rt.pool.query<Row>(
    `SELECT seq, line, message_type, statement_id, amount_minor, currency, credit_debit, reversal, status,
            booking_date, entry_ref, acct_svcr_ref, end_to_end_id, bank_code, return_code, return_info, remittance,
            seen_key
       FROM recon.bank_lines WHERE import_id = $1 AND seq > $2 ORDER BY seq LIMIT $3`,
    [importId, after, rt.chunkSize],
  );
  return chunk.rows.map((row) => toLine(importId, row));
}

/** Marks the booked lines seen; returns who first saw each seen key. */
async function markBankSeen(
  client: PoolClient,
  importId: string,
  lines: StagedBankLine[],
): Promise<BankChunkState['owner']> {
  const booked = lines.filter((l) => l.status === 'BOOK');
  await client.query(
    `INSERT INTO recon.bank_seen (seen_key, import_id, seq)
     SELECT k, $1, s FROM unnest($2::text[], $3::int[]) AS u(k, s) ON CONFLICT DO NOTHING`,
    [importId, booked.map((l) => l.seenKey), booked.map((l) => l.seq)],
  );
  const owners = await client.query<{
    seen_key: string;
    import_id: string;
    seq: number;
    content: string | null;
  }>(
    `SELECT s.seen_key, s.import_id, s.seq,
            l.amount_minor || '|' || l.currency || '|' || l.credit_debit || '|' || l.reversal || '|' ||
              coalesce(l.end_to_end_id, '') AS content
       FROM recon.bank_seen s
       LEFT JOIN recon.bank_lines l ON l.import_id = s.import_id AND l.seq = s.seq
      WHERE s.seen_key = ANY($1::text[])`,
    [booked.map((l) => l.seenKey)],
  );
  return new Map(owners.rows.map((row) => [row.seen_key, row]));
}

function addBankTotals(counters: RunCounters, line: StagedBankLine): void {
  const totals = counters.bankTotals.get(line.currency) ?? {
    creditMinor: 0n,
    debitMinor: 0n,
    lines: 0,
  };
  if (line.creditDebit === 'CRDT') totals.creditMinor += line.amountMinor;
  else totals.debitMinor += line.amountMinor;
  totals.lines += 1;
  counters.bankTotals.set(line.currency, totals);
}

/** A bank line's content as compared with an earlier sighting of its seen key. */
function bankContentOf(line: StagedBankLine): string {
  return `${line.amountMinor}|${line.currency}|${line.creditDebit}|${line.reversal}|${line.endToEndId ?? ''}`;
}

/** The line was seen before (another import, or another line) with identical content: recognised, not filed. */
function isRepeat(line: StagedBankLine, state: BankChunkState): boolean {
  const first = state.owner.get(line.seenKey);
  if (line.status !== 'BOOK' || first === undefined) return false;
  // Recognised only from another import (an overlapping statement); twice in one file stays a duplicate.
  if (first.import_id === state.importId) return false;
  return first.content === bankContentOf(line);
}

/**
 * A booked debit that names no payout by EndToEndId but names a payout batch (a pain.001 file's MsgId or PmtInfId,
 * or a batch a registered finder knows) with its exact total: the bank paid the batch as one line. Each payout of
 * it is settled paid through the usual cure (nothing is filed for those already paid). True when it matched.
 */
async function matchBatch(
  rt: ReconRuntime,
  client: PoolClient,
  line: StagedBankLine,
  state: BankChunkState,
): Promise<boolean> {
  const find = rt.fix.payouts.findBatches;
  if (find === undefined || line.status !== 'BOOK' || line.creditDebit !== 'DBIT' || line.reversal)
    return false;
  if (line.endToEndId !== undefined && state.payouts.has(line.endToEndId)) return false;
  const references = [
    line.endToEndId,
    line.acctSvcrRef,
    line.entryRef,
    ...(line.remittance ?? '').split(/\s+/),
  ].filter((r): r is string => r !== undefined && r.length >= 4);
  if (references.length === 0) return false;
  const batch = (await find(client, [...new Set(references)])).find(
    (b) => b.currency === line.currency && b.amountMinor === line.amountMinor,
  );
  if (batch === undefined) return false;
  const effectiveAt = line.bookingDate === undefined ? undefined : new Date(`${line.bookingDate}T00:00:00Z`);
  for (const payoutId of batch.payoutIds) {
    state.toCure.push({
      finding: {
        kind: 'payout_paid_in_transit',
        cause: `the bank paid ${batch.kind} batch ${batch.reference} in one line, payout ${payoutId} with it`,
        dedupeKey: `payout_paid_in_transit:${payoutId}`,
        evidence: { line: bankEvidence(line), batch: { kind: batch.kind, reference: batch.reference } },
        currency: line.currency,
        fix: { type: 'settle_payout', payoutId, outcome: 'paid', reason: undefined },
      },
      effectiveAt,
    });
  }
  return true;
}

/** Everything the classifier needs to know about one line beyond the line itself. */
async function bankLineContext(
  client: PoolClient,
  line: StagedBankLine,
  state: BankChunkState,
): Promise<BankLineContext> {
  const first = state.owner.get(line.seenKey);
  const seenBefore =
    line.status === 'BOOK' &&
    first !== undefined &&
    (first.import_id !== state.importId || first.seq !== line.seq)
      ? { importId: first.import_id, seq: first.seq }
      : undefined;
  const payout = line.endToEndId === undefined ? undefined : state.payouts.get(line.endToEndId);
  const wantsPsp =
    line.status === 'BOOK' && seenBefore === undefined && line.creditDebit === 'CRDT' && !isReturnLine(line);
  return {
    seenBefore,
    payout,
    pspPayout: wantsPsp ? await findPspPayout(client, line) : undefined,
  };
}

/** Claims the PSP payout a credit received and books its arrival in the ledger. */
async function receivePspPayout(
  client: PoolClient,
  line: StagedBankLine,
  received: NonNullable<ReturnType<typeof classifyBankLine>['receivePspPayout']>,
  state: BankChunkState,
  counters: RunCounters,
): Promise<void> {
  const { importId, runId } = state;
  await client.query(
    'UPDATE recon.psp_payouts SET bank_import_id = $2, bank_seq = $3 WHERE id = $1 AND bank_import_id IS NULL',
    [received.id, importId, line.seq],
  );
  // The PSP's money reaching our bank is known only from the statement: booking it is routine, not a cure.
  const posted = await postEntry(
    client,
    pspPayout({
      currency: received.currency,
      pspPayoutId: received.id,
      amountMinor: received.amountMinor,
      ...(line.bookingDate === undefined ? {} : { effectiveAt: new Date(`${line.bookingDate}T00:00:00Z`) }),
      metadata: { importId, seq: line.seq, runId },
    }),
  );
  if (posted.created) counters.pspPayoutsReceived += 1;
}

/** Classifies one line and records what follows from it. */
async function sortBankLine(
  rt: ReconRuntime,
  client: PoolClient,
  line: StagedBankLine,
  state: BankChunkState,
  counters: RunCounters,
): Promise<void> {
  counters.linesRead += 1;
  if (isRepeat(line, state)) {
    counters.repeated += 1;
    return;
  }
  addBankTotals(counters, line);
  if (await matchBatch(rt, client, line, state)) {
    counters.matched += 1;
    return;
  }
  const ctx = await bankLineContext(client, line, state);
  const result = classifyBankLine(line, ctx);
  if (result.matched) counters.matched += 1;
  if (result.pending) counters.pending += 1;
  if (result.receivePspPayout !== undefined) {
    await receivePspPayout(client, line, result.receivePspPayout, state, counters);
  }
  for (const finding of result.findings) {
    if (finding.fix === undefined) state.toFile.push(finding);
    else {
      state.toCure.push({
        finding,
        effectiveAt: line.bookingDate === undefined ? undefined : new Date(`${line.bookingDate}T00:00:00Z`),
      });
    }
  }
  const outcome = result.pending ? 'pending' : result.matched ? 'matched' : 'unmatched';
  afterCommit(client, () => rt.metrics.lines.inc({ source: 'bank', outcome }));
}

/** One chunk's transaction: marks the lines seen, matches and sorts them, files the findings. */
async function applyBankChunk(
  rt: ReconRuntime,
  client: PoolClient,
  runId: string,
  importId: string,
  lines: StagedBankLine[],
  counters: RunCounters,
  toCure: ToCure,
): Promise<void> {
  const owner = await markBankSeen(client, importId, lines);
  const payouts = await rt.fix.payouts.findByEndToEndIds(client, [
    ...new Set(lines.flatMap((l) => (l.endToEndId === undefined ? [] : [l.endToEndId]))),
  ]);
  const state: BankChunkState = { importId, runId, owner, payouts, toFile: [], toCure };
  for (const line of lines) await sortBankLine(rt, client, line, state, counters);
  await fileAll(rt, client, runId, state.toFile, counters);
}

/** Applies one staged bank statement: matches and sorts every line, chunk by chunk, then cures the known causes. */
export async function applyBankImport(
  rt: ReconRuntime,
  runId: string,
  importId: string,
  counters: RunCounters,
): Promise<void> {
  let after = 0;
  for (;;) {
    const lines = await readBankChunk(rt, importId, after);
    if (lines.length === 0) break;
    after = lines[lines.length - 1]?.seq ?? after;
    const toCure: ToCure = [];
    await withTransaction(rt.pool, (client) =>
      applyBankChunk(rt, client, runId, importId, lines, counters, toCure),
    );
    for (const { finding, effectiveAt } of toCure) await rt.cure(runId, finding, effectiveAt, counters);
  }
}
