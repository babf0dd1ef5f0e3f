import type { PoolClient, Queryable } from '../db/pool.ts';
import { afterCommit, withTransaction } from '../db/tx.ts';
import {
  CHARGE_CATEGORIES,
  classifyPspLine,
  missingLineFinding,
  type PspLineContext,
} from './domain/classify-psp.ts';
import type { Finding, OrderFacts } from './domain/types.ts';
import type { PspLine } from './psp-report/reader.ts';
import type { RunCounters } from './report.ts';
import type { ReconRuntime } from './runtime.ts';
import { fileAll } from './filing.ts';
import type { PayinSide } from './fixes.ts';
import { debitTotalsByReference, fxSettledByTransaction, pspClearingByReference } from '../ledger/index.ts';
import { convertedSide, type FxBooked } from './domain/classify-fx.ts';
import { recordFxLines, type FxLineRecord } from './fx-lines.ts';

type StagedLine = PspLine & { importId: string };

interface LineRow {
  line: number;
  balance_transaction_id: string;
  category: string;
  currency: string;
  gross_minor: bigint;
  fee_minor: bigint;
  net_minor: bigint;
  created_at: Date | null;
  available_on: Date | null;
  source_id: string | null;
  charge_id: string | null;
  payment_intent_id: string | null;
  payout_id: string | null;
  payout_effective_at: Date | null;
  description: string | null;
  dispute_reason: string | null;
  metadata: Record<string, string>;
  customer_facing_currency: string | null;
  customer_facing_minor: bigint | null;
}

function toLine(importId: string, row: LineRow): StagedLine {
  return {
    importId,
    line: row.line,
    balanceTransactionId: row.balance_transaction_id,
    category: row.category,
    currency: row.currency,
    grossMinor: row.gross_minor,
    feeMinor: row.fee_minor,
    netMinor: row.net_minor,
    createdAt: row.created_at ?? undefined,
    availableOn: row.available_on ?? undefined,
    sourceId: row.source_id ?? undefined,
    description: row.description ?? undefined,
    chargeId: row.charge_id ?? undefined,
    paymentIntentId: row.payment_intent_id ?? undefined,
    payoutId: row.payout_id ?? undefined,
    payoutEffectiveAt: row.payout_effective_at ?? undefined,
    disputeReason: row.dispute_reason ?? undefined,
    metadata: row.metadata,
    customerFacing:
      row.customer_facing_currency === null || row.customer_facing_minor === null
        ? undefined
        : { currency: row.customer_facing_currency, amountMinor: BigInt(row.customer_facing_minor) },
  };
}

function unique(values: Array<string | undefined>): string[] {
  return [...new Set(values.filter((value): value is string => value !== undefined && value !== ''))];
}

/**
 * The orders a chunk of lines could refer to: by our payment order id first, then by checkout id for the lines
 * still unresolved, then by the PSP's payment id; each an index lookup, most chunks needing only the first.
 */
async function loadOrders(db: Queryable, payins: PayinSide, lines: StagedLine[]) {
  const byId = new Map<string, OrderFacts>();
  const byCheckout = new Map<string, OrderFacts[]>();
  const byPayment = new Map<string, OrderFacts[]>();
  const add = (rows: OrderFacts[]): void => {
    for (const row of rows) {
      if (byId.has(row.paymentOrderId)) continue;
      const facts: OrderFacts = {
        paymentOrderId: row.paymentOrderId,
        checkoutId: row.checkoutId,
        amountMinor: row.amountMinor,
        currency: row.currency,
        status: row.status,
        pspPaymentId: row.pspPaymentId,
      };
      byId.set(facts.paymentOrderId, facts);
      byCheckout.set(facts.checkoutId, [...(byCheckout.get(facts.checkoutId) ?? []), facts]);
      if (facts.pspPaymentId !== null) {
        byPayment.set(facts.pspPaymentId, [...(byPayment.get(facts.pspPaymentId) ?? []), facts]);
      }
    }
  };
  const poIds = unique(lines.map((l) => l.metadata.payment_order_id));
  if (poIds.length > 0) {
    add(await payins.findOrderFacts(db, { paymentOrderIds: poIds }));
  }
  const unresolved = (line: StagedLine): boolean => {
    const po = line.metadata.payment_order_id;
    return po === undefined || !byId.has(po);
  };
  const checkoutIds = unique(lines.filter(unresolved).map((l) => l.metadata.checkout_id));
  if (checkoutIds.length > 0) {
    add(await payins.findOrderFacts(db, { checkoutIds }));
  }
  const paymentIds = unique(
    lines
      .filter(
        (l) =>
          unresolved(l) && (l.metadata.checkout_id === undefined || !byCheckout.has(l.metadata.checkout_id)),
      )
      .map((l) => l.paymentIntentId),
  );
  if (paymentIds.length > 0) {
    add(await payins.findOrderFacts(db, { pspPaymentIds: paymentIds }));
  }
  return { byId, byCheckout, byPayment };
}

