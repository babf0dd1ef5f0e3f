import { AppError } from '../errors.ts';
import { MAX_AMOUNT_MINOR } from '../money/limits.ts';
import {
  normalSideOf,
  type AccountSpec,
  type AccountType,
  type EntryInput,
  type PostingInput,
} from './types.ts';

/**
 * Pure checks on an entry before it goes near the database, and the canonical form used to tell a replay (same
 * reference, same contents) from a conflict. The database checks the same invariants again.
 */

const ACCOUNT_TYPES: readonly AccountType[] = ['asset', 'liability', 'revenue', 'expense', 'equity'];
const CURRENCY = /^[A-Z]{3}$/;
export const MAX_REFERENCE_LENGTH = 300;
export const MAX_CODE_LENGTH = 200;
export const MAX_KIND_LENGTH = 100;

/** An entry that passed validation, ready to be written. */
export interface ValidEntry {
  reference: string;
  kind: string;
  description: string;
  effectiveAt: Date | undefined;
  metadataJson: string | null;
  postings: PostingInput[];
  /** Every account the entry touches, by code. */
  accounts: Map<string, AccountSpec>;
  /** Identical for two entries with the same kind and postings (order aside). */
  readonly contentKey: string;
  /** Set on a reversing entry: the row id of the entry it reverses. */
  reversesRowId: bigint | undefined;
}

function invalid(message: string, field?: string): AppError {
  return new AppError('ledger_entry_invalid', message, field === undefined ? {} : { field });
}

function checkAccount(spec: unknown, field: string): AccountSpec {
  if (typeof spec !== 'object' || spec === null)
    throw invalid(`${field}: an account spec is required`, field);
  const { code, type, currency, ownerId, floorMinor } = spec as Partial<AccountSpec>;
  if (typeof code !== 'string' || code.length === 0 || code.length > MAX_CODE_LENGTH) {
    throw invalid(`${field}.code: 1 to ${MAX_CODE_LENGTH} characters required`, `${field}.code`);
  }
  if (typeof type !== 'string' || !ACCOUNT_TYPES.includes(type)) {
    throw invalid(`${field}.type: one of ${ACCOUNT_TYPES.join(', ')}`, `${field}.type`);
  }
  if (typeof currency !== 'string' || !CURRENCY.test(currency)) {
    throw invalid(`${field}.currency: three upper-case letters required`, `${field}.currency`);
  }
  if (ownerId !== undefined && (typeof ownerId !== 'string' || ownerId.length === 0)) {
    throw invalid(`${field}.ownerId: a non-empty string when given`, `${field}.ownerId`);
  }
  if (floorMinor !== undefined && typeof floorMinor !== 'bigint') {
    throw invalid(`${field}.floorMinor: a bigint when given`, `${field}.floorMinor`);
  }
  return {
    code,
    type,
    currency,
    ...(ownerId === undefined ? {} : { ownerId }),
    ...(floorMinor === undefined ? {} : { floorMinor }),
  };
}

function sameSpec(a: AccountSpec, b: AccountSpec): boolean {
  return (
    a.type === b.type &&
    a.currency === b.currency &&
    (a.ownerId ?? null) === (b.ownerId ?? null) &&
    (a.floorMinor ?? null) === (b.floorMinor ?? null)
  );
}

/** Signed effect of a posting on its account's normal-side balance. */
export function normalDelta(type: AccountType, direction: 'debit' | 'credit', amountMinor: bigint): bigint {
  return normalSideOf(type) === direction ? amountMinor : -amountMinor;
}

/** The canonical contents of an entry: kind and postings, sorted so that their order does not matter. */
export function contentKeyOf(
  kind: string,
  postings: { code: string; direction: string; amountMinor: bigint }[],
): string {
  const lines = postings.map((p) => `${p.code}\u0000${p.direction}\u0000${p.amountMinor}`).sort();
  return `${kind}\u0001${lines.join('\u0001')}`;
}

