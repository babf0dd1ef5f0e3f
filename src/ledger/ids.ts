/**
 * Journal entry ids: `je_` followed by the entry's row number. The number is what postings store (eight bytes
 * instead of a string on every posting); the prefix is what everyone outside the ledger sees.
 */
const ENTRY_ID = /^je_([1-9][0-9]{0,18})$/;

export function entryIdOf(rowId: bigint): string {
  return `je_${rowId}`;
}

/** The row number behind an entry id, or undefined when the text is not an entry id. */
export function entryRowIdOf(entryId: string): bigint | undefined {
  const match = ENTRY_ID.exec(entryId);
  if (match === null || match[1] === undefined) return undefined;
  const value = BigInt(match[1]);
  return value <= 9223372036854775807n ? value : undefined;
}
