import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { AppError } from '../../src/errors.ts';
import { readCamt } from '../../src/reconciliation/camt/index.ts';
import { AMOUNT_STYLE_COUNT, document, MUTATIONS, type Shape } from '../support/camt-gen.ts';

/**
 * The acceptance rule of the camt reader: on generated documents, valid and invalid, the reader and
 * `xmllint --noout --schema` with the official XSD (schemas/iso20022/) agree on every one. xmllint is Debian's
 * libxml2-utils, installed by scripts/ensure-xmllint.sh (by .ci/run, and by this test when it is missing); without it
 * this test fails, naming what is missing.
 */

const schemas = path.resolve(import.meta.dirname, '../../schemas/iso20022');
const work = fs.mkdtempSync(path.join(os.tmpdir(), 'camt-xsd-'));
afterAll(() => fs.rmSync(work, { recursive: true, force: true }));

/** xmllint on the PATH; installed first (scripts/ensure-xmllint.sh, as root with apt) so `npm test` alone has it. */
function xmllintAvailable(): boolean {
  if (spawnSync('xmllint', ['--version']).status === 0) return true;
  spawnSync('sh', [path.resolve(import.meta.dirname, '../../scripts/ensure-xmllint.sh')], {
    stdio: 'ignore',
  });
  return spawnSync('xmllint', ['--version']).status === 0;
}

/** xmllint's verdict on each file: true when it validates. One run per schema for all its files. */
function xmllintVerdicts(schema: string, files: string[]): Map<string, boolean> {
  const run = spawnSync('xmllint', ['--noout', '--schema', path.join(schemas, `${schema}.xsd`), ...files], {
    encoding: 'utf8',
    maxBuffer: 64 * 1024 * 1024,
  });
  const verdicts = new Map<string, boolean>();
  for (const line of run.stderr.split('\n')) {
    const ok = / validates$/.exec(line);
    const bad = / fails to validate$/.exec(line);
    if (ok) verdicts.set(line.slice(0, ok.index), true);
    else if (bad) verdicts.set(line.slice(0, bad.index), false);
  }
  return verdicts;
}

async function readerVerdict(
  xml: string,
): Promise<{ ok: boolean; why: string; entries: number; txs: number }> {
  let entries = 0;
  let txs = 0;
  try {
    for await (const item of readCamt([xml])) {
      if (item.kind === 'entry') {
        entries++;
        txs += item.entry.transactions.length;
      }
    }
    return { ok: true, why: '', entries, txs };
  } catch (error) {
    if (error instanceof AppError) return { ok: false, why: error.message, entries, txs };
    throw error;
  }
}

const shapes = fc.record<Shape>({
  message: fc.constantFrom('053', '054'),
  version: fc.constantFrom('02', '08'),
  statements: fc.integer({ min: 1, max: 3 }),
  entries: fc.integer({ min: 1, max: 3 }),
  transactions: fc.integer({ min: 0, max: 4 }),
  amountStyle: fc.integer({ min: 0, max: AMOUNT_STYLE_COUNT - 1 }),
  emptyOptional: fc.integer({ min: 0, max: 3 }),
  reversal: fc.constantFrom('none', 'true', '1', '0'),
  dateTz: fc.boolean(),
});

interface Case {
  file: string;
  schema: string;
  xml: string;
  label: string;
}