/** An earlier sighting of a balance transaction, and whether it had the same content (amounts and type). */
interface Sighting {
  importId: string;
  line: number;
  same: boolean;
}

/** A line's content as compared with an earlier sighting of its balance transaction id. */
function contentOf(l: { category: string; currency: string; grossMinor: bigint; feeMinor: bigint }): string {
  return `${l.category}|${l.currency}|${l.grossMinor}|${l.feeMinor}`;
}

/**
 * Marks each line's balance transaction as seen; returns the earlier sighting of those seen before, with whether
 * its content (type, currency, gross and fee) is the same as this line's.
 */
async function markSeen(
  client: PoolClient,
  importId: string,
  lines: StagedLine[],
): Promise<Map<number, Sighting>> {
  const seenBefore = new Map<number, Sighting>();
  const inserted = await client.query<{ line: number }>(
    `INSERT INTO recon.psp_seen (balance_transaction_id, import_id, line)
     SELECT t, $1, l FROM unnest($2::text[], $3::int[]) AS u(t, l) ON CONFLICT DO NOTHING RETURNING line`,
    [importId, lines.map((l) => l.balanceTransactionId), lines.map((l) => l.line)],
  );
  // A line whose sighting was just inserted owns its balance transaction: nothing to look up. Only the others (a
  // transaction seen before, twice in this chunk, or this very line from a crashed run) have an owner to read —
  // none at all in a clean report.
  const owned = new Set(inserted.rows.map((row) => row.line));
  const others = lines.filter((l) => !owned.has(l.line));
  if (others.length === 0) return seenBefore;
  const owners = await client.query<{
    balance_transaction_id: string;
    import_id: string;
    line: number;
    content: string | null;
  }>(
    // One primary-key lookup per id in each table; OFFSET 0 keeps the planner from turning it into a scan of
    // every sighting (a hash join), which it prefers at a few thousand ids whatever the table's size.
    `SELECT s.balance_transaction_id, s.import_id, s.line, l.content
       FROM unnest($1::text[]) AS t(id)
       CROSS JOIN LATERAL (
         SELECT s.balance_transaction_id, s.import_id, s.line FROM recon.psp_seen s
          WHERE s.balance_transaction_id = t.id OFFSET 0
       ) s
       LEFT JOIN LATERAL (
         SELECT l.category || '|' || l.currency || '|' || l.gross_minor || '|' || l.fee_minor AS content
           FROM recon.psp_lines l WHERE l.import_id = s.import_id AND l.line = s.line
       ) l ON true`,
    [unique(others.map((l) => l.balanceTransactionId))],
  );
  const owner = new Map(owners.rows.map((row) => [row.balance_transaction_id, row]));
  for (const line of others) {
    const first = owner.get(line.balanceTransactionId);
    // The owning sighting is this very line when a crashed run is applied again: that is not a second sighting.
    if (first !== undefined && (first.import_id !== importId || first.line !== line.line)) {
      seenBefore.set(line.line, {
        importId: first.import_id,
        line: first.line,
        // Recognised only from another import (an overlapping report); twice in one report stays a duplicate.
        same: first.import_id !== importId && first.content === contentOf(line),
      });
    }
  }
  return seenBefore;
}

type LoadedOrders = Awaited<ReturnType<typeof loadOrders>>;
type ToCure = Array<{ finding: Finding; effectiveAt: Date | undefined }>;
interface PspPayoutRow {
  id: string;
  amountMinor: bigint;
  currency: string;
  effectiveAt: Date | undefined;
  line: number;
}

