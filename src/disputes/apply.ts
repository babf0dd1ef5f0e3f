import type { Queryable } from '../db/pool.ts';
import { recordEvent } from '../events/index.ts';
import type { PspDispute } from '../psp/index.ts';
import { bookReinstatement, bookWithdrawal } from './booking.ts';
import { isDisputeStatus, isFinal, statusRank, type DisputeStatus, type FeeBearer } from './domain.ts';
import type { DisputesPorts } from './ports.ts';
import {
  getAllocations,
  getDispute,
  insertHistory,
  lockOrInsertDispute,
  updateDisputeStatus,
  type Dispute,
} from './store.ts';
import { disputeToWire } from './wire.ts';

/**
 * Applies what the PSP says of a dispute (a webhook's snapshot, a poll's answer, the answer to our evidence or
 * close call) in the caller's transaction, exactly once whatever the order or repetition of the news:
 * the row is created when first seen; the status only moves forward (an older snapshot is ignored); the
 * withdrawal is booked the first time a snapshot carries it, the reinstatement the first time a won dispute's
 * snapshot carries it. Each change records its history row and outgoing event in the same transaction.
 */

export type DisputeSource =
  { kind: 'webhook'; eventId: string } | { kind: 'poll' } | { kind: 'api'; details: Record<string, unknown> };

export interface ApplyDeps {
  psp: string;
  ports: DisputesPorts;
  /** Who bears the dispute fee when the seller has no policy of their own (BURSAR_DISPUTE_FEE_BEARER). */
  defaultFeeBearer: FeeBearer;
  /** When an open dispute is first looked at by the poller. */
  firstPollAt(): Date;
}

async function emit(db: Queryable, type: string, id: string): Promise<void> {
  const dispute = await getDispute(db, id);
  if (!dispute) throw new Error(`dispute ${id} vanished in its own transaction`);
  await recordEvent(db, type, disputeToWire(dispute, await getAllocations(db, id)));
}

function historyOf(source: DisputeSource, from: string | null, to: string, extra: Record<string, unknown>) {
  return {
    from,
    to,
    source: source.kind,
    pspEventId: source.kind === 'webhook' ? source.eventId : null,
    details: { ...(source.kind === 'api' ? source.details : {}), ...extra },
  };
}

async function moveStatus(
  db: Queryable,
  dispute: Dispute,
  next: DisputeStatus,
  snapshot: PspDispute,
  source: DisputeSource,
): Promise<string | undefined> {
  if (statusRank(next) <= statusRank(dispute.status)) return undefined;
  await updateDisputeStatus(db, dispute.id, next, snapshot);
  await insertHistory(db, dispute.id, historyOf(source, dispute.status, next, {}));
  await emit(db, isFinal(next) ? 'dispute.closed' : 'dispute.updated', dispute.id);
  return `${dispute.status} -> ${next}`;
}

async function moveMoney(
  db: Queryable,
  deps: ApplyDeps,
  id: string,
  snapshot: PspDispute,
  source: DisputeSource,
): Promise<string[]> {
  const done: string[] = [];
  let dispute = await getDispute(db, id);
  if (!dispute) return done;
  if (snapshot.withdrawn !== undefined && dispute.withdrawnMinor === null) {
    const booked = await bookWithdrawal(db, deps, dispute, snapshot.withdrawn);
    // Unattributed stays open to booking: a later poll books it once our payment is known.
    done.push(booked ? 'funds withdrawn' : 'no paid order of ours: not booked');
    if (booked) {
      await insertHistory(db, id, historyOf(source, dispute.status, dispute.status, { funds: 'withdrawn' }));
      await emit(db, 'dispute.funds_withdrawn', id);
    }
    dispute = (await getDispute(db, id)) ?? dispute;
  }
  const reinstate = snapshot.reinstated;
  if (
    reinstate !== undefined &&
    dispute.status === 'won' &&
    dispute.withdrawnMinor !== null &&
    dispute.reinstatedMinor === null &&
    // In the dispute's currency at most what was withdrawn; in the PSP's own (a converted charge) all of it.
    (reinstate.currency !== dispute.currency || reinstate.amountMinor <= dispute.withdrawnMinor)
  ) {
    await bookReinstatement(db, dispute, reinstate);
    await insertHistory(db, id, historyOf(source, dispute.status, dispute.status, { funds: 'reinstated' }));
    await emit(db, 'dispute.funds_reinstated', id);
    done.push('funds reinstated');
  }
  return done;
}

/** Applies `snapshot`; returns what changed, as the outcome text stored on a PSP event. */
export async function applyDisputeSnapshot(
  db: Queryable,
  deps: ApplyDeps,
  snapshot: PspDispute,
  source: DisputeSource,
): Promise<string> {
  if (!isDisputeStatus(snapshot.status)) return `ignored: unknown dispute status ${snapshot.status}`;
  const status = snapshot.status;
  const { dispute, created } = await lockOrInsertDispute(db, deps.psp, snapshot, status, deps.firstPollAt());
  const done: string[] = [];
  if (created) {
    await insertHistory(db, dispute.id, historyOf(source, null, status, {}));
    await emit(db, 'dispute.created', dispute.id);
    if (isFinal(status)) await emit(db, 'dispute.closed', dispute.id);
    done.push(`created ${status}`);
  } else {
    const moved = await moveStatus(db, dispute, status, snapshot, source);
    if (moved !== undefined) done.push(moved);
  }
  done.push(...(await moveMoney(db, deps, dispute.id, snapshot, source)));
  return `dispute ${dispute.id}: ${done.length === 0 ? 'no change' : done.join(', ')}`;
}
