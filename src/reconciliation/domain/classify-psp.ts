import type { PspLine } from '../psp-report/reader.ts';
import { classifyFxLine, convertedSide, type FxBooked, type FxLineOutcome } from './classify-fx.ts';
import { jsonSafe, type Finding, type OrderFacts } from './types.ts';

/**
 * Matching and sorting of one PSP settlement-report line. Pure: the caller looks up what the line could match
 * (orders by our metadata and the PSP's ids, fee/refund/dispute entries in the ledger, earlier sightings) and
 * this decides what agrees and what differs. Checks run in a fixed order and the first disagreement about the
 * money itself (currency, then amount, then state) stops the line: a line whose amount differs is not also
 * settled or fee-booked, because the cure depends on a person's reading of it.
 */

export interface PspLineContext {
  /** This balance transaction was applied before (earlier in this file or in another import). */
  seenBefore: { importId: string; line: number } | undefined;
  /** The orders the line pays for, and how they were found. */
  orders: OrderFacts[];
  matchedBy: 'payment_order_id' | 'checkout_id' | 'payment_intent_id' | undefined;
  /** Another charge line already matched these orders (its balance transaction id). */
  ordersMatchedByOther: string | undefined;
  /** The amount booked under `psp_fee:<balance transaction id>`, when there is such an entry. */
  feeBookedMinor: bigint | undefined;
  /**
   * The amount booked under `refund:<source id>` / `chargeback:<source id>`, when there is such an entry. For a
   * converted line (the customer-facing currency is not the line's), what that entry moved on PSP clearing in the
   * customer-facing currency, as a magnitude.
   */
  bookedEntryMinor: bigint | undefined;
  /** A converted dispute reversal: what its entry moved on PSP clearing in the line's currency (the fee returned). */
  bookedFeeReturnedMinor?: bigint | undefined;
  /** A converted line: what `fx_settled:<balance transaction id>` booked, and the tolerance (basis points). */
  fxSettled?: FxBooked | undefined;
  fxToleranceBps?: number;
}

export interface PspLineResult {
  findings: Finding[];
  /** The line agreed with (or was cured into agreement with) a record of ours. */
  matched: boolean;
  /** Orders this line now accounts for (a charge line). */
  matchedOrderIds: string[];
  /** A payout line: the PSP's payout to our bank, for the bank statement to meet. */
  pspPayout?: { id: string; amountMinor: bigint; currency: string; effectiveAt: Date | undefined };
  /** A converted line: its settlement compared with the booked conversion (classify-fx.ts). */
  fx?: FxLineOutcome;
}

export const CHARGE_CATEGORIES: ReadonlySet<string> = new Set(['charge', 'payment']);

export function lineEvidence(line: PspLine & { importId: string }): Record<string, unknown> {
  return {
    source: 'psp_report',
    import_id: line.importId,
    line: line.line,
    balance_transaction_id: line.balanceTransactionId,
    reporting_category: line.category,
    currency: line.currency,
    gross_minor: line.grossMinor.toString(),
    fee_minor: line.feeMinor.toString(),
    net_minor: line.netMinor.toString(),
    ...(line.sourceId === undefined ? {} : { source_id: line.sourceId }),
    ...(line.paymentIntentId === undefined ? {} : { payment_intent_id: line.paymentIntentId }),
    ...(line.chargeId === undefined ? {} : { charge_id: line.chargeId }),
    ...(line.createdAt === undefined ? {} : { created: line.createdAt.toISOString() }),
    ...(Object.keys(line.metadata).length === 0 ? {} : { metadata: line.metadata }),
    ...(line.customerFacing === undefined
      ? {}
      : {
          customer_facing_currency: line.customerFacing.currency,
          customer_facing_minor: line.customerFacing.amountMinor.toString(),
        }),
  };
}

function ordersEvidence(orders: OrderFacts[]): unknown {
  return jsonSafe(
    orders.map((order) => ({
      payment_order_id: order.paymentOrderId,
      checkout_id: order.checkoutId,
      amount_minor: order.amountMinor,
      currency: order.currency,
      status: order.status,
    })),
  );
}

