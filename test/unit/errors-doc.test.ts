import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ERROR_CODES } from '../../src/errors.ts';

function documentedCodes(): Array<{ code: string; status: number }> {
  const text = fs.readFileSync(path.resolve(import.meta.dirname, '../../docs/errors.md'), 'utf8');
  const rows: Array<{ code: string; status: number }> = [];
  for (const line of text.split('\n')) {
    const match = /^\| `([a-z_]+)` \| (\d{3}) \|/.exec(line);
    if (match?.[1] && match[2]) rows.push({ code: match[1], status: Number.parseInt(match[2], 10) });
  }
  return rows;
}

describe('docs/errors.md', () => {
  it('documents exactly the codes of src/errors.ts, in the same order, with the same statuses', () => {
    const inCode = Object.entries(ERROR_CODES).map(([code, { status }]) => ({ code, status }));
    expect(documentedCodes()).toEqual(inCode);
  });

  it('gives every code one status that is a 4xx or 5xx', () => {
    for (const { status } of Object.values(ERROR_CODES)) {
      expect(status).toBeGreaterThanOrEqual(400);
      expect(status).toBeLessThan(600);
    }
  });
});
