import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { inject } from 'vitest';

/**
 * Copies a stopped embedded data dir (`pg/` with its owner, the password files) into `to`, an empty directory.
 * `cp -a` keeps the files' owner: as root, `pg/` belongs to the unprivileged account PostgreSQL runs as.
 */
export function copyDataDir(from: string, to: string): void {
  execFileSync('cp', ['-a', `${from}/.`, to]);
}

/**
 * A data dir of its own for a test that runs `bursar start` (or a CLI command) on the embedded PostgreSQL: a copy
 * of the one the global setup initialised and migrated once (test/support/global-setup.ts), so that the test's
 * first start is a restart, without initdb and the migrations from scratch. What a first start on an empty data
 * dir does is the subject of test/e2e/startup.test.ts and test/store/db-roles.test.ts, which start from empty.
 */
export function seededDataDir(prefix: string): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  copyDataDir(inject('pgDataDirTemplate'), dir);
  return dir;
}
