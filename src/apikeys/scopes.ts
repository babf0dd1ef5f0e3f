/** The scopes an API key can carry. A route names the one it needs. */
export const SCOPES = ['payments:write', 'payments:read', 'ops'] as const;
export type Scope = (typeof SCOPES)[number];

export function isScope(value: string): value is Scope {
  return (SCOPES as readonly string[]).includes(value);
}
