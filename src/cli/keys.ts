import { createKey, isScope, listKeys, revokeKey, SCOPES, type Scope } from '../apikeys/index.ts';
import type { Database } from '../db/database.ts';
import { parse, UsageError } from './args.ts';

export const KEYS_USAGE = `bursar keys create --scope <scope> [--scope <scope>…] [--name <name>]
bursar keys revoke <key id>
bursar keys list
scopes: ${SCOPES.join(', ')}`;

/** What `bursar keys …` was asked to do, its arguments checked. */
export type KeysAction =
  { sub: 'create'; name: string; scopes: Scope[] } | { sub: 'revoke'; id: string } | { sub: 'list' };

/**
 * Reads `bursar keys …`'s arguments. A mistake (an unknown scope, a missing key id) is a UsageError thrown before
 * any database is opened: the command refuses at once, and an embedded PostgreSQL is neither created nor started
 * only to say so.
 */
export function parseKeysArgs(argv: string[]): KeysAction {
  const [sub, ...rest] = argv;
  if (sub === 'create') {
    const { values } = parse(rest, {
      scope: { type: 'string', multiple: true },
      name: { type: 'string' },
    });
    const raw = (values.scope ?? []).flatMap((value) => value.split(',')).map((value) => value.trim());
    if (raw.length === 0) throw new UsageError(`at least one --scope is needed\n${KEYS_USAGE}`);
    const unknown = raw.filter((value) => !isScope(value));
    if (unknown.length > 0)
      throw new UsageError(`unknown scope ${unknown.join(', ')}; scopes: ${SCOPES.join(', ')}`);
    return { sub, name: values.name ?? 'cli', scopes: [...new Set(raw)] as Scope[] };
  }
  if (sub === 'revoke') {
    const id = rest[0];
    if (id === undefined || rest.length !== 1) throw new UsageError(`revoke takes one key id\n${KEYS_USAGE}`);
    return { sub, id };
  }
  if (sub === 'list') return { sub };
  throw new UsageError(KEYS_USAGE);
}

export async function keysCommand(
  action: KeysAction,
  db: Database,
  out: (line: string) => void,
): Promise<number> {
  if (action.sub === 'create') {
    const key = await createKey(db.pool, action.name, action.scopes);
    out(`id:     ${key.id}`);
    out(`scopes: ${key.scopes.join(' ')}`);
    out(`secret: ${key.secret}`);
    out('The secret is shown only now; Bursar keeps only its hash.');
    return 0;
  }
  if (action.sub === 'revoke') {
    const result = await revokeKey(db.pool, action.id);
    if (result === 'not_found') {
      out(`no key ${action.id}`);
      return 1;
    }
    out(result === 'revoked' ? `revoked ${action.id}` : `${action.id} was already revoked`);
    return 0;
  }
  for (const key of await listKeys(db.pool)) {
    const state = key.revokedAt ? `revoked ${key.revokedAt.toISOString()}` : 'active';
    out(`${key.id}  …${key.hint}  ${key.scopes.join(',')}  ${state}  ${key.name}`);
  }
  return 0;
}

/**
 * `bursar keys …`: the arguments are checked first, so that a mistake is refused at once (exit 2) without opening
 * the database; then the database is opened for the action and closed after it.
 */
export async function keysMain(
  argv: string[],
  openDatabase: () => Promise<Database>,
  out: (line: string) => void,
): Promise<number> {
  const action = parseKeysArgs(argv);
  const db = await openDatabase();
  try {
    return await keysCommand(action, db, out);
  } finally {
    await db.close();
  }
}
