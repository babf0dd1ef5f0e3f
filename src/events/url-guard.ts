import { lookup as dnsLookup, type LookupAddress } from 'node:dns';
import { BlockList, isIP } from 'node:net';
import { AppError } from '../errors.ts';

/**
 * The SSRF guard of webhook endpoints: an endpoint's URL must be http(s), carry no credentials, and resolve only to
 * public addresses (not loopback, private, link-local, CGNAT, multicast or unspecified), unless
 * BURSAR_WEBHOOK_ALLOW_PRIVATE_URLS=true. It is checked on the parsed URL when an endpoint is saved, and again on
 * the address each send actually connects to (`guardedLookup`), so a DNS answer that changes later is caught too.
 */
const BLOCKED = new BlockList();
for (const [net, prefix] of [
  ['0.0.0.0', 8],
  ['10.0.0.0', 8],
  ['100.64.0.0', 10],
  ['127.0.0.0', 8],
  ['169.254.0.0', 16],
  ['172.16.0.0', 12],
  ['192.0.0.0', 24],
  ['192.168.0.0', 16],
  ['198.18.0.0', 15],
  ['224.0.0.0', 4],
  ['240.0.0.0', 4],
] as const) {
  BLOCKED.addSubnet(net, prefix, 'ipv4');
}
for (const [net, prefix] of [
  ['::', 128],
  ['::1', 128],
  ['fc00::', 7],
  ['fe80::', 10],
  ['ff00::', 8],
  ['64:ff9b::', 96],
] as const) {
  BLOCKED.addSubnet(net, prefix, 'ipv6');
}

/** True when `address` (an IP literal) is not publicly routable. IPv4-mapped IPv6 is judged as its IPv4. */
export function isPrivateAddress(address: string): boolean {
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
  if (mapped?.[1] !== undefined) return BLOCKED.check(mapped[1], 'ipv4');
  const family = isIP(address);
  if (family === 4) return BLOCKED.check(address, 'ipv4');
  if (family === 6) return BLOCKED.check(address, 'ipv6');
  return true;
}

function refuse(message: string): never {
  throw new AppError('webhook_url_refused', message, { field: 'url' });
}

/** The URL parsed and checked for shape (scheme, credentials, length); 400 `webhook_url_refused` otherwise. */
export function parseEndpointUrl(raw: string): URL {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    refuse('url: not a valid URL');
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') refuse('url: must be http or https');
  if (url.username !== '' || url.password !== '') refuse('url: must not carry credentials');
  if (raw.length > 2048) refuse('url: longer than 2048 characters');
  return url;
}

function lookupAll(host: string): Promise<LookupAddress[]> {
  return new Promise((resolve, reject) => {
    dnsLookup(host, { all: true }, (error, addresses) => (error ? reject(error) : resolve(addresses)));
  });
}

/** Checks a URL for saving: its shape, and (unless private URLs are allowed) that every address it resolves to is public. */
export async function checkEndpointUrl(raw: string, allowPrivate: boolean): Promise<string> {
  const url = parseEndpointUrl(raw);
  if (allowPrivate) return url.toString();
  const host = url.hostname.replace(/^\[|\]$/g, '');
  let addresses: LookupAddress[];
  try {
    addresses = isIP(host) ? [{ address: host, family: isIP(host) }] : await lookupAll(host);
  } catch {
    refuse(`url: the host ${host.slice(0, 100)} does not resolve`);
  }
  if (addresses.length === 0 || addresses.some((a) => isPrivateAddress(a.address))) {
    refuse('url: resolves to a loopback, private or otherwise non-public address');
  }
  return url.toString();
}

type LookupCallback = (
  error: NodeJS.ErrnoException | null,
  address: string | LookupAddress[],
  family?: number,
) => void;

/**
 * A `lookup` for node:http(s) requests that refuses to connect to a non-public address: the check is on the address
 * the socket will use, after resolution, so DNS rebinding cannot slip past the check made when the URL was saved.
 */
export function guardedLookup(allowPrivate: boolean) {
  return (host: string, options: { all?: boolean }, callback: LookupCallback): void => {
    dnsLookup(host, { all: true }, (error, addresses) => {
      if (error) return callback(error, []);
      const bad = !allowPrivate && addresses.some((a) => isPrivateAddress(a.address));
      if (bad || addresses.length === 0) {
        const refused = new Error(
          `refused to connect to a non-public address for ${host}`,
        ) as NodeJS.ErrnoException;
        refused.code = 'ESSRF';
        return callback(refused, []);
      }
      if (options.all === true) return callback(null, addresses);
      const first = addresses[0];
      return first === undefined
        ? callback(new Error('no address'), [])
        : callback(null, first.address, first.family);
    });
  };
}
