import { randomBytes } from 'node:crypto';
import { userInfo } from 'node:os';
import type { Database } from '../db/database.ts';
import {
  createOperator,
  isOperatorRole,
  listOperators,
  OPERATOR_ROLES,
  recordAudit,
  setOperatorDisabled,
} from '../operators/index.ts';
import { parse, UsageError } from './args.ts';

export const OPERATORS_USAGE = `bursar operators create --email <email> --role viewer|operator|admin [--password-stdin]
bursar operators list
bursar operators disable <email> | enable <email>`;

/** Who runs the command, for the audit log. */
function cliActor(): string {
  try {
    return `cli:${userInfo().username}`.slice(0, 128);
  } catch {
    return 'cli:unknown';
  }
}

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks)
    .toString('utf8')
    .replace(/\r?\n$/, '');
}

async function create(rest: string[], db: Database, out: (line: string) => void): Promise<number> {
  const { values } = parse(rest, {
    email: { type: 'string' },
    role: { type: 'string' },
    'password-stdin': { type: 'boolean' },
  });
  if (values.email === undefined || values.role === undefined)
    throw new UsageError(`create needs --email and --role\n${OPERATORS_USAGE}`);
  if (!isOperatorRole(values.role))
    throw new UsageError(`unknown role ${values.role}; roles: ${OPERATOR_ROLES.join(', ')}`);
  // Without --password-stdin a random password is made and shown once.
  const generated = values['password-stdin'] !== true;
  const password = generated ? randomBytes(18).toString('base64url') : await readStdin();
  const operator = await createOperator(db.pool, {
    email: values.email,
    role: values.role,
    password,
    actor: cliActor(),
  });
  out(`id:    ${operator.id}`);
  out(`email: ${operator.email}`);
  out(`role:  ${operator.role}`);
  if (generated) {
    out(`password: ${password}`);
    out('The password is shown only now; Bursar keeps only its scrypt hash. Sign in at /dashboard.');
  }
  return 0;
}

export async function operatorsCommand(
  argv: string[],
  db: Database,
  out: (line: string) => void,
): Promise<number> {
  const [sub, ...rest] = argv;
  if (sub === 'create') return await create(rest, db, out);
  if (sub === 'list') {
    for (const op of await listOperators(db.pool)) {
      out(`${op.id}  ${op.email}  ${op.role}  ${op.disabledAt ? 'disabled' : 'active'}`);
    }
    return 0;
  }
  if (sub === 'disable' || sub === 'enable') {
    const email = rest[0]?.trim().toLowerCase();
    if (email === undefined || rest.length !== 1)
      throw new UsageError(`${sub} takes one email\n${OPERATORS_USAGE}`);
    const found = await setOperatorDisabled(db.pool, email, sub === 'disable');
    if (!found) {
      out(`no operator ${email}`);
      return 1;
    }
    await recordAudit(db.pool, {
      actor: cliActor(),
      action: sub === 'disable' ? 'operator.disabled' : 'operator.enabled',
      targetType: 'operator',
      targetId: email,
    });
    out(`${sub}d ${email}`);
    return 0;
  }
  throw new UsageError(OPERATORS_USAGE);
}