function feeFinding(
  line: PspLine & { importId: string },
  ctx: PspLineContext,
  orders: OrderFacts[],
): Finding[] {
  if (line.feeMinor <= 0n || ctx.feeBookedMinor === line.feeMinor) return [];
  const evidence = { line: lineEvidence(line), orders: ordersEvidence(orders) };
  if (ctx.feeBookedMinor === undefined) {
    return [
      {
        kind: 'psp_fee_unbooked',
        cause: `the PSP charged a fee of ${line.feeMinor} ${line.currency} minor units on ${line.balanceTransactionId} that is not booked`,
        dedupeKey: `psp_fee_unbooked:${line.balanceTransactionId}`,
        evidence,
        currency: line.currency,
        amountMinor: line.feeMinor,
        fix: {
          type: 'book_psp_fee',
          balanceTransactionId: line.balanceTransactionId,
          feeMinor: line.feeMinor,
          currency: line.currency,
        },
      },
    ];
  }
  if (ctx.feeBookedMinor !== line.feeMinor) {
    return [
      {
        kind: 'fee_mismatch',
        cause: `the PSP's fee on ${line.balanceTransactionId} is ${line.feeMinor}, ${ctx.feeBookedMinor} is booked (${line.currency} minor units)`,
        dedupeKey: `fee_mismatch:${line.balanceTransactionId}`,
        evidence: { ...evidence, fee_booked_minor: ctx.feeBookedMinor.toString() },
        currency: line.currency,
        amountMinor: line.feeMinor - ctx.feeBookedMinor,
      },
    ];
  }
  return [];
}

function unmatched(line: PspLine & { importId: string }, why: string): PspLineResult {
  return {
    findings: [
      {
        kind: 'unmatched_psp_line',
        cause: `PSP line ${line.balanceTransactionId} (${line.category}) matches nothing of ours: ${why}`,
        dedupeKey: `unmatched_psp_line:${line.balanceTransactionId}`,
        evidence: { line: lineEvidence(line) },
        currency: line.currency,
        amountMinor: line.grossMinor,
      },
    ],
    matched: false,
    matchedOrderIds: [],
  };
}

type ChargeLine = PspLine & { importId: string };

/** What every finding about a charge line shows: the line, the orders it met and how they were found. */
type ChargeEvidence = {
  line: Record<string, unknown>;
  orders: unknown;
  matched_by: PspLineContext['matchedBy'];
};

/** The charge disagrees with the orders about the money: charged twice, in another currency, or another amount. */
function chargeMoneyFinding(
  line: ChargeLine,
  ctx: PspLineContext,
  ids: string[],
  evidence: () => ChargeEvidence,
): Finding | undefined {
  if (ctx.ordersMatchedByOther !== undefined) {
    return {
      kind: 'duplicate_line',
      cause: `a second charge for order(s) ${ids.join(', ')}, already matched to ${ctx.ordersMatchedByOther}`,
      dedupeKey: `duplicate_line:psp:${line.balanceTransactionId}`,
      evidence: { ...evidence(), first_balance_transaction_id: ctx.ordersMatchedByOther },
      currency: line.currency,
      amountMinor: line.grossMinor,
    };
  }
  // A converted charge is compared in what the customer paid (the presentment side); its settlement apart.
  const charged = convertedSide(line) ?? { currency: line.currency, amountMinor: line.grossMinor };
  const currencies = new Set(ctx.orders.map((order) => order.currency));
  if (currencies.size !== 1 || !currencies.has(charged.currency)) {
    return {
      kind: 'currency_mismatch',
      cause: `the PSP charged in ${charged.currency}; order(s) ${ids.join(', ')} are in ${[...currencies].join(', ')}`,
      dedupeKey: `currency_mismatch:${line.balanceTransactionId}`,
      evidence: evidence(),
      currency: line.currency,
      amountMinor: line.grossMinor,
    };
  }
  const expected = ctx.orders.reduce((sum, order) => sum + order.amountMinor, 0n);
  if (expected === charged.amountMinor) return undefined;
  return {
    kind: 'amount_mismatch',
    cause: `the PSP charged ${charged.amountMinor}; order(s) ${ids.join(', ')} total ${expected} (${charged.currency} minor units)`,
    dedupeKey: `amount_mismatch:${line.balanceTransactionId}`,
    evidence: { ...evidence(), expected_minor: expected.toString() },
    currency: charged.currency,
    amountMinor: charged.amountMinor - expected,
  };
}

/** The PSP charged orders that are FAILED, or that never started, here: a person decides. */
function chargeStateFinding(
  line: ChargeLine,
  orders: OrderFacts[],
  evidence: () => ChargeEvidence,
): Finding | undefined {
  const failed = orders.filter((order) => order.status === 'FAILED');
  if (failed.length > 0) {
    return {
      kind: 'charged_but_failed',
      cause: `the PSP charged ${line.balanceTransactionId} but order(s) ${failed.map((o) => o.paymentOrderId).join(', ')} are FAILED here: refund the buyer or accept the payment`,
      dedupeKey: `charged_but_failed:${line.balanceTransactionId}`,
      evidence: evidence(),
      currency: line.currency,
      amountMinor: line.grossMinor,
    };
  }
  const notStarted = orders.filter((order) => order.status === 'NOT_STARTED');
  if (notStarted.length === 0) return undefined;
  return {
    kind: 'status_mismatch',
    cause: `the PSP charged order(s) ${notStarted.map((o) => o.paymentOrderId).join(', ')} that never started here`,
    dedupeKey: `status_mismatch:${line.balanceTransactionId}`,
    evidence: evidence(),
    currency: line.currency,
    amountMinor: line.grossMinor,
  };
}

