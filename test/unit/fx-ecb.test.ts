import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { EcbFormatError, formatEcbRates, parseEcbRates } from '../../src/fx/ecb.ts';
import { formatRate } from '../../src/fx/rate.ts';

const FIXTURES = path.resolve(import.meta.dirname, '../fixtures/fx');
const read = (name: string) => fs.readFileSync(path.join(FIXTURES, name), 'utf8');

describe('the ECB eurofxref reader', () => {
  it('reads the committed sample of the daily file: one day, every currency, rates exact', () => {
    const days = parseEcbRates(read('eurofxref-daily.xml'));
    expect(days).toHaveLength(1);
    const [day] = days;
    expect(day?.date).toBe('2024-05-17');
    expect(day?.rates.size).toBe(30);
    const usd = day?.rates.get('USD');
    const huf = day?.rates.get('HUF');
    expect(usd && formatRate(usd)).toBe('1.0866');
    expect(huf && formatRate(huf)).toBe('385.1');
  });

  it('reads the committed sample of the historical file, newest day first, skipping withdrawn currencies', () => {
    const days = parseEcbRates(read('eurofxref-hist.xml'));
    expect(days.map((day) => day.date)).toEqual(['2024-05-17', '2024-05-16', '2024-05-15', '1999-01-04']);
    const oldest = days[3];
    expect(oldest?.rates.has('CYP')).toBe(false);
    expect(oldest?.rates.has('USD')).toBe(true);
  });

  it('reads what it writes (the sandbox serves its rates in this format)', () => {
    const xml = formatEcbRates([{ date: '2026-12-01', rates: { USD: '1.05', KWD: '0.3334' } }]);
    const [day] = parseEcbRates(xml);
    expect(day?.date).toBe('2026-12-01');
    expect([...(day?.rates.keys() ?? [])].sort()).toEqual(['KWD', 'USD']);
  });

  it.each([
    ['not XML at all', 'this is not xml'],
    ['cut off in the middle', read('eurofxref-daily.xml').slice(0, 600)],
    ['an HTML error page', '<html><body>502 Bad Gateway</body></html>'],
    ['an envelope with no dated rates', formatEcbRates([]).replace(/<Cube>\s*<\/Cube>/, '<Cube></Cube>')],
    ['a bad date', read('eurofxref-daily.xml').replace("time='2024-05-17'", "time='2024-02-30'")],
    ['a negative rate', read('eurofxref-daily.xml').replace("rate='1.0866'", "rate='-1.0866'")],
    ['a rate in exponent form', read('eurofxref-daily.xml').replace("rate='1.0866'", "rate='1e0'")],
  ])('refuses a malformed file with a clear EcbFormatError: %s', (_name, xml) => {
    expect(() => parseEcbRates(xml)).toThrow(EcbFormatError);
  });
});