/** What one chunk's transaction gathers, line by line, before writing it. */
interface ChunkState {
  seenBefore: Map<number, Sighting>;
  orders: LoadedOrders;
  booked: Map<string, bigint>;
  priorMatches: Map<string, string>;
  newMatches: Array<{ orderId: string; txn: string; line: number }>;
  payouts: PspPayoutRow[];
  toFile: Finding[];
  toCure: ToCure;
  /**
   * Converted lines: what fx_settled booked by balance transaction (PSP clearing by currency, signed), what the
   * refund and dispute entries of converted lines moved on PSP clearing by currency, and the outcomes to record.
   */
  fxBooked: Map<string, Map<string, bigint>>;
  convertedEntries: Map<string, Map<string, bigint>>;
  fxLines: FxLineRecord[];
  fxToleranceBps: number;
  /** The chunk's lines by outcome, for the lines metric once the chunk commits (one increment per outcome). */
  outcomes: { matched: number; unmatched: number };
}

/** The staged lines numbered in (after, after + chunk size], in line order: a bounded range of the primary key. */
async function readPspChunk(rt: ReconRuntime, importId: string, after: number): Promise<StagedLine[]> {
  const chunk = await rt.pool.query<LineRow>(
    `SELECT line, balance_transaction_id, category, currency, gross_minor, fee_minor, net_minor, created_at,
            available_on, source_id, charge_id, payment_intent_id, payout_id, payout_effective_at, description,
            dispute_reason, metadata, customer_facing_currency, customer_facing_minor
       FROM recon.psp_lines WHERE import_id = $1 AND line > $2 AND line <= $2 + $3 ORDER BY line`,
    [importId, after, rt.chunkSize],
  );
  return chunk.rows.map((row) => toLine(importId, row));
}

/** The ledger references a chunk's lines may have been booked under: the PSP fee, the refund, the chargeback. */
function bookedReferences(lines: StagedLine[]): string[] {
  return lines.flatMap((l) => [
    `psp_fee:${l.balanceTransactionId}`,
    ...(l.sourceId === undefined
      ? []
      : l.category === 'refund'
        ? [`refund:${l.sourceId}`]
        : l.category === 'refund_failure' || l.category === 'dispute' || l.category === 'dispute_reversal'
          ? [bookedEntryReference(l.category, l.sourceId)]
          : []),
  ]);
}

/** The balance transaction each of these orders was already matched to, by order id. */
async function loadPriorMatches(client: Queryable, orderIds: string[]): Promise<Map<string, string>> {
  const priorMatches = new Map<string, string>();
  if (orderIds.length > 0) {
    const found = await client.query<{ payment_order_id: string; balance_transaction_id: string }>(
      'SELECT payment_order_id, balance_transaction_id FROM recon.order_matches WHERE payment_order_id = ANY($1::text[])',
      [orderIds],
    );
    for (const row of found.rows) priorMatches.set(row.payment_order_id, row.balance_transaction_id);
  }
  return priorMatches;
}

function addPspTotals(counters: RunCounters, line: StagedLine): void {
  const totals = counters.pspTotals.get(line.currency) ?? {
    grossMinor: 0n,
    feeMinor: 0n,
    netMinor: 0n,
    lines: 0,
  };
  totals.grossMinor += line.grossMinor;
  totals.feeMinor += line.feeMinor;
  totals.netMinor += line.netMinor;
  totals.lines += 1;
  counters.pspTotals.set(line.currency, totals);
}

/** The orders a line refers to: by payment order id, else by checkout id, else by the PSP's payment id. */
function matchOrders(
  line: StagedLine,
  orders: LoadedOrders,
): { matchedOrders: OrderFacts[]; matchedBy: PspLineContext['matchedBy'] } {
  const keys = {
    po: line.metadata.payment_order_id,
    checkout: line.metadata.checkout_id,
    pi: line.paymentIntentId,
  };
  let matchedOrders: OrderFacts[] = [];
  let matchedBy: PspLineContext['matchedBy'];
  const single = keys.po === undefined ? undefined : orders.byId.get(keys.po);
  if (single !== undefined) {
    matchedOrders = [single];
    matchedBy = 'payment_order_id';
  } else if (keys.checkout !== undefined && (orders.byCheckout.get(keys.checkout)?.length ?? 0) > 0) {
    matchedOrders = orders.byCheckout.get(keys.checkout) ?? [];
    matchedBy = 'checkout_id';
  } else if (keys.pi !== undefined && (orders.byPayment.get(keys.pi)?.length ?? 0) > 0) {
    matchedOrders = orders.byPayment.get(keys.pi) ?? [];
    matchedBy = 'payment_intent_id';
  }
  return { matchedOrders, matchedBy };
}

