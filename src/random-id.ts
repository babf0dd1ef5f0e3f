import { randomBytes } from 'node:crypto';

/** The longest run of decimal digits a generated id may hold: a card number is 13–19 digits. */
const CARD_LIKE_RUN = /\d{13}/;

/**
 * A random id `<prefix>_<hex>` whose hex part never holds a run of 13 or more decimal digits. The log scrubber
 * (src/log.ts) masks any Luhn-valid run of 13–19 digits, letters around it or not, so a hex id that happened to
 * hold one would reach the logs masked and could no longer be traced; this keeps our own ids traceable.
 */
export function randomHexId(prefix: string, bytes: number): string {
  for (;;) {
    const hex = randomBytes(bytes).toString('hex');
    if (!CARD_LIKE_RUN.test(hex)) return `${prefix}_${hex}`;
  }
}
