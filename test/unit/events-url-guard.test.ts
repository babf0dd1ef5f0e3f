import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { isPrivateAddress, signatureHeader } from '../../src/events/index.ts';
import { verifySignature } from '../../src/webhooks/signature.ts';

describe('the SSRF guard’s address check', () => {
  it('refuses every loopback, private, link-local, CGNAT and unspecified address, v4, v6 and v4-mapped', () => {
    for (const address of [
      '127.0.0.1',
      '127.255.0.9',
      '10.0.0.1',
      '172.16.5.4',
      '172.31.255.255',
      '192.168.1.1',
      '169.254.169.254',
      '100.64.0.1',
      '0.0.0.0',
      '224.0.0.1',
      '::1',
      '::',
      'fd00::1',
      'fe80::1',
      '::ffff:127.0.0.1',
      '::ffff:10.1.2.3',
      'not-an-ip',
    ]) {
      expect(isPrivateAddress(address), address).toBe(true);
    }
  });

  it('lets public addresses through', () => {
    for (const address of ['93.184.216.34', '8.8.8.8', '172.32.0.1', '2606:4700::1111', '::ffff:8.8.8.8']) {
      expect(isPrivateAddress(address), address).toBe(false);
    }
  });

  it('judges every address of 10.0.0.0/8 private (property)', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 255 }),
        fc.integer({ min: 0, max: 255 }),
        fc.integer({ min: 0, max: 255 }),
        (a, b, c) => isPrivateAddress(`10.${a}.${b}.${c}`),
      ),
    );
  });
});

describe('the Bursar-Signature of an endpoint with a rolled secret', () => {
  it('verifies under each of its secrets and under no other (property)', () => {
    fc.assert(
      fc.property(
        fc.string({ maxLength: 200 }),
        fc.integer({ min: 1_700_000_000, max: 1_900_000_000 }),
        (body, t) => {
          const header = signatureHeader(body, ['whsec_new_secret', 'whsec_old_secret'], t);
          return (
            verifySignature(body, header, 'whsec_new_secret', t) &&
            verifySignature(body, header, 'whsec_old_secret', t) &&
            !verifySignature(body, header, 'whsec_other', t)
          );
        },
      ),
    );
  });
});
