import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { compileSchema } from './compile.ts';
import type { Schema } from './model.ts';

/**
 * The official ISO 20022 XSDs shipped with Bursar (schemas/iso20022/, with their licence), compiled once on first
 * use. A message version without a shipped XSD is read without schema validation (see docs/reconciliation.md).
 */

const cache = new Map<string, Schema | null>();
let directory: string | null | undefined;

/** schemas/iso20022 of the installation: looked for upwards from this file (works from src/ and from dist/). */
function schemasDirectory(): string | null {
  if (directory !== undefined) return directory;
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 8; i++) {
    const candidate = join(dir, 'schemas', 'iso20022');
    if (existsSync(candidate)) return (directory = candidate);
    dir = dirname(dir);
  }
  return (directory = null);
}

/** The compiled schema of `message` (e.g. `camt.053.001.08`), or undefined when Bursar ships none for it. */
export function schemaFor(message: string): Schema | undefined {
  const known = cache.get(message);
  if (known !== undefined) return known ?? undefined;
  const dir = schemasDirectory();
  const file = dir === null ? undefined : join(dir, `${message}.xsd`);
  const schema = file !== undefined && existsSync(file) ? compileSchema(readFileSync(file, 'utf8')) : null;
  cache.set(message, schema);
  return schema ?? undefined;
}

/** The message versions Bursar validates against their official XSD. */
export const SHIPPED_SCHEMAS: readonly string[] = [
  'camt.053.001.02',
  'camt.053.001.08',
  'camt.054.001.02',
  'camt.054.001.08',
];