/**
 * The entry a refund, refund-failure, dispute or dispute-reversal line is booked under (docs/refunds.md,
 * docs/disputes.md, docs/reconciliation.md).
 */
function bookedEntryReference(category: string, sourceId: string): string {
  if (category === 'refund') return `refund:${sourceId}`;
  if (category === 'refund_failure') return `refund:${sourceId}:reversed`;
  if (category === 'dispute_reversal') return `dispute_reinstated:${sourceId}`;
  return `chargeback:${sourceId}`;
}

/** What `fx_settled:<the line's balance transaction>` booked in the line's currency (else in another), if any. */
function fxBookedFor(line: StagedLine, state: ChunkState): FxBooked | undefined {
  const byCurrency = state.fxBooked.get(line.balanceTransactionId);
  if (byCurrency === undefined) return undefined;
  const own = byCurrency.get(line.currency);
  if (own !== undefined) return { settledMinor: own, currency: line.currency };
  const [other] = byCurrency;
  return other === undefined ? undefined : { settledMinor: other[1], currency: other[0] };
}

/**
 * A converted refund, refund failure, dispute or dispute reversal line: what its entry moved on PSP clearing in
 * the customer-facing currency (a magnitude), and for a reversal in the line's own (the dispute fee returned).
 */
function convertedEntryBooked(
  line: StagedLine,
  state: ChunkState,
): Pick<PspLineContext, 'bookedEntryMinor' | 'bookedFeeReturnedMinor'> | undefined {
  const side = convertedSide(line);
  if (side === undefined || line.sourceId === undefined || CHARGE_CATEGORIES.has(line.category))
    return undefined;
  const moved = state.convertedEntries.get(bookedEntryReference(line.category, line.sourceId));
  if (moved === undefined) return { bookedEntryMinor: undefined };
  const presentment = moved.get(side.currency) ?? 0n;
  return {
    bookedEntryMinor: presentment < 0n ? -presentment : presentment,
    bookedFeeReturnedMinor: moved.get(line.currency) ?? 0n,
  };
}

/** The references of the refund and dispute entries of the chunk's converted non-charge lines. */
function convertedEntryReferences(lines: StagedLine[]): string[] {
  return lines.flatMap((l) =>
    convertedSide(l) === undefined ||
    l.sourceId === undefined ||
    CHARGE_CATEGORIES.has(l.category) ||
    !['refund', 'refund_failure', 'dispute', 'dispute_reversal'].includes(l.category)
      ? []
      : [bookedEntryReference(l.category, l.sourceId)],
  );
}

/** Everything the classifier needs to know about one line beyond the line itself. */
function pspLineContext(line: StagedLine, state: ChunkState): PspLineContext {
  const { matchedOrders, matchedBy } = matchOrders(line, state.orders);
  const isCharge = CHARGE_CATEGORIES.has(line.category);
  const other = isCharge
    ? matchedOrders
        .map((o) => state.priorMatches.get(o.paymentOrderId))
        .find((t) => t !== undefined && t !== line.balanceTransactionId)
    : undefined;
  return {
    seenBefore: state.seenBefore.get(line.line),
    orders: matchedOrders,
    matchedBy,
    ordersMatchedByOther: other,
    feeBookedMinor: state.booked.get(`psp_fee:${line.balanceTransactionId}`),
    bookedEntryMinor:
      line.sourceId === undefined
        ? undefined
        : state.booked.get(bookedEntryReference(line.category, line.sourceId)),
    ...convertedEntryBooked(line, state),
    fxSettled: fxBookedFor(line, state),
    fxToleranceBps: state.fxToleranceBps,
  };
}

