import { createKey, isScope, listKeys, revokeKey, SCOPES, type Scope } from '../apikeys/index.ts';
import type { Database } from '../db/database.ts';
import { parse, UsageError } from './args.ts';

export const KEYS_USAGE = `bursar keys create --scope <scope> [--scope <scope>…] [--name <name>]
bursar keys revoke <key id>
bursar keys list
scopes: ${SCOPES.join(', ')}`;

export async function keysCommand(
  argv: string[],
  db: Database,
  out: (line: string) => void,
): Promise<number> {
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
    const scopes = [...new Set(raw)] as Scope[];
    const key = await createKey(db.pool, values.name ?? 'cli', scopes);
    out(`id:     ${key.id}`);
    out(`scopes: ${key.scopes.join(' ')}`);
    out(`secret: ${key.secret}`);
    out('The secret is shown only now; Bursar keeps only its hash.');
    return 0;
  }
  if (sub === 'revoke') {
    const id = rest[0];
    if (id === undefined || rest.length !== 1) throw new UsageError(`revoke takes one key id\n${KEYS_USAGE}`);
    const result = await revokeKey(db.pool, id);
    if (result === 'not_found') {
      out(`no key ${id}`);
      return 1;
    }
    out(result === 'revoked' ? `revoked ${id}` : `${id} was already revoked`);
    return 0;
  }
  if (sub === 'list') {
    for (const key of await listKeys(db.pool)) {
      const state = key.revokedAt ? `revoked ${key.revokedAt.toISOString()}` : 'active';
      out(`${key.id}  …${key.hint}  ${key.scopes.join(',')}  ${state}  ${key.name}`);
    }
    return 0;
  }
  throw new UsageError(KEYS_USAGE);
}
