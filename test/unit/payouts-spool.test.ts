import fs from 'node:fs';
import os from 'node:os';
import { describe, expect, it } from 'vitest';
import { Spool } from '../../src/payouts/spool.ts';

function leftovers(): string[] {
  return fs.readdirSync(os.tmpdir()).filter((name) => name.startsWith('bursar-payout-file-'));
}

describe('the spool a payout file is formatted into', () => {
  it('gives back exactly the bytes written, in pieces of the asked size, across its own flushes', async () => {
    const spool = await Spool.open();
    try {
      const parts: string[] = [];
      for (let i = 0; i < 30_000; i++) parts.push(`<CdtTrfTxInf>${i} é €</CdtTrfTxInf>\n`);
      for (const part of parts) await spool.write(part);
      await spool.flush();
      const pieces: Buffer[] = [];
      for await (const piece of spool.pieces(100_000)) pieces.push(piece);
      expect(pieces.slice(0, -1).every((piece) => piece.length === 100_000)).toBe(true);
      expect(Buffer.concat(pieces).toString('utf8')).toBe(parts.join(''));
    } finally {
      await spool.close();
    }
  });

  it('leaves no file behind: its temporary file is unlinked as soon as it is opened', async () => {
    const before = leftovers();
    const spool = await Spool.open();
    await spool.write('x');
    expect(leftovers()).toEqual(before);
    await spool.close();
  });
});
