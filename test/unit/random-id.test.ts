import { describe, expect, it } from 'vitest';
import { randomBase32, randomBytesPooled, randomHexId } from '../../src/random-id.ts';
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

describe('the pooled random bytes ids are made of', () => {
  it('never hand out the same bytes twice, across pool refills and for draws larger than the pool', () => {
    const seen = new Set<string>();
    for (let i = 0; i < 2_000; i++) {
      const bytes = randomBytesPooled(12);
      expect(bytes.length).toBe(12);
      seen.add(bytes.toString('hex'));
    }
    expect(seen.size).toBe(2_000);
    const big = randomBytesPooled(10_000);
    expect(big.length).toBe(10_000);
    expect(new Set(big).size).toBeGreaterThan(200);
  });

  it('return copies: changing one drawn buffer changes no later draw', () => {
    const first = randomBytesPooled(8);
    first.fill(0);
    const next = randomBytesPooled(8);
    expect(next.equals(Buffer.alloc(8))).toBe(false);
  });

  it('make base-32 tokens of the requested length from the lower-case alphabet only', () => {
    for (let i = 0; i < 1_000; i++) expect(randomBase32(24)).toMatch(/^[a-z2-7]{24}$/);
  });
});