/** Orders still EXECUTING or PENDING that the PSP charged: the webhook was missed; settle them. */
function missedWebhookFinding(
  line: ChargeLine,
  ctx: PspLineContext,
  evidence: () => ChargeEvidence,
): Finding | undefined {
  const orders = ctx.orders;
  const open = orders.filter((order) => order.status === 'EXECUTING' || order.status === 'PENDING');
  if (open.length === 0) return undefined;
  const first = orders[0];
  const target =
    ctx.matchedBy === 'payment_order_id' || orders.length === 1 || first === undefined
      ? { paymentOrderId: open[0]?.paymentOrderId ?? '' }
      : { checkoutId: first.checkoutId };
  return {
    kind: 'missed_webhook',
    cause: `the PSP charged ${line.balanceTransactionId} but order(s) ${open.map((o) => o.paymentOrderId).join(', ')} are still ${open[0]?.status ?? ''} here: the webhook was missed`,
    dedupeKey: `missed_webhook:${line.balanceTransactionId}`,
    evidence: evidence(),
    currency: line.currency,
    amountMinor: line.grossMinor,
    fix: {
      type: 'settle_payin',
      target,
      paymentIntentId: line.paymentIntentId,
      chargeId: line.chargeId ?? (line.sourceId?.startsWith('ch_') === true ? line.sourceId : undefined),
    },
  };
}

function classifyCharge(line: ChargeLine, ctx: PspLineContext): PspLineResult {
  const orders = ctx.orders;
  if (orders.length === 0) return unmatched(line, 'no payment order carries its metadata or payment intent');
  // Built only for a finding: a line that matches cleanly (nearly all of a report) needs none.
  let built: ChargeEvidence | undefined;
  const evidence = (): ChargeEvidence =>
    (built ??= { line: lineEvidence(line), orders: ordersEvidence(orders), matched_by: ctx.matchedBy });
  const ids = orders.map((order) => order.paymentOrderId);
  const stop = chargeMoneyFinding(line, ctx, ids, evidence) ?? chargeStateFinding(line, orders, evidence);
  if (stop !== undefined) return { findings: [stop], matched: false, matchedOrderIds: ids };
  const findings: Finding[] = [];
  const missed = missedWebhookFinding(line, ctx, evidence);
  if (missed !== undefined) findings.push(missed);
  findings.push(...feeFinding(line, ctx, orders));
  const fx =
    convertedSide(line) === undefined
      ? undefined
      : classifyFxLine(line, ctx.fxSettled, ctx.fxToleranceBps ?? 0, evidence());
  if (fx?.finding !== undefined) findings.push(fx.finding);
  return { findings, matched: true, matchedOrderIds: ids, ...(fx === undefined ? {} : { fx }) };
}

/**
 * A converted line's settlement compared with the booked conversion, added to a line that matched its entry: the
 * outcome to record, and its exception when it has one.
 */
function withFx(
  line: PspLine & { importId: string },
  ctx: PspLineContext,
  result: PspLineResult,
  evidence: Record<string, unknown>,
): PspLineResult {
  const fx = classifyFxLine(line, ctx.fxSettled, ctx.fxToleranceBps ?? 0, evidence);
  if (fx === undefined) return result;
  return { ...result, findings: [...result.findings, ...(fx.finding ? [fx.finding] : [])], fx };
}