/** Classifies one line and records what follows from it in the chunk's state. */
function sortPspLine(line: StagedLine, state: ChunkState, counters: RunCounters): void {
  counters.linesRead += 1;
  if (state.seenBefore.get(line.line)?.same === true) {
    counters.repeated += 1;
    return;
  }
  addPspTotals(counters, line);
  const ctx = pspLineContext(line, state);
  const isCharge = CHARGE_CATEGORIES.has(line.category);
  const result = classifyPspLine(line, ctx);
  if (result.matched) counters.matched += 1;
  // A charge line that found its orders accounts for them even when it disagrees with them: the
  // disagreement is its own exception, and the orders are not also "missing" a line.
  if (isCharge && ctx.seenBefore === undefined && ctx.ordersMatchedByOther === undefined) {
    for (const orderId of result.matchedOrderIds) {
      state.priorMatches.set(orderId, line.balanceTransactionId);
      state.newMatches.push({ orderId, txn: line.balanceTransactionId, line: line.line });
    }
  }
  if (result.pspPayout !== undefined) state.payouts.push({ ...result.pspPayout, line: line.line });
  if (result.fx !== undefined)
    state.fxLines.push({ ...result.fx, line: line.line, effectiveAt: line.createdAt });
  for (const finding of result.findings) {
    if (finding.fix === undefined) state.toFile.push(finding);
    else state.toCure.push({ finding, effectiveAt: line.createdAt });
  }
  if (result.matched) state.outcomes.matched += 1;
  else state.outcomes.unmatched += 1;
}

/** Writes the chunk's new order matches and the PSP payouts its lines announced. */
async function writeMatchesAndPayouts(
  client: PoolClient,
  importId: string,
  state: ChunkState,
): Promise<void> {
  const { newMatches, payouts } = state;
  if (newMatches.length > 0) {
    await client.query(
      `INSERT INTO recon.order_matches (payment_order_id, balance_transaction_id, import_id, line)
       SELECT o, t, $1, l FROM unnest($2::text[], $3::text[], $4::int[]) AS u(o, t, l) ON CONFLICT DO NOTHING`,
      [
        importId,
        newMatches.map((m) => m.orderId),
        newMatches.map((m) => m.txn),
        newMatches.map((m) => m.line),
      ],
    );
  }
  if (payouts.length > 0) {
    await client.query(
      `INSERT INTO recon.psp_payouts (id, currency, amount_minor, effective_at, import_id, line)
       SELECT i, c, a, e, $1, l FROM unnest($2::text[], $3::text[], $4::bigint[], $5::timestamptz[], $6::int[])
         AS u(i, c, a, e, l) ON CONFLICT DO NOTHING`,
      [
        importId,
        payouts.map((p) => p.id),
        payouts.map((p) => p.currency),
        payouts.map((p) => p.amountMinor.toString()),
        payouts.map((p) => p.effectiveAt ?? null),
        payouts.map((p) => p.line),
      ],
    );
  }
}

/** What a chunk's decisions read besides its sightings: the orders, what the ledger booked, prior matches. */
interface ChunkLookups {
  orders: Awaited<ReturnType<typeof loadOrders>>;
  booked: Awaited<ReturnType<typeof debitTotalsByReference>>;
  priorMatches: Map<string, string>;
  fxBooked: Awaited<ReturnType<typeof fxSettledByTransaction>>;
  convertedEntries: Awaited<ReturnType<typeof pspClearingByReference>>;
}

/**
 * The chunk's lookups, read side by side on their own connections while the chunk's transaction marks its
 * sightings (they are plain reads: under READ COMMITTED, reading them just before the transaction or inside it
 * sees the same committed state — every earlier chunk has committed — and the chunk's own writes never change
 * them). Four round trips in parallel instead of five in a row.
 */
function readChunkLookups(rt: ReconRuntime, lines: StagedLine[]): Promise<ChunkLookups> {
  const converted = lines.filter((l) => convertedSide(l) !== undefined).map((l) => l.balanceTransactionId);
  const ordersAndMatches = loadOrders(rt.pool, rt.fix.payins, lines).then(async (orders) => ({
    orders,
    priorMatches: await loadPriorMatches(rt.pool, [...orders.byId.keys()]),
  }));
  const lookups = Promise.all([
    ordersAndMatches,
    debitTotalsByReference(rt.pool, bookedReferences(lines)),
    fxSettledByTransaction(rt.pool, converted),
    pspClearingByReference(rt.pool, convertedEntryReferences(lines)),
  ]).then(([{ orders, priorMatches }, booked, fxBooked, convertedEntries]) => ({
    orders,
    priorMatches,
    booked,
    fxBooked,
    convertedEntries,
  }));
  lookups.catch(() => undefined); // awaited by the chunk's transaction
  return lookups;
}

