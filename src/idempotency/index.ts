/**
 * Idempotency-Keys of every POST that moves money (DESIGN.md, rule 6): one table (`idempotency.keys`), one API.
 *
 * A route: fingerprints the request (`requestFingerprint`); looks the key up (`findIdempotencyRecord`) and, when
 * found, answers from it (`answerFromRecord`: replay / 429 / 422 / take over an expired lease); otherwise, in the
 * transaction that does the work, claims the key (`beginIdempotentRequest`; false = another request won the
 * race, look again) and stores the response (`completeIdempotentRequest`). A request that calls out between two
 * transactions releases its lease on a transient failure (`releaseIdempotencyKey`); the worker purges keys past
 * their expiry (`purgeExpiredIdempotencyKeys`). A route whose work is one transaction uses `idempotentOnce`, which
 * does all of that.
 */
export { canonicalJson, requestFingerprint } from './fingerprint.ts';
export {
  beginIdempotentRequest,
  completeIdempotentRequest,
  findIdempotencyRecord,
  purgeExpiredIdempotencyKeys,
  releaseIdempotencyKey,
  takeOverIdempotencyKey,
  type BeginRequest,
  type IdempotencyKeyRef,
  type IdempotencyRecord,
} from './store.ts';
export { answerFromRecord, requestInProgress, type IdempotencyAnswer } from './decide.ts';
export { idempotentOnce, type OnceAnswer, type OnceOptions } from './once.ts';