function classifyRefundOrDispute(line: PspLine & { importId: string }, ctx: PspLineContext): PspLineResult {
  // A refund failure (the PSP gave a refund's money back) matches the refund's reversal entry.
  const isFailure = line.category === 'refund_failure';
  const isRefund = line.category === 'refund' || isFailure;
  const what = isFailure ? 'refund failure' : isRefund ? 'refund' : 'dispute';
  // A converted line is compared in what the buyer got back (the presentment side); its conversion apart.
  const converted = convertedSide(line);
  const side = converted ?? { currency: line.currency, amountMinor: line.grossMinor };
  const amount = isFailure ? side.amountMinor : -side.amountMinor;
  const evidence = { line: lineEvidence(line), orders: ordersEvidence(ctx.orders) };
  if (ctx.bookedEntryMinor !== undefined) {
    if (ctx.bookedEntryMinor !== amount) {
      return {
        findings: [
          {
            kind: 'amount_mismatch',
            cause: `the PSP's ${what} ${line.sourceId ?? line.balanceTransactionId} is ${amount}; ${ctx.bookedEntryMinor} is booked (${side.currency} minor units)`,
            dedupeKey: `amount_mismatch:${line.balanceTransactionId}`,
            evidence: { ...evidence, booked_minor: ctx.bookedEntryMinor.toString() },
            currency: side.currency,
            amountMinor: amount - ctx.bookedEntryMinor,
          },
        ],
        matched: false,
        matchedOrderIds: [],
      };
    }
    const matched = { findings: feeFinding(line, ctx, ctx.orders), matched: true, matchedOrderIds: [] };
    return converted === undefined ? matched : withFx(line, ctx, matched, evidence);
  }
  if (ctx.orders.length === 0) return unmatched(line, `no booked ${what} and no order of ours it refers to`);
  return {
    findings: [
      {
        kind: isRefund ? 'refund_unbooked' : 'dispute_unbooked',
        cause: `the PSP ${isRefund ? 'refunded' : 'lost a dispute on'} ${amount} ${side.currency} minor units of order(s) ${ctx.orders.map((o) => o.paymentOrderId).join(', ')}, not booked here: decide who bears it`,
        dedupeKey: `${isFailure ? 'refund_failure' : isRefund ? 'refund' : 'dispute'}_unbooked:${line.balanceTransactionId}`,
        evidence,
        currency: side.currency,
        amountMinor: amount,
      },
      ...feeFinding(line, ctx, ctx.orders),
    ],
    matched: true,
    matchedOrderIds: [],
  };
}

/**
 * A won dispute's reversal: the PSP gave the amount (and the dispute fee, as a negative fee) back. It matches the
 * `dispute_reinstated:<dispute>` entry, which books the line's net; none booked is `dispute_unbooked`.
 */
function classifyDisputeReversal(line: PspLine & { importId: string }, ctx: PspLineContext): PspLineResult {
  const converted = convertedSide(line);
  if (converted !== undefined && ctx.bookedEntryMinor !== undefined)
    return classifyConvertedReversal(line, ctx, converted);
  const returned = line.netMinor;
  const evidence = { line: lineEvidence(line), orders: ordersEvidence(ctx.orders) };
  if (ctx.bookedEntryMinor === returned) return { findings: [], matched: true, matchedOrderIds: [] };
  if (ctx.bookedEntryMinor !== undefined) {
    const finding: Finding = {
      kind: 'amount_mismatch',
      cause: `the PSP reinstated ${returned} for dispute ${line.sourceId ?? line.balanceTransactionId}; ${ctx.bookedEntryMinor} is booked (${line.currency} minor units)`,
      dedupeKey: `amount_mismatch:${line.balanceTransactionId}`,
      evidence: { ...evidence, booked_minor: ctx.bookedEntryMinor.toString() },
      currency: line.currency,
      amountMinor: returned - ctx.bookedEntryMinor,
    };
    return { findings: [finding], matched: false, matchedOrderIds: [] };
  }
  if (ctx.orders.length === 0)
    return unmatched(line, 'no booked dispute reversal and no order of ours it refers to');
  const unbooked: Finding = {
    kind: 'dispute_unbooked',
    cause: `the PSP reinstated ${returned} ${line.currency} minor units of a won dispute on order(s) ${ctx.orders.map((o) => o.paymentOrderId).join(', ')}, not booked here`,
    dedupeKey: `dispute_unbooked:${line.balanceTransactionId}`,
    evidence,
    currency: line.currency,
    amountMinor: -returned,
  };
  return { findings: [unbooked], matched: true, matchedOrderIds: [] };
}

/**
 * A converted dispute reversal: the amount given back in the buyer's currency against the reinstatement entry's
 * PSP clearing in it, the dispute fee returned (a negative fee, in the PSP's currency) against what the entry
 * booked in that currency, then the PSP's conversion of the amount.
 */
