import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { Pool } from '../db/pool.ts';
import { withTransaction } from '../db/tx.ts';
import { AppError } from '../errors.ts';
import { randomHexId } from '../random-id.ts';
import { recordAudit } from './audit.ts';
import type { OperatorsConfig } from './config.ts';
import { decoyHash, hashPassword, passwordProblem, verifyPassword } from './password.ts';
import {
  clearFailures,
  findLiveSession,
  findOperatorByEmail,
  insertOperator,
  insertSession,
  recentFailures,
  recordSignInFailure,
  revokeSession,
  type Operator,
  type OperatorRole,
  type SessionRecord,
} from './store.ts';

const EMAIL = /^[^@\s]{1,64}@[^@\s]{1,189}$/;

export function sha256(value: string): Buffer {
  return createHash('sha256').update(value, 'utf8').digest();
}

export function normaliseEmail(raw: string): string {
  const email = raw.trim().toLowerCase();
  if (!EMAIL.test(email))
    throw new AppError('validation_failed', 'email is not an email address', { field: 'email' });
  return email;
}

/** Creates an operator (the CLI's `operators create`), audited as `actor`. */
export async function createOperator(
  pool: Pool,
  input: { email: string; role: OperatorRole; password: string; actor: string },
): Promise<Operator> {
  const email = normaliseEmail(input.email);
  const problem = passwordProblem(input.password);
  if (problem !== undefined) throw new AppError('validation_failed', problem, { field: 'password' });
  const passwordHash = await hashPassword(input.password);
  return await withTransaction(pool, async (client) => {
    const created = await insertOperator(client, {
      id: randomHexId('op', 16),
      email,
      role: input.role,
      passwordHash,
    });
    if (!created) throw new AppError('operator_exists', `an operator with email ${email} exists already`);
    await recordAudit(client, {
      actor: input.actor,
      action: 'operator.created',
      targetType: 'operator',
      targetId: created.id,
      after: { email: created.email, role: created.role },
    });
    return created;
  });
}

export interface SignedIn {
  operator: Operator;
  /** The session token (the cookie's value) and the CSRF token writes must echo; shown only now. */
  token: string;
  csrfToken: string;
  expiresAt: Date;
}

/**
 * Signs an operator in. Refused alike for an unknown address, a wrong password and a disabled operator
 * (`sign_in_failed`), after the same scrypt work; after `maxFailures` failures for the address (or four times as
 * many from one client address) within the window, refused with `sign_in_throttled` until the window has passed.
 */
export async function signIn(
  pool: Pool,
  config: OperatorsConfig,
  input: { email: string; password: string; clientIp: string },
): Promise<SignedIn> {
  const email = input.email.trim().toLowerCase().slice(0, 254);
  const failures = await recentFailures(pool, email, input.clientIp, config.windowSeconds);
  if (failures.byEmail >= config.maxFailures || failures.byIp >= config.maxFailures * 4) {
    const waited = failures.oldest === null ? 0 : (Date.now() - failures.oldest.getTime()) / 1000;
    throw new AppError('sign_in_throttled', 'too many failed sign-ins; wait before trying again', {
      retryAfterSeconds: Math.max(1, Math.ceil(config.windowSeconds - waited)),
    });
  }
  const found = await findOperatorByEmail(pool, email);
  const matches = await verifyPassword(input.password, found?.passwordHash ?? (await decoyHash()));
  if (!found || !matches || found.disabledAt !== null) {
    await recordSignInFailure(pool, email, input.clientIp);
    throw new AppError('sign_in_failed', 'the email or password is wrong');
  }
  await clearFailures(pool, email);
  const token = randomBytes(32).toString('base64url');
  const csrfToken = randomBytes(32).toString('base64url');
  const { passwordHash: _hash, ...operator } = found;
  const expiresAt = await insertSession(pool, {
    tokenHash: sha256(token),
    operatorId: operator.id,
    csrfHash: sha256(csrfToken),
    ttlSeconds: config.sessionTtlSeconds,
  });
  return { operator, token, csrfToken, expiresAt };
}

export async function sessionOf(pool: Pool, token: string): Promise<SessionRecord | undefined> {
  if (token.length < 20 || token.length > 100) return undefined;
  return await findLiveSession(pool, sha256(token));
}

/** Whether `given` (the X-CSRF-Token header) is the session's CSRF token, compared in constant time. */
export function csrfMatches(session: SessionRecord, given: string | undefined): boolean {
  if (given === undefined || given.length < 20 || given.length > 100) return false;
  return timingSafeEqual(sha256(given), session.csrfHash);
}

export async function signOut(pool: Pool, token: string): Promise<void> {
  await revokeSession(pool, sha256(token));
}

const RANK: Record<OperatorRole, number> = { viewer: 1, operator: 2, admin: 3 };

/** Whether `role` may do what `needed` may (admin ⊃ operator ⊃ viewer). */
export function roleAllows(role: OperatorRole, needed: OperatorRole): boolean {
  return RANK[role] >= RANK[needed];
}
