import type Stripe from 'stripe';
import type { DisputeEvidenceRequest, PspDispute, PspDisputeMovement } from '../port.ts';
import { mapStripeError } from './errors.ts';

/**
 * Stripe disputes in the port's words: the dispute object (as a webhook carries it or the API answers it) becomes a
 * `PspDispute`, with what the dispute took from our balance and what it gave back read from its balance
 * transactions (negative amount: the withdrawal and the dispute fee; positive: the reinstatement, whose negative
 * fee is the dispute fee returned). Pure, except the three API calls at the end.
 */

function text(value: unknown): string | undefined {
  return typeof value === 'string' && value.length > 0 ? value : undefined;
}

function idOf(value: unknown): string | undefined {
  if (typeof value === 'string') return text(value);
  if (typeof value === 'object' && value !== null) return text((value as { id?: unknown }).id);
  return undefined;
}

function integer(value: unknown): bigint | undefined {
  if (typeof value === 'number' && Number.isSafeInteger(value)) return BigInt(value);
  if (typeof value === 'string' && /^-?\d{1,18}$/.test(value)) return BigInt(value);
  return undefined;
}

function dateOf(value: unknown): Date | undefined {
  return typeof value === 'number' && Number.isFinite(value) ? new Date(value * 1000) : undefined;
}

interface Txn {
  id: string;
  amount: bigint;
  fee: bigint;
  currency: string;
  exchangeRate: string | undefined;
}

function transactionsOf(object: Record<string, unknown>): Txn[] {
  const list = Array.isArray(object.balance_transactions) ? (object.balance_transactions as unknown[]) : [];
  const out: Txn[] = [];
  for (const item of list) {
    if (typeof item !== 'object' || item === null) continue;
    const txn = item as Record<string, unknown>;
    const id = text(txn.id);
    const amount = integer(txn.amount);
    if (id === undefined || amount === undefined) continue;
    out.push({
      id,
      amount,
      fee: integer(txn.fee) ?? 0n,
      currency: (text(txn.currency) ?? '').toUpperCase(),
      // Stripe sends the rate as a JSON number; its shortest decimal text is the rate it published.
      exchangeRate: typeof txn.exchange_rate === 'number' ? String(txn.exchange_rate) : undefined,
    });
  }
  return out;
}

function movement(txns: Txn[], sign: 1n | -1n): PspDisputeMovement | undefined {
  const chosen = txns.filter((txn) => (sign > 0n ? txn.amount > 0n : txn.amount < 0n));
  const first = chosen[0];
  if (first === undefined) return undefined;
  const amount = chosen.reduce((sum, txn) => sum + txn.amount, 0n) * sign;
  // A withdrawal's fee is charged (positive); a reinstatement's is given back (negative).
  const fee = chosen.reduce((sum, txn) => sum + txn.fee, 0n) * -sign;
  return {
    balanceTransactionId: chosen.map((txn) => txn.id).join(','),
    amountMinor: amount,
    feeMinor: fee > 0n ? fee : 0n,
    currency: first.currency,
    ...(first.exchangeRate === undefined ? {} : { exchangeRate: first.exchangeRate }),
  };
}

/** A Stripe dispute object (webhook or API) as the port's `PspDispute`; undefined when it is not one. */
export function toPspDispute(object: Record<string, unknown>): PspDispute | undefined {
  const disputeId = text(object.id);
  const amount = integer(object.amount);
  const currency = text(object.currency);
  const status = text(object.status);
  if (disputeId === undefined || amount === undefined || currency === undefined || status === undefined)
    return undefined;
  const details = (object.evidence_details ?? {}) as Record<string, unknown>;
  const txns = transactionsOf(object);
  return {
    disputeId,
    chargeId: idOf(object.charge),
    paymentId: idOf(object.payment_intent),
    amountMinor: amount,
    currency: currency.toUpperCase(),
    status,
    reason: text(object.reason),
    evidenceDueBy: dateOf(details.due_by),
    createdAt: dateOf(object.created),
    withdrawn: movement(txns, -1n),
    reinstated: movement(txns, 1n),
  };
}

/** Stripe's final dispute statuses. */
export const FINAL_DISPUTE_STATUSES = ['won', 'lost', 'warning_closed', 'prevented'] as const;

async function call<T>(work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (error) {
    throw mapStripeError(error);
  }
}

function answered(dispute: Stripe.Dispute): PspDispute {
  const mapped = toPspDispute(dispute as unknown as Record<string, unknown>);
  if (mapped === undefined) throw new Error(`Stripe answered a dispute without id, amount or status`);
  return mapped;
}

export async function retrieveDispute(stripe: Stripe, disputeId: string): Promise<PspDispute> {
  return answered(await call(() => stripe.disputes.retrieve(disputeId)));
}

export async function listDisputes(
  stripe: Stripe,
  createdGte: Date,
  startingAfter?: string,
): Promise<{ disputes: PspDispute[]; hasMore: boolean }> {
  const page = await call(() =>
    stripe.disputes.list({
      created: { gte: Math.floor(createdGte.getTime() / 1000) },
      limit: 100,
      ...(startingAfter === undefined ? {} : { starting_after: startingAfter }),
    }),
  );
  return { disputes: page.data.map(answered), hasMore: page.has_more };
}

export async function submitDisputeEvidence(
  stripe: Stripe,
  request: DisputeEvidenceRequest,
): Promise<PspDispute> {
  const updated = await call(() =>
    stripe.disputes.update(
      request.disputeId,
      { evidence: request.evidence as Stripe.DisputeUpdateParams.Evidence, submit: request.submit },
      { idempotencyKey: request.idempotencyKey },
    ),
  );
  return answered(updated);
}

export async function closeDispute(
  stripe: Stripe,
  disputeId: string,
  idempotencyKey: string,
): Promise<PspDispute> {
  return answered(await call(() => stripe.disputes.close(disputeId, {}, { idempotencyKey })));
}