function classifyConvertedReversal(
  line: PspLine & { importId: string },
  ctx: PspLineContext,
  side: { currency: string; amountMinor: bigint },
): PspLineResult {
  const evidence = { line: lineEvidence(line), orders: ordersEvidence(ctx.orders) };
  const booked = ctx.bookedEntryMinor ?? 0n;
  const feeReturned = -line.feeMinor;
  const feeBooked = ctx.bookedFeeReturnedMinor ?? 0n;
  const findings: Finding[] = [];
  if (booked !== side.amountMinor)
    findings.push({
      kind: 'amount_mismatch',
      cause: `the PSP reinstated ${side.amountMinor} for dispute ${line.sourceId ?? line.balanceTransactionId}; ${booked} is booked (${side.currency} minor units)`,
      dedupeKey: `amount_mismatch:${line.balanceTransactionId}`,
      evidence: { ...evidence, booked_minor: booked.toString() },
      currency: side.currency,
      amountMinor: side.amountMinor - booked,
    });
  else if (feeBooked !== feeReturned)
    findings.push({
      kind: 'fee_mismatch',
      cause: `the PSP returned a dispute fee of ${feeReturned} on ${line.balanceTransactionId}, ${feeBooked} is booked (${line.currency} minor units)`,
      dedupeKey: `fee_mismatch:${line.balanceTransactionId}`,
      evidence: { ...evidence, fee_booked_minor: feeBooked.toString() },
      currency: line.currency,
      amountMinor: feeReturned - feeBooked,
    });
  if (findings.length > 0) return { findings, matched: false, matchedOrderIds: [] };
  return withFx(line, ctx, { findings: [], matched: true, matchedOrderIds: [] }, evidence);
}

export function classifyPspLine(line: PspLine & { importId: string }, ctx: PspLineContext): PspLineResult {
  if (ctx.seenBefore !== undefined) {
    return {
      findings: [
        {
          kind: 'duplicate_line',
          cause: `balance transaction ${line.balanceTransactionId} was seen before (import ${ctx.seenBefore.importId}, line ${ctx.seenBefore.line})`,
          dedupeKey: `duplicate_line:psp:${line.importId}:${line.line}`,
          evidence: {
            line: lineEvidence(line),
            first_seen: { import_id: ctx.seenBefore.importId, line: ctx.seenBefore.line },
          },
          currency: line.currency,
          amountMinor: line.grossMinor,
        },
      ],
      matched: false,
      matchedOrderIds: [],
    };
  }
  if (CHARGE_CATEGORIES.has(line.category)) return classifyCharge(line, ctx);
  if (line.category === 'refund' || line.category === 'refund_failure' || line.category === 'dispute')
    return classifyRefundOrDispute(line, ctx);
  if (line.category === 'dispute_reversal') return classifyDisputeReversal(line, ctx);
  if (line.category === 'payout') {
    const id = line.sourceId;
    if (id === undefined || line.grossMinor >= 0n)
      return unmatched(line, 'a payout line without a payout id or amount out');
    return {
      findings: [],
      matched: true,
      matchedOrderIds: [],
      pspPayout: {
        id,
        amountMinor: -line.grossMinor,
        currency: line.currency,
        effectiveAt: line.payoutEffectiveAt ?? line.availableOn ?? line.createdAt,
      },
    };
  }
  return unmatched(line, `reporting category "${line.category}" is not one Bursar books`);
}

/** The orders a line refers to, by our metadata first, then by the PSP's payment id. */
export function orderKeysOf(line: PspLine): {
  paymentOrderId: string | undefined;
  checkoutId: string | undefined;
  paymentIntentId: string | undefined;
} {
  return {
    paymentOrderId: line.metadata.payment_order_id,
    checkoutId: line.metadata.checkout_id,
    paymentIntentId: line.paymentIntentId,
  };
}

/**
 * Successes of ours the PSP never reported, once the settlement window has passed: one saved-method order, or the
 * orders of one hosted checkout (a single charge at the PSP).
 */
export function missingLineFinding(
  orders: Array<OrderFacts & { succeededAt: Date }>,
  windowHours: number,
): Finding {
  const first = orders[0];
  if (first === undefined) throw new Error('missingLineFinding needs at least one order');
  const ids = orders.map((order) => order.paymentOrderId);
  const total = orders.reduce((sum, order) => sum + order.amountMinor, 0n);
  return {
    kind: 'missing_psp_line',
    cause: `order(s) ${ids.join(', ')} succeeded at ${first.succeededAt.toISOString()} but no PSP report line accounts for them ${windowHours} h later`,
    dedupeKey:
      orders.length === 1
        ? `missing_psp_line:${first.paymentOrderId}`
        : `missing_psp_line:checkout:${first.checkoutId}`,
    evidence: {
      orders: jsonSafe(
        orders.map((order) => ({
          payment_order_id: order.paymentOrderId,
          checkout_id: order.checkoutId,
          amount_minor: order.amountMinor,
          currency: order.currency,
          status: order.status,
          psp_payment_id: order.pspPaymentId,
          succeeded_at: order.succeededAt,
        })),
      ),
    },
    currency: first.currency,
    amountMinor: total,
  };
}
