/**
 * The dashboard's way to Bursar: the same API routes an integration calls, authenticated by the operator's session
 * cookie, with the CSRF token (from the bursar_csrf cookie) on every write and an Idempotency-Key on every POST.
 */
export interface ApiErrorBody {
  error: { code: string; message: string; request_id: string; field?: string };
}

export class ApiError extends Error {
  readonly status: number;
  readonly code: string;
  readonly requestId: string | undefined;
  constructor(status: number, body: Partial<ApiErrorBody> | undefined) {
    super(body?.error?.message ?? `request failed with ${status}`);
    this.status = status;
    this.code = body?.error?.code ?? 'unknown';
    this.requestId = body?.error?.request_id;
  }
}

function csrfToken(): string | undefined {
  const found = document.cookie
    .split(';')
    .map((part) => part.trim())
    .find((part) => part.startsWith('bursar_csrf='));
  return found?.slice('bursar_csrf='.length) || undefined;
}

export type Query = Record<string, string | number | boolean | undefined>;

export function withQuery(path: string, query: Query = {}): string {
  const params = new URLSearchParams();
  for (const [key, value] of Object.entries(query)) {
    if (value !== undefined && value !== '') params.set(key, String(value));
  }
  const text = params.toString();
  return text === '' ? path : `${path}?${text}`;
}

/** Listeners told when a request finds the session gone (the app shows the sign-in page). */
const signedOutListeners = new Set<() => void>();
export function onSignedOut(listener: () => void): () => void {
  signedOutListeners.add(listener);
  return () => signedOutListeners.delete(listener);
}

export async function api<T>(
  method: string,
  path: string,
  body?: unknown,
  headers: Record<string, string> = {},
): Promise<T> {
  const write = method !== 'GET' && method !== 'HEAD';
  const token = csrfToken();
  const response = await fetch(path, {
    method,
    credentials: 'same-origin',
    headers: {
      accept: 'application/json',
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      ...(write && token !== undefined ? { 'x-csrf-token': token } : {}),
      ...(method === 'POST' ? { 'idempotency-key': crypto.randomUUID() } : {}),
      ...headers,
    },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  if (response.status === 204) return undefined as T;
  const parsed: unknown = await response.json().catch(() => undefined);
  if (!response.ok) {
    if (response.status === 401 && !path.endsWith('/dashboard/api/session')) {
      for (const listener of signedOutListeners) listener();
    }
    throw new ApiError(response.status, parsed as Partial<ApiErrorBody> | undefined);
  }
  return parsed as T;
}

export const get = <T>(path: string, query?: Query) => api<T>('GET', withQuery(path, query));
export const post = <T>(path: string, body?: unknown) => api<T>('POST', path, body ?? {});
export const patch = <T>(path: string, body: unknown) => api<T>('PATCH', path, body);

export interface List<T> {
  object: 'list';
  data: T[];
  has_more: boolean;
}

export type Role = 'viewer' | 'operator' | 'admin';

export interface Operator {
  id: string;
  email: string;
  role: Role;
}

export interface Session {
  operator: Operator;
  csrf_token?: string;
}
