import { execFileSync, spawnSync } from 'node:child_process';

/** The OS identity the embedded PostgreSQL runs as; `undefined` fields mean "as this process". */
export interface RunAs {
  uid: number | undefined;
  gid: number | undefined;
  name: string;
}

function lookup(name: string): { uid: number; gid: number } | undefined {
  try {
    const uid = Number.parseInt(execFileSync('id', ['-u', name], { encoding: 'utf8' }).trim(), 10);
    const gid = Number.parseInt(execFileSync('id', ['-g', name], { encoding: 'utf8' }).trim(), 10);
    if (Number.isInteger(uid) && Number.isInteger(gid) && uid !== 0) return { uid, gid };
  } catch {
    // no such user
  }
  return undefined;
}

/**
 * PostgreSQL refuses to run as root. When we are root we run it as an unprivileged account instead:
 * `BURSAR_PG_OS_USER` if set, else an existing `postgres` account, else a system account `bursar-pg`
 * that we create. As any other user, PostgreSQL simply runs as us.
 */
export function resolveRunAs(env: NodeJS.ProcessEnv = process.env): RunAs {
  const self = process.getuid?.();
  if (self !== 0) return { uid: undefined, gid: undefined, name: 'current user' };
  const wanted = env.BURSAR_PG_OS_USER;
  const candidates = wanted ? [wanted] : ['postgres', 'bursar-pg'];
  for (const name of candidates) {
    const ids = lookup(name);
    if (ids) return { ...ids, name };
  }
  if (wanted)
    throw new Error(`BURSAR_PG_OS_USER names "${wanted}", which is not a non-root account on this machine`);
  const created = spawnSync(
    'useradd',
    [
      '--system',
      '--no-create-home',
      '--home-dir',
      '/nonexistent',
      '--shell',
      '/usr/sbin/nologin',
      'bursar-pg',
    ],
    { encoding: 'utf8' },
  );
  const ids = lookup('bursar-pg');
  if (!ids) {
    throw new Error(
      `running as root, PostgreSQL needs an unprivileged account and none could be created (${created.stderr.trim()}); ` +
        'set BURSAR_PG_OS_USER to an existing account',
    );
  }
  return { ...ids, name: 'bursar-pg' };
}

/** True when `runAs` can enter and write `dir` and execute `binary` (checked as that user, not guessed). */
export function canUse(runAs: RunAs, dir: string, binary: string): boolean {
  if (runAs.uid === undefined) return true;
  const result = spawnSync('sh', ['-c', 'test -w "$1" && test -x "$1" && test -x "$2"', 'sh', dir, binary], {
    uid: runAs.uid,
    gid: runAs.gid,
  });
  return result.status === 0;
}
