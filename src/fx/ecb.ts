import { SaxesParser } from 'saxes';
import { isCurrencyCode } from '../money/index.ts';
import { parseRate, type Rate } from './rate.ts';

/**
 * Reader of the European Central Bank's euro foreign exchange reference rates, in the shape the ECB publishes
 * them (eurofxref-daily.xml: one day; eurofxref-hist.xml and eurofxref-hist-90d.xml: many days, newest first):
 *
 *   <gesmes:Envelope …><Cube><Cube time="2024-05-17"><Cube currency="USD" rate="1.0866"/>…</Cube></Cube>
 *
 * Every rate is "1 EUR = rate units of currency". Strict: a file that is not well-formed XML, holds no day, has a
 * day without a valid date, or a rate that is not a positive decimal is refused with an EcbFormatError naming
 * the line. Currencies Bursar does not know (ISO 4217 withdrawn codes in old history) are skipped.
 */

export interface EcbDay {
  /** The publication date, YYYY-MM-DD. */
  date: string;
  rates: Map<string, Rate>;
}

export class EcbFormatError extends Error {
  override readonly name = 'EcbFormatError';
}

const DATE = /^\d{4}-\d{2}-\d{2}$/;
export const MAX_ECB_BYTES = 64 * 1024 * 1024;

function validDate(text: string): boolean {
  if (!DATE.test(text)) return false;
  const date = new Date(`${text}T00:00:00Z`);
  return !Number.isNaN(date.getTime()) && date.toISOString().slice(0, 10) === text;
}

/** Every day of the file, newest first. */
export function parseEcbRates(xml: string): EcbDay[] {
  if (xml.length > MAX_ECB_BYTES) throw new EcbFormatError('the rates file is larger than 64 MiB');
  const days: EcbDay[] = [];
  let current: EcbDay | undefined;
  let sawEnvelope = false;
  const parser = new SaxesParser({ xmlns: true });
  const fail = (message: string): never => {
    throw new EcbFormatError(`line ${parser.line}: ${message}`);
  };
  parser.on('error', (error) => fail(error.message.replace(/^[^:]*:\d+:\d+: /, '')));
  parser.on('opentag', (tag) => {
    if (tag.local === 'Envelope') sawEnvelope = true;
    if (tag.local !== 'Cube') return;
    const attr = (name: string) => tag.attributes[name]?.value;
    const time = attr('time');
    const currency = attr('currency');
    if (time !== undefined) {
      if (!validDate(time)) fail(`Cube time "${time.slice(0, 20)}" is not a date (YYYY-MM-DD)`);
      current = { date: time, rates: new Map() };
      days.push(current);
    } else if (currency !== undefined) {
      if (!current) fail(`Cube currency="${currency.slice(0, 8)}" outside a dated Cube`);
      const rate = parseRate(attr('rate') ?? '');
      if (!rate) fail(`Cube currency="${currency.slice(0, 8)}" has no positive decimal rate`);
      if (isCurrencyCode(currency) && current && rate) current.rates.set(currency, rate);
    }
  });
  parser.write(xml).close();
  if (!sawEnvelope) throw new EcbFormatError('not an ECB reference rates file (no gesmes:Envelope)');
  if (days.length === 0) throw new EcbFormatError('the file holds no dated rates (no <Cube time="…">)');
  if (days.some((day) => day.rates.size === 0)) throw new EcbFormatError('a day of the file holds no rate');
  return days.sort((a, b) => (a.date < b.date ? 1 : a.date > b.date ? -1 : 0));
}

/** Writes days in the ECB's format (the sandbox serves its rates file this way; tests build files with it). */
export function formatEcbRates(days: Array<{ date: string; rates: Record<string, string> }>): string {
  const cubes = days
    .map(
      (day) =>
        `\t\t<Cube time='${day.date}'>\n${Object.entries(day.rates)
          .map(([currency, rate]) => `\t\t\t<Cube currency='${currency}' rate='${rate}'/>`)
          .join('\n')}\n\t\t</Cube>`,
    )
    .join('\n');
  return `<?xml version="1.0" encoding="UTF-8"?>
<gesmes:Envelope xmlns:gesmes="http://www.gesmes.org/xml/2002-08-01" xmlns="http://www.ecb.int/vocabulary/2002-08-01/eurofxref">
\t<gesmes:subject>Reference rates</gesmes:subject>
\t<gesmes:Sender>
\t\t<gesmes:name>European Central Bank</gesmes:name>
\t</gesmes:Sender>
\t<Cube>
${cubes}
\t</Cube>
</gesmes:Envelope>
`;
}
