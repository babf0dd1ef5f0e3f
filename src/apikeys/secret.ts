import { createHash, randomBytes } from 'node:crypto';
import { randomHexId } from '../random-id.ts';

/** Secrets look like `bsk_<32 base62-ish chars>`: recognisable in a leak scan, 192 random bits. */
export function generateSecret(): string {
  return `bsk_${randomBytes(24).toString('base64url')}`;
}

export function generateKeyId(): string {
  return randomHexId('key', 12);
}

export function hashSecret(secret: string): Buffer {
  return createHash('sha256').update(secret, 'utf8').digest();
}

export function hintOf(secret: string): string {
  return secret.slice(-4);
}