function generateCases(): Case[] {
  const samples = fc.sample(fc.tuple(shapes, fc.nat({ max: MUTATIONS.length - 1 })), {
    numRuns: 400,
    seed: 20261201,
  });
  // Every mutation at least once on each schema, then the random ones.
  const systematic: Array<[Shape, number]> = [];
  for (const [message, version] of [
    ['053', '02'],
    ['053', '08'],
    ['054', '02'],
    ['054', '08'],
  ] as const) {
    for (let m = 0; m < MUTATIONS.length; m++) {
      systematic.push([
        {
          message,
          version,
          statements: 2,
          entries: 2,
          transactions: 2,
          amountStyle: m % AMOUNT_STYLE_COUNT,
          emptyOptional: 0,
          reversal: 'none',
          dateTz: false,
        },
        m,
      ]);
    }
  }
  return [...systematic, ...samples].map(([shape, m], index) => {
    const mutation = MUTATIONS[m];
    const xml = mutation === undefined ? document(shape) : mutation.apply(document(shape));
    const file = path.join(work, `doc-${index}.xml`);
    fs.writeFileSync(file, xml);
    return {
      file,
      schema: `camt.${shape.message}.001.${shape.version}`,
      xml,
      label: `${path.basename(file)} camt.${shape.message}.001.${shape.version} ${JSON.stringify(shape)} + ${mutation?.name ?? '?'}`,
    };
  });
}

describe('camt reader and the official XSD', () => {
  it('xmllint is installed (scripts/ensure-xmllint.sh; Debian package libxml2-utils)', () => {
    expect(
      xmllintAvailable(),
      'xmllint is missing: run `sh scripts/ensure-xmllint.sh` (apt-get install libxml2-utils)',
    ).toBe(true);
  });

  it('the reader accepts exactly the generated documents xmllint --schema accepts, valid and invalid alike', async () => {
    expect(xmllintAvailable(), 'xmllint is missing: run `sh scripts/ensure-xmllint.sh`').toBe(true);
    const cases = generateCases();
    const verdicts = new Map<string, boolean>();
    for (const schema of new Set(cases.map((c) => c.schema))) {
      const files = cases.filter((c) => c.schema === schema).map((c) => c.file);
      for (const [file, ok] of xmllintVerdicts(schema, files)) verdicts.set(file, ok);
    }
    const disagreements: string[] = [];
    let valid = 0;
    for (const c of cases) {
      const xsd = verdicts.get(c.file);
      expect(xsd, `xmllint gave no verdict on ${c.file}`).toBeDefined();
      const ours = await readerVerdict(c.xml);
      if (xsd) valid++;
      if (ours.ok !== xsd)
        disagreements.push(
          `${c.label}: xmllint ${xsd ? 'accepts' : 'refuses'}, reader ${ours.ok ? 'accepts' : `refuses (${ours.why})`}`,
        );
    }
    expect(disagreements).toEqual([]);
    // Both kinds were really generated.
    expect(valid).toBeGreaterThan(cases.length / 5);
    expect(cases.length - valid).toBeGreaterThan(cases.length / 5);
  });

  it('names the line and the element of what the schema refuses', async () => {
    const shape: Shape = {
      message: '053',
      version: '08',
      statements: 1,
      entries: 1,
      transactions: 1,
      amountStyle: 0,
      emptyOptional: 0,
      reversal: 'none',
      dateTz: false,
    };
    const xml = document(shape).replace('<CdtDbtInd>DBIT</CdtDbtInd>', '<CdtDbtInd>CRED</CdtDbtInd>');
    const verdict = await readerVerdict(xml);
    expect(verdict.why).toMatch(
      /^camt: line \d+, <Document\/BkToCstmrStmt\/Stmt\/Ntry\/CdtDbtInd>: "CRED" is not one of the codes/,
    );
  });

  it('reads a batch-booked entry as one transaction per TxDtls, each with its own EndToEndId and amount', async () => {
    const shape: Shape = {
      message: '054',
      version: '08',
      statements: 1,
      entries: 1,
      transactions: 4,
      amountStyle: 1,
      emptyOptional: 0,
      reversal: 'none',
      dateTz: false,
    };
    const txs = [];
    for await (const item of readCamt([document(shape)]))
      if (item.kind === 'entry') txs.push(...item.entry.transactions);
    expect(txs.map((t) => [t.endToEndId, t.amountMinor])).toEqual([
      ['po_s0e0t0', 1000n],
      ['po_s0e0t1', 1001n],
      ['po_s0e0t2', 1002n],
      ['po_s0e0t3', 1003n],
    ]);
  });
});
