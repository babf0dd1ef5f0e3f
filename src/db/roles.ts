import type { Queryable } from './pool.ts';

/**
 * Least privilege in the database. Two roles:
 * - the owner role owns Bursar's schemas and runs the migrations (`bursar migrate`);
 * - the service role is what `bursar start` and the other commands connect as: it may connect, use Bursar's
 *   schemas, read and write their tables and use their sequences, but it may never UPDATE, DELETE or TRUNCATE the
 *   ledger's entries and postings (so the database refuses by privilege, before any trigger runs), and it may not
 *   create, alter or drop anything in Bursar's schemas.
 * It has CREATE on the database for one reason: pg-boss creates and owns its own schema (`pgboss`) at start and
 * makes a partition per queue at run time; the sandbox PSP (development only) likewise keeps its own `sandbox`
 * schema. Neither schema holds money.
 *
 * The grants are applied by the migrator after every migration run (`applyGrants`), and the owner's default
 * privileges grant the same on tables a later migration creates. docs/security.md gives the SQL for an external
 * PostgreSQL; `npx bursar migrate --print-grants` prints it.
 */

export const DEFAULT_OWNER_ROLE = 'bursar_owner';
export const DEFAULT_SERVICE_ROLE = 'bursar_service';

/** Bursar's own schemas: created by the product's migrations and owned by the owner role. */
export const PRODUCT_SCHEMAS = [
  'public',
  'core',
  'ledger',
  'sellers',
  'payins',
  'jobs',
  'payouts',
  'recon',
  'idempotency',
  'disputes',
  'refunds',
  'events',
  'fx',
] as const;

/** The append-only tables: the service role may read and insert, never change or remove. */
export const APPEND_ONLY_TABLES = ['ledger.entries', 'ledger.postings'] as const;

/** Schemas the service role owns (runtime-created by pg-boss and the sandbox), hence CREATE on the database. */
export const SERVICE_OWNED_SCHEMAS = ['pgboss', 'sandbox'] as const;

const IDENT = /^[a-z_][a-z0-9_]*$/;

export function checkedRoleName(name: string): string {
  if (!IDENT.test(name)) throw new Error(`a role name must be a lower-case SQL identifier, got "${name}"`);
  return name;
}

/** The service role the migrator grants to: `BURSAR_DB_SERVICE_ROLE`, or `bursar_service`. */
export function serviceRoleName(env: NodeJS.ProcessEnv = process.env): string {
  return checkedRoleName(env.BURSAR_DB_SERVICE_ROLE || DEFAULT_SERVICE_ROLE);
}

/**
 * The grants for `service`, run by the owner role (or a superuser) in Bursar's database after the migrations:
 * idempotent, so it runs after every migration run and covers tables a new migration added. `schemas` are the
 * product schemas that exist (a schema a later migration adds is covered once it exists).
 */
export function grantStatements(
  service: string,
  schemas: readonly string[] = PRODUCT_SCHEMAS,
  database = 'current_database()',
): string[] {
  const role = checkedRoleName(service);
  const statements: string[] = [];
  statements.push(
    database === 'current_database()'
      ? `DO $$ BEGIN EXECUTE format('GRANT CONNECT, CREATE, TEMPORARY ON DATABASE %I TO ${role}', current_database()); END $$`
      : `GRANT CONNECT, CREATE, TEMPORARY ON DATABASE ${checkedRoleName(database)} TO ${role}`,
  );
  for (const schema of schemas) {
    const s = checkedRoleName(schema);
    statements.push(
      `GRANT USAGE ON SCHEMA ${s} TO ${role}`,
      `GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA ${s} TO ${role}`,
      `GRANT USAGE, SELECT, UPDATE ON ALL SEQUENCES IN SCHEMA ${s} TO ${role}`,
      `GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA ${s} TO ${role}`,
      // Tables and sequences a later migration creates (as the role running this: the owner).
      `ALTER DEFAULT PRIVILEGES IN SCHEMA ${s} GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO ${role}`,
      `ALTER DEFAULT PRIVILEGES IN SCHEMA ${s} GRANT USAGE, SELECT, UPDATE ON SEQUENCES TO ${role}`,
    );
  }
  for (const table of APPEND_ONLY_TABLES) {
    statements.push(`REVOKE UPDATE, DELETE, TRUNCATE ON ${table} FROM ${role}`);
  }
  return statements;
}

/** The SQL an operator runs once on an external PostgreSQL, as a superuser, before `bursar migrate`. */
export function roleSetupSql(options: { owner?: string; service?: string; database?: string } = {}): string {
  const owner = checkedRoleName(options.owner ?? DEFAULT_OWNER_ROLE);
  const service = checkedRoleName(options.service ?? DEFAULT_SERVICE_ROLE);
  const database = checkedRoleName(options.database ?? 'bursar');
  return [
    '-- 1. As a superuser (once): the two roles and the database, owned by the owner role.',
    `CREATE ROLE ${owner} LOGIN PASSWORD '<owner password>';`,
    `CREATE ROLE ${service} LOGIN PASSWORD '<service password>';`,
    `CREATE DATABASE ${database} OWNER ${owner};`,
    `REVOKE ALL ON DATABASE ${database} FROM PUBLIC;`,
    `\\connect ${database}`,
    `ALTER SCHEMA public OWNER TO ${owner};`,
    `REVOKE CREATE ON SCHEMA public FROM PUBLIC;`,
    '',
    `-- 2. As ${owner}: DATABASE_URL=postgres://${owner}:…@host/${database} npx bursar migrate`,
    `--    applies the migrations and then these grants (after every migration run, so new tables are covered):`,
    ...grantStatements(service, PRODUCT_SCHEMAS, database).map((s) => `${s};`),
    '',
    `-- 3. Run Bursar as ${service}: DATABASE_URL=postgres://${service}:…@host/${database} npm start`,
    `--    (BURSAR_DB_SERVICE_ROLE names the service role when it is not ${DEFAULT_SERVICE_ROLE}.)`,
  ].join('\n');
}

/**
 * Applies the grants to `service` when that role exists (a database without the two roles, say a developer's
 * superuser-only one, is left as it is). Returns whether it applied them.
 */
export async function applyGrants(db: Queryable, service: string): Promise<boolean> {
  const role = checkedRoleName(service);
  const exists = await db.query('SELECT 1 FROM pg_roles WHERE rolname = $1', [role]);
  if (exists.rowCount === 0) return false;
  // Every schema but the system's and the runtime-created ones: a schema a later migration adds is covered too.
  const present = await db.query<{ nspname: string }>(
    `SELECT nspname FROM pg_namespace
      WHERE nspname NOT LIKE 'pg\\_%' AND nspname <> 'information_schema' AND NOT (nspname = ANY($1::text[]))
      ORDER BY nspname`,
    [[...SERVICE_OWNED_SCHEMAS]],
  );
  const schemas = present.rows.map((row) => row.nspname).filter((s) => IDENT.test(s));
  for (const statement of grantStatements(role, schemas)) await db.query(statement);
  return true;
}
