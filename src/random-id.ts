import { randomFillSync } from 'node:crypto';

/** The longest run of decimal digits a generated id may hold: a card number is 13–19 digits. */
const CARD_LIKE_RUN = /\d{13}/;

/**
 * Random bytes from the operating system's CSPRNG, drawn from a pool refilled 4 KiB at a time: one system call
 * per few hundred ids instead of one per id (a payout run makes two ids per payout). The bytes are the same
 * quality as `randomBytes`; each is handed out once.
 */
const POOL_BYTES = 4096;
const pool = Buffer.alloc(POOL_BYTES);
let poolOffset = POOL_BYTES;

export function randomBytesPooled(length: number): Buffer {
  if (length > POOL_BYTES) return randomFillSync(Buffer.alloc(length));
  if (poolOffset + length > POOL_BYTES) {
    randomFillSync(pool);
    poolOffset = 0;
  }
  const bytes = Buffer.from(pool.subarray(poolOffset, poolOffset + length));
  poolOffset += length;
  return bytes;
}

/**
 * A random id `<prefix>_<hex>` whose hex part never holds a run of 13 or more decimal digits. The log scrubber
 * (src/log.ts) masks any Luhn-valid run of 13–19 digits, letters around it or not, so a hex id that happened to
 * hold one would reach the logs masked and could no longer be traced; this keeps our own ids traceable.
 */
export function randomHexId(prefix: string, bytes: number): string {
  for (;;) {
    const hex = randomBytesPooled(bytes).toString('hex');
    if (!CARD_LIKE_RUN.test(hex)) return `${prefix}_${hex}`;
  }
}

const BASE32 = 'abcdefghijklmnopqrstuvwxyz234567';

/** `length` random characters of a lower-case base-32 alphabet (5 bits each; no digits 0, 1, 8 or 9). */
export function randomBase32(length: number): string {
  let out = '';
  for (const byte of randomBytesPooled(length)) out += BASE32[byte % 32] ?? 'a';
  return out;
}
