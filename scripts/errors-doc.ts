// Prints the table of docs/errors.md from src/errors.ts: `npx tsx scripts/errors-doc.ts`.
// test/unit/errors-doc.test.ts fails when the two disagree.
import { ERROR_CODES } from '../src/errors.ts';

for (const [code, { status, description }] of Object.entries(ERROR_CODES)) {
  process.stdout.write(`| \`${code}\` | ${status} | ${description} |\n`);
}
