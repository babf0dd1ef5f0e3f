import { withTransaction } from '../db/tx.ts';
import type { Queryable } from '../db/pool.ts';
import { AppError } from '../errors.ts';
import {
  answerFromRecord,
  beginIdempotentRequest,
  completeIdempotentRequest,
  findIdempotencyRecord,
  releaseIdempotencyKey,
  requestFingerprint,
  requestInProgress,
  takeOverIdempotencyKey,
  type IdempotencyKeyRef,
} from '../idempotency/index.ts';
import { PspError, type PspDispute } from '../psp/index.ts';
import { applyDisputeSnapshot } from './apply.ts';
import { awaitsResponse } from './domain.ts';
import type { DisputesRuntime } from './runtime.ts';
import { getAllocations, getDispute, getHistory, insertHistory } from './store.ts';
import { disputeToWire } from './wire.ts';

/**
 * Our answers to a dispute, sent to the PSP: evidence (`POST /v1/disputes/{id}/evidence`) and acceptance
 * (`POST /v1/disputes/{id}/close`). The pay-in executor's discipline: claim the Idempotency-Key and check the
 * dispute in one transaction; call the PSP outside any transaction with the key `bursar:dp:<dispute>:<key>`; record
 * what the PSP answered (applied as any news of the dispute) and the reply in a second transaction. A transient
 * PSP failure releases the key, so a retry with it calls the PSP again with the same PSP key, never twice in effect.
 */

export const DISPUTES_IDEMPOTENCY_SCOPE = 'disputes';
const LEASE_MS = 60_000;

export type DisputeAction =
  { kind: 'evidence'; evidence: Record<string, string>; submit: boolean } | { kind: 'close' };

export interface RespondRequest {
  apiKeyId: string;
  idempotencyKey: string;
  disputeId: string;
  path: string;
  body: unknown;
  action: DisputeAction;
}

export interface RespondResult {
  status: number;
  body: unknown;
  replayed: boolean;
}

type Claim = { kind: 'replay'; result: RespondResult } | { kind: 'claimed'; pspDisputeId: string };

async function replayOrWait(
  db: Queryable,
  ref: IdempotencyKeyRef,
  fingerprint: Buffer,
): Promise<Claim | 'take_over' | undefined> {
  const record = await findIdempotencyRecord(db, ref);
  if (!record) return undefined;
  const answer = answerFromRecord(record, fingerprint);
  if (answer.outcome === 'replay')
    return { kind: 'replay', result: { status: answer.status, body: answer.body, replayed: true } };
  if (answer.outcome === 'in_progress') throw requestInProgress(answer.retryAfterSeconds);
  return 'take_over';
}

async function checkedDispute(db: Queryable, id: string, action: DisputeAction): Promise<string> {
  const dispute = await getDispute(db, id);
  if (!dispute) throw new AppError('dispute_not_found', `no dispute ${id}`);
  if (!awaitsResponse(dispute.status)) {
    throw new AppError(
      'dispute_not_open',
      `dispute ${id} is ${dispute.status}: ${action.kind === 'close' ? 'it cannot be accepted' : 'evidence can no longer be sent'}`,
    );
  }
  return dispute.pspDisputeId;
}

async function claim(
  runtime: DisputesRuntime,
  request: RespondRequest,
  ref: IdempotencyKeyRef,
  fingerprint: Buffer,
): Promise<Claim> {
  return await withTransaction(runtime.ctx.pool, async (client) => {
    const prior = await replayOrWait(client, ref, fingerprint);
    if (prior !== undefined && prior !== 'take_over') return prior;
    if (prior === 'take_over') {
      if (!(await takeOverIdempotencyKey(client, ref, LEASE_MS))) throw requestInProgress(1);
    } else if (
      !(await beginIdempotentRequest(client, ref, { fingerprint, ttlMs: null, leaseMs: LEASE_MS }))
    ) {
      const winner = await replayOrWait(client, ref, fingerprint);
      if (winner !== undefined && winner !== 'take_over') return winner;
      throw requestInProgress(1);
    }
    return { kind: 'claimed', pspDisputeId: await checkedDispute(client, request.disputeId, request.action) };
  });
}

async function callPsp(
  runtime: DisputesRuntime,
  request: RespondRequest,
  pspDisputeId: string,
): Promise<PspDispute> {
  const key = `bursar:dp:${request.disputeId}:${request.action.kind}:${request.idempotencyKey}`;
  if (request.action.kind === 'close') return await runtime.psp.closeDispute(pspDisputeId, key);
  return await runtime.psp.submitDisputeEvidence({
    idempotencyKey: key,
    disputeId: pspDisputeId,
    evidence: request.action.evidence,
    submit: request.action.submit,
  });
}

function pspRefusal(error: PspError): AppError {
  if (error.failureClass === 'hard_decline')
    return new AppError('dispute_psp_refused', `the PSP refused: ${error.pspCode ?? 'invalid request'}`);
  return new AppError(
    'dispute_psp_unavailable',
    'the PSP could not be reached; retry with the same Idempotency-Key',
    {
      retryAfterSeconds: 5,
    },
  );
}

/** Sends evidence or accepts a dispute (see above); the same key with the same body replays the reply. */
export async function respondToDispute(
  runtime: DisputesRuntime,
  request: RespondRequest,
): Promise<RespondResult> {
  const fingerprint = requestFingerprint('POST', request.path, request.body);
  const ref: IdempotencyKeyRef = {
    apiKeyId: request.apiKeyId,
    scope: DISPUTES_IDEMPOTENCY_SCOPE,
    key: request.idempotencyKey,
  };
  // A refusal (unknown or closed dispute) rolls the claim back with it: nothing is stored, a retry is decided afresh.
  const claimed = await claim(runtime, request, ref, fingerprint);
  if (claimed.kind === 'replay') return claimed.result;
  let snapshot: PspDispute;
  try {
    snapshot = await callPsp(runtime, request, claimed.pspDisputeId);
  } catch (error) {
    await releaseIdempotencyKey(runtime.ctx.pool, ref);
    if (error instanceof PspError) throw pspRefusal(error);
    throw error;
  }
  return await withTransaction(runtime.ctx.pool, async (client) => {
    const details =
      request.action.kind === 'close'
        ? { action: 'accepted' }
        : {
            action: request.action.submit ? 'evidence_submitted' : 'evidence_saved',
            fields: Object.keys(request.action.evidence).sort(),
          };
    await applyDisputeSnapshot(client, runtime.applyDeps, snapshot, { kind: 'api', details });
    const dispute = await getDispute(client, request.disputeId);
    if (!dispute) throw new Error(`dispute ${request.disputeId} vanished`);
    if (dispute.status === snapshot.status && request.action.kind === 'evidence' && !request.action.submit)
      await insertHistory(client, dispute.id, {
        from: dispute.status,
        to: dispute.status,
        source: 'api',
        pspEventId: null,
        details,
      });
    const body = disputeToWire(
      dispute,
      await getAllocations(client, dispute.id),
      await getHistory(client, dispute.id),
    );
    await completeIdempotentRequest(client, ref, { status: 200, body });
    return { status: 200, body, replayed: false };
  });
}