/**
 * What a chunk's transaction changed that a later chunk's lookups read: the orders it matched (prior matches), and
 * whether it booked anything in the ledger (a converted line's settlement difference).
 */
interface ChunkWrites {
  matchedOrderIds: string[];
  booked: boolean;
}

/** One chunk's transaction: marks the lines seen, matches and sorts them, writes the matches, files the findings. */
async function applyPspChunk(
  rt: ReconRuntime,
  client: PoolClient,
  chunk: { runId: string; importId: string; lines: StagedLine[]; lookups: Promise<ChunkLookups> },
  counters: RunCounters,
  toCure: ToCure,
): Promise<ChunkWrites> {
  const { runId, importId, lines } = chunk;
  const seenBefore = await markSeen(client, importId, lines);
  const state: ChunkState = {
    seenBefore,
    ...(await chunk.lookups),
    newMatches: [],
    payouts: [],
    toFile: [],
    toCure,
    fxLines: [],
    fxToleranceBps: rt.config.fxToleranceBps,
    outcomes: { matched: 0, unmatched: 0 },
  };
  for (const line of lines) sortPspLine(line, state, counters);
  const { matched, unmatched } = state.outcomes;
  afterCommit(client, () => {
    if (matched > 0) rt.metrics.lines.inc({ source: 'psp', outcome: 'matched' }, matched);
    if (unmatched > 0) rt.metrics.lines.inc({ source: 'psp', outcome: 'unmatched' }, unmatched);
  });
  await writeMatchesAndPayouts(client, importId, state);
  await recordFxLines(client, { runId, importId }, state.fxLines, counters);
  await fileAll(rt, client, runId, state.toFile, counters);
  return { matchedOrderIds: state.newMatches.map((m) => m.orderId), booked: state.fxLines.length > 0 };
}

/**
 * Whether lookups read before `writes` committed (and before the cures that followed) still hold: nothing was
 * cured or booked, and none of the orders they found was matched meanwhile. Everything else a chunk writes
 * (sightings, payouts, exceptions) is not among what the lookups read.
 */
function lookupsStillHold(lookups: ChunkLookups, writes: ChunkWrites, cured: number): boolean {
  if (cured > 0 || writes.booked) return false;
  return !writes.matchedOrderIds.some((id) => lookups.orders.byId.has(id));
}

/**
 * Applies one staged PSP report: matches and sorts every line, chunk by chunk (ranges of line numbers), then cures
 * the known causes. The next chunk is read while the current one is applied: staged lines never change, and what
 * a chunk's decisions depend on (sightings, matches, the ledger) is read inside its own transaction, or — its
 * lookups — read ahead while the previous chunk's transaction finishes and used only when that transaction
 * changed none of it (`lookupsStillHold`); else read again once it has committed.
 */
export async function applyPspImport(
  rt: ReconRuntime,
  runId: string,
  importId: string,
  counters: RunCounters,
): Promise<void> {
  const last = await rt.pool.query<{ line: number | null }>(
    'SELECT max(line) AS line FROM recon.psp_lines WHERE import_id = $1',
    [importId],
  );
  const lastLine = last.rows[0]?.line ?? 0;
  const readAhead = (after: number): Promise<StagedLine[]> => {
    const read = after < lastLine ? readPspChunk(rt, importId, after) : Promise.resolve([]);
    read.catch(() => undefined); // awaited in its turn
    return read;
  };
  let next = readAhead(0);
  let early: Promise<ChunkLookups | undefined> | undefined;
  for (let after = 0; after < lastLine; after += rt.chunkSize) {
    const lines = await next;
    const upcoming = readAhead(after + rt.chunkSize);
    next = upcoming;
    const speculated = early === undefined ? undefined : await early.catch(() => undefined);
    early = undefined;
    if (lines.length === 0) continue;
    const toCure: ToCure = [];
    const lookups = speculated === undefined ? readChunkLookups(rt, lines) : Promise.resolve(speculated);
    // The next chunk's lookups start once this one's are in, while this transaction sorts, writes and commits.
    const ahead = lookups.then(async () => {
      const nextLines = await upcoming;
      return nextLines.length === 0 ? undefined : await readChunkLookups(rt, nextLines);
    });
    ahead.catch(() => undefined); // awaited, or dropped, below
    // A transaction run again (a deadlock, a serialization failure) starts from the counts before this chunk:
    // what the failed attempt counted and meant to cure was rolled back with it.
    const before = structuredClone(counters);
    const writes = await withTransaction(rt.pool, (client) => {
      Object.assign(counters, structuredClone(before));
      toCure.length = 0;
      return applyPspChunk(rt, client, { runId, importId, lines, lookups }, counters, toCure);
    });
    for (const { finding, effectiveAt } of toCure) await rt.cure(runId, finding, effectiveAt, counters);
    early = ahead.then((found) =>
      found !== undefined && lookupsStillHold(found, writes, toCure.length) ? found : undefined,
    );
  }
}

