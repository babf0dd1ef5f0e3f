/**
 * The ledger's public contract. Other modules book money only through `postEntry`/`postEntries` with postings
 * whose accounts come from `chart.ts`, and read balances only through the ledger's read functions.
 */

export type AccountType = 'asset' | 'liability' | 'revenue' | 'expense' | 'equity';

/** Which side increases the account: debit for assets and expenses, credit for the others. */
export type NormalSide = 'debit' | 'credit';

export function normalSideOf(type: AccountType): NormalSide {
  return type === 'asset' || type === 'expense' ? 'debit' : 'credit';
}

/** Everything needed to find or create an account; the `code` is its unique, stable name. */
export interface AccountSpec {
  /** e.g. `seller:acme:pending:USD`, `platform:psp_clearing:USD` (see chart.ts). */
  code: string;
  type: AccountType;
  /** ISO 4217, upper case. */
  currency: string;
  /** The seller (or other party) the account belongs to, when one does. */
  ownerId?: string;
  /**
   * Lowest allowed balance on the account's normal side, in minor units (e.g. 0n: a seller payable may not go
   * below zero). Undefined: no limit.
   */
  floorMinor?: bigint;
}

export type Direction = 'debit' | 'credit';

export interface PostingInput {
  account: AccountSpec;
  direction: Direction;
  /** Strictly positive, minor units of the account's currency. */
  amountMinor: bigint;
}

export interface EntryInput {
  /**
   * Idempotency reference, unique per entry (e.g. `payin:po_123:success`). Posting the same reference again
   * returns the first entry; with different contents it is a `ledger_reference_conflict`.
   */
  reference: string;
  /** The business event, e.g. `payin.succeeded`, `payout.started` (see docs/ledger.md). */
  kind: string;
  /** Why, for a person reading the journal. */
  description: string;
  /** When the event happened in the business sense; defaults to now. */
  effectiveAt?: Date;
  postings: PostingInput[];
  /** Small JSON context (ids of the payment order, payout, exception…). */
  metadata?: Record<string, unknown>;
}

export interface PostedEntry {
  entryId: string;
  /** False when the reference existed already and the first entry was returned. */
  created: boolean;
}

export interface AccountBalance {
  code: string;
  type: AccountType;
  currency: string;
  ownerId: string | null;
  debitsMinor: bigint;
  creditsMinor: bigint;
  /** On the normal side: credits − debits for liability/revenue/equity, debits − credits for asset/expense. */
  balanceMinor: bigint;
  version: bigint;
}

/** One posting as stored: where it sits in its account's chain and the balance it left. */
export interface JournalPosting {
  line: number;
  accountCode: string;
  accountType: AccountType;
  currency: string;
  direction: Direction;
  amountMinor: bigint;
  /** Position in the account's posting chain, from 1. */
  seq: bigint;
  /** The account's normal-side balance right after this posting. */
  balanceAfterMinor: bigint;
  postedAt: Date;
}

/** A journal entry as stored, with its postings in line order. */
export interface JournalEntry {
  entryId: string;
  reference: string;
  kind: string;
  description: string;
  effectiveAt: Date;
  createdAt: Date;
  metadata: Record<string, unknown> | null;
  /** The entry this one reverses, when it is a reversal. */
  reversesEntryId: string | null;
  postings: JournalPosting[];
}
