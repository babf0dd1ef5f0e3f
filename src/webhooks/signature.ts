import { createHmac, timingSafeEqual } from 'node:crypto';

/**
 * Webhook signatures in Stripe's scheme, which Bursar uses for the webhooks it sends too:
 * `t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<raw body>" keyed by the secret>`.
 */
export function signPayload(payload: string, secret: string, timestampSeconds: number): string {
  const signature = createHmac('sha256', secret)
    .update(`${timestampSeconds}.${payload}`, 'utf8')
    .digest('hex');
  return `t=${timestampSeconds},v1=${signature}`;
}

/** True when `header` carries a v1 signature of `payload` by `secret` no older than `toleranceSeconds`. */
export function verifySignature(
  payload: string,
  header: string,
  secret: string,
  nowSeconds: number,
  toleranceSeconds = 300,
): boolean {
  let timestamp: number | undefined;
  const candidates: string[] = [];
  for (const part of header.split(',')) {
    const [key, value] = part.split('=', 2);
    if (key === 't' && value !== undefined && /^\d{1,12}$/.test(value))
      timestamp = Number.parseInt(value, 10);
    if (key === 'v1' && value !== undefined) candidates.push(value);
  }
  if (timestamp === undefined || nowSeconds - timestamp > toleranceSeconds) return false;
  const expected = Buffer.from(signPayload(payload, secret, timestamp).split('v1=')[1] ?? '', 'utf8');
  return candidates.some((candidate) => {
    const given = Buffer.from(candidate, 'utf8');
    return given.length === expected.length && timingSafeEqual(given, expected);
  });
}
