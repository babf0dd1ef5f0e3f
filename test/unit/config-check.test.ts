import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { checkConfig, SETTINGS } from '../../src/config-check.ts';

const SRC = path.resolve(import.meta.dirname, '../../src');

function sources(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) return sources(full);
    return entry.name.endsWith('.ts') ? [full] : [];
  });
}

describe('checkConfig', () => {
  it('knows every environment variable the code reads, so none escapes the check', () => {
    const read = new Set<string>();
    for (const file of sources(SRC)) {
      const text = fs.readFileSync(file, 'utf8');
      for (const match of text.matchAll(/env(?:\.|\[['"])([A-Z][A-Z0-9_]+)/g))
        if (match[1]) read.add(match[1]);
      for (const match of text.matchAll(
        /\b(?:int|big|positiveInt|intFromEnv|msFromEnv)\(env, '([A-Z][A-Z0-9_]+)'/g,
      ))
        if (match[1]) read.add(match[1]);
    }
    const known = new Set(SETTINGS.map((setting) => setting.name));
    // NODE_ENV only picks the test log level; USER only names the CLI's actor in the audit trail.
    const unknown = [...read].filter((name) => !known.has(name) && name !== 'NODE_ENV' && name !== 'USER');
    expect(unknown).toEqual([]);
  });

  it('accepts the empty environment (every default) for every role', () => {
    for (const role of ['all', 'api', 'worker', 'sandbox', 'cli'] as const) {
      const result = checkConfig({}, role);
      expect(result.problems).toEqual([]);
      expect(result.config?.port).toBe(8080);
    }
  });

  it('reports every problem at once, with no config, and never a secret’s value', () => {
    const result = checkConfig(
      {
        PORT: 'x',
        BURSAR_WEBHOOK_SECRET: '  ',
        STRIPE_WEBHOOK_SECRET: 'plain-secret-value',
        BURSAR_RECON_CHUNK_SIZE: '0',
      },
      'all',
    );
    expect(result.config).toBeUndefined();
    expect(result.problems.map((p) => p.variable)).toEqual([
      'PORT',
      'BURSAR_WEBHOOK_SECRET',
      'STRIPE_WEBHOOK_SECRET',
      'BURSAR_RECON_CHUNK_SIZE',
    ]);
    expect(JSON.stringify(result.problems)).not.toContain('plain-secret-value');
    for (const problem of result.problems) expect(problem.accepted.length).toBeGreaterThan(0);
  });

  it('a role is refused only for the settings it reads', () => {
    expect(checkConfig({ BURSAR_PAYOUT_PROVIDER: 'swift' }, 'sandbox').problems).toEqual([]);
    expect(checkConfig({ SANDBOX_SEED: 'x' }, 'worker').problems).toEqual([]);
    expect(checkConfig({ BURSAR_PAYOUT_PROVIDER: 'swift' }, 'worker').problems).toHaveLength(1);
    expect(checkConfig({ BURSAR_PAYOUT_PROVIDERS: 'pain001,nacha' }, 'worker').problems).toEqual([]);
    expect(checkConfig({ BURSAR_ACH_COMPANY_NAME: 'far too long a name' }, 'api').problems).toHaveLength(1);
  });
});
