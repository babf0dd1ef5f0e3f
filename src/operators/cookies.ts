/** The dashboard's cookies: the HttpOnly session and the CSRF token the page reads and echoes on writes. */
export const SESSION_COOKIE = 'bursar_session';
export const CSRF_COOKIE = 'bursar_csrf';

const TOKEN = /^[A-Za-z0-9_-]{20,100}$/;

/** The value of cookie `name` in a Cookie header, when it is a well-formed token; undefined otherwise. */
export function cookieValue(header: string | undefined, name: string): string | undefined {
  if (header === undefined || header.length > 8192) return undefined;
  for (const part of header.split(';')) {
    const index = part.indexOf('=');
    if (index < 0 || part.slice(0, index).trim() !== name) continue;
    const value = part.slice(index + 1).trim();
    return TOKEN.test(value) ? value : undefined;
  }
  return undefined;
}

function attributes(maxAgeSeconds: number, secure: boolean, httpOnly: boolean): string {
  return [
    'Path=/',
    `Max-Age=${maxAgeSeconds}`,
    'SameSite=Strict',
    ...(httpOnly ? ['HttpOnly'] : []),
    ...(secure ? ['Secure'] : []),
  ].join('; ');
}

export function sessionCookies(
  signed: { token: string; csrfToken: string },
  ttlSeconds: number,
  secure: boolean,
): string[] {
  return [
    `${SESSION_COOKIE}=${signed.token}; ${attributes(ttlSeconds, secure, true)}`,
    `${CSRF_COOKIE}=${signed.csrfToken}; ${attributes(ttlSeconds, secure, false)}`,
  ];
}

export function clearedCookies(secure: boolean): string[] {
  return [
    `${SESSION_COOKIE}=; ${attributes(0, secure, true)}`,
    `${CSRF_COOKIE}=; ${attributes(0, secure, false)}`,
  ];
}