/** The entry's own fields: reference, kind, description, date, at least two postings; its metadata as JSON. */
function checkEntryFields(input: EntryInput): { metadataJson: string | null } {
  if (typeof input !== 'object' || input === null) throw invalid('an entry is required');
  const { reference, kind, description, effectiveAt, postings, metadata } = input;
  if (typeof reference !== 'string' || reference.length === 0 || reference.length > MAX_REFERENCE_LENGTH) {
    throw invalid(`reference: 1 to ${MAX_REFERENCE_LENGTH} characters required`, 'reference');
  }
  if (typeof kind !== 'string' || kind.length === 0 || kind.length > MAX_KIND_LENGTH) {
    throw invalid(`kind: 1 to ${MAX_KIND_LENGTH} characters required`, 'kind');
  }
  if (typeof description !== 'string') throw invalid('description: a string is required', 'description');
  if (effectiveAt !== undefined && (!(effectiveAt instanceof Date) || Number.isNaN(effectiveAt.getTime()))) {
    throw invalid('effectiveAt: a valid Date when given', 'effectiveAt');
  }
  if (!Array.isArray(postings) || postings.length < 2) {
    throw invalid(`entry ${reference}: at least two postings are required`, 'postings');
  }
  if (metadata === undefined) return { metadataJson: null };
  try {
    return { metadataJson: JSON.stringify(metadata) };
  } catch (error) {
    throw invalid(`metadata: must be JSON-serialisable (${(error as Error).message})`, 'metadata');
  }
}

/** One posting: a valid account (the same details wherever it appears), a direction, a positive amount. */
function checkPosting(
  posting: PostingInput,
  index: number,
  accounts: Map<string, AccountSpec>,
): PostingInput {
  const field = `postings.${index}`;
  if (typeof posting !== 'object' || posting === null)
    throw invalid(`${field}: a posting is required`, field);
  const account = checkAccount(posting.account, `${field}.account`);
  const known = accounts.get(account.code);
  if (known !== undefined && !sameSpec(known, account)) {
    throw invalid(
      `${field}.account: ${account.code} appears twice with different details`,
      `${field}.account`,
    );
  }
  accounts.set(account.code, account);
  if (posting.direction !== 'debit' && posting.direction !== 'credit') {
    throw invalid(`${field}.direction: "debit" or "credit"`, `${field}.direction`);
  }
  const amount = posting.amountMinor;
  if (typeof amount !== 'bigint' || amount <= 0n) {
    throw invalid(`${field}.amountMinor: a strictly positive bigint is required`, `${field}.amountMinor`);
  }
  if (amount > MAX_AMOUNT_MINOR) {
    throw invalid(`${field}.amountMinor: above the maximum of ${MAX_AMOUNT_MINOR}`, `${field}.amountMinor`);
  }
  return { account, direction: posting.direction, amountMinor: amount };
}

/** Debits equal credits in every currency of the entry. */
function checkBalanced(reference: string, postings: PostingInput[]): void {
  const netByCurrency = new Map<string, bigint>();
  for (const posting of postings) {
    const signed = posting.direction === 'debit' ? posting.amountMinor : -posting.amountMinor;
    const currency = posting.account.currency;
    netByCurrency.set(currency, (netByCurrency.get(currency) ?? 0n) + signed);
  }
  for (const [currency, net] of netByCurrency) {
    if (net !== 0n) {
      throw new AppError(
        'ledger_entry_unbalanced',
        `entry ${reference}: debits and credits in ${currency} differ by ${net < 0n ? -net : net}`,
        { field: 'postings' },
      );
    }
  }
}

export function validateEntry(input: EntryInput, options: { reversesRowId?: bigint } = {}): ValidEntry {
  const { metadataJson } = checkEntryFields(input);
  const { reference, kind, description, effectiveAt, postings } = input;
  const accounts = new Map<string, AccountSpec>();
  const clean: PostingInput[] = [];
  postings.forEach((posting, index) => clean.push(checkPosting(posting, index, accounts)));
  checkBalanced(reference, clean);
  return {
    reference,
    kind,
    description,
    effectiveAt,
    metadataJson,
    postings: clean,
    accounts,
    // Only replays need it, so it is computed on first use (it sorts and joins every posting).
    get contentKey(): string {
      const key = contentKeyOf(
        kind,
        clean.map((p) => ({ code: p.account.code, direction: p.direction, amountMinor: p.amountMinor })),
      );
      Object.defineProperty(this, 'contentKey', { value: key });
      return key;
    },
    reversesRowId: options.reversesRowId,
  };
}
