import { describe, expect, it } from 'vitest';
import { randomHexId } from '../../src/random-id.ts';
import { scrubCardNumbers } from '../../src/log.ts';

describe('our generated ids', () => {
  it('never hold a card-like run of 13 or more digits, so the log scrubber never masks one', () => {
    for (let i = 0; i < 20_000; i++) {
      const id = randomHexId('key', 12);
      expect(id).toMatch(/^key_[0-9a-f]{24}$/);
      expect(id).not.toMatch(/\d{13}/);
      expect(scrubCardNumbers(id)).toBe(id);
    }
    // What a plain hex id once looked like in an access log: a Luhn-valid 16-digit run, masked.
    expect(scrubCardNumbers('key_0ea8db0618175647672333ad')).not.toBe('key_0ea8db0618175647672333ad');
  });
});
