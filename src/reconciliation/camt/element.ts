/**
 * What an element reader is given when an element closes: its path relative to the nearest element being built
 * (`''` for that element itself, `Sts/Cd`, `Refs/EndToEndId`, …), its trimmed text, the line of its start tag and
 * its `Ccy` attribute (for an `Amt`).
 */
export interface ClosedElement {
  path: string;
  value: string;
  line: number;
  currencyAttr: string | undefined;
}

/** An `Amt` seen but not yet checked: its text, `Ccy` and line, checked when the element holding it closes. */
export interface AmountDraft {
  amountText: string | undefined;
  amountLine: number;
  currency: string | undefined;
}

/** Keeps the `Amt` that just closed on the draft it belongs to. */
export function takeAmount(draft: AmountDraft, closed: ClosedElement): void {
  draft.amountText = closed.value;
  draft.currency = closed.currencyAttr;
  draft.amountLine = closed.line;
}
