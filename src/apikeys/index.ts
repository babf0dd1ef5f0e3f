/** API keys: created, listed, revoked and checked here; the HTTP layer authenticates requests with them. */
export { SCOPES, isScope, type Scope } from './scopes.ts';
export {
  authenticate,
  createKey,
  ensureDevKey,
  MIN_FIXED_KEY_LENGTH,
  type CreatedKey,
  type DevKey,
} from './service.ts';
export { listKeys, revokeKey, type ApiKeyRecord } from './store.ts';