/**
 * Successes of ours that no PSP line accounts for once the settlement window has passed. Only orders that
 * succeeded inside the span the imported reports cover are asked about, so a deployment that starts reconciling
 * today is not flooded with its history.
 */
export async function checkMissingPspLines(
  rt: ReconRuntime,
  runId: string,
  counters: RunCounters,
): Promise<void> {
  const windowMs = rt.settlementWindowHours * 3_600_000;
  const cutoff = new Date(rt.clock.now().getTime() - windowMs);
  const coverage = await rt.pool.query<{ start: Date | null }>(
    `SELECT min(interval_start) AS start FROM recon.imports WHERE source = 'psp' AND status = 'applied'`,
  );
  const start = coverage.rows[0]?.start ?? null;
  const found = start === null ? [] : await unmatchedSuccesses(rt, start, cutoff, 10_000);
  // A hosted checkout is one charge at the PSP for all its orders: one missing line, not one per order.
  const hosted = new Map<string, Array<OrderFacts & { succeededAt: Date }>>();
  const findings: Finding[] = [];
  for (const row of found) {
    const order = {
      paymentOrderId: row.paymentOrderId,
      checkoutId: row.checkoutId,
      amountMinor: row.amountMinor,
      currency: row.currency,
      status: row.status,
      pspPaymentId: row.pspPaymentId,
      succeededAt: row.succeededAt,
    };
    if (row.flow === 'hosted_page')
      hosted.set(row.checkoutId, [...(hosted.get(row.checkoutId) ?? []), order]);
    else findings.push(missingLineFinding([order], rt.settlementWindowHours));
  }
  for (const orders of hosted.values()) findings.push(missingLineFinding(orders, rt.settlementWindowHours));
  if (findings.length === 0) return;
  await withTransaction(rt.pool, async (client) => fileAll(rt, client, runId, findings, counters));
}

/**
 * Successful orders in [start, cutoff) with no match in a report and no missing-line exception filed yet, in the
 * order they succeeded, at most `limit`: the pay-in module's successes, paged, less those reconciliation knows.
 */
async function unmatchedSuccesses(
  rt: ReconRuntime,
  start: Date,
  cutoff: Date,
  limit: number,
): Promise<Array<OrderFacts & { succeededAt: Date; flow: string; position: number }>> {
  const found: Array<OrderFacts & { succeededAt: Date; flow: string; position: number }> = [];
  let after: { at: Date; checkoutId: string; position: number } | undefined;
  while (found.length < limit) {
    const page = await rt.fix.payins.succeededBetween(rt.pool, start, cutoff, after, 1000);
    const last = page[page.length - 1];
    if (last === undefined) break;
    after = { at: last.succeededAt, checkoutId: last.checkoutId, position: last.position };
    const known = await rt.pool.query<{ payment_order_id: string }>(
      `SELECT m.payment_order_id FROM recon.order_matches m WHERE m.payment_order_id = ANY($1::text[])
       UNION
       SELECT o.id FROM unnest($1::text[], $2::text[]) AS o(id, checkout_id)
        WHERE EXISTS (SELECT 1 FROM recon.exceptions x
                       WHERE x.dedupe_key IN ('missing_psp_line:' || o.id, 'missing_psp_line:checkout:' || o.checkout_id))`,
      [page.map((o) => o.paymentOrderId), page.map((o) => o.checkoutId)],
    );
    const skip = new Set(known.rows.map((row) => row.payment_order_id));
    for (const order of page) if (!skip.has(order.paymentOrderId) && found.length < limit) found.push(order);
    if (page.length < 1000) break;
  }
  return found;
}
