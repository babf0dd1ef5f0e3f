/** Dashboard sign-in settings (docs/dashboard.md). */
export interface OperatorsConfig {
  /** How long a session lasts from sign-in. */
  sessionTtlSeconds: number;
  /** Failed sign-ins for one address within the window before further attempts are refused. */
  maxFailures: number;
  windowSeconds: number;
}

function whole(raw: string | undefined, fallback: number, name: string, min: number, max: number): number {
  if (raw === undefined || raw === '') return fallback;
  const value = /^\d{1,9}$/.test(raw) ? Number.parseInt(raw, 10) : Number.NaN;
  if (!(value >= min && value <= max))
    throw new Error(`${name} must be a whole number from ${min} to ${max}`);
  return value;
}

/** BURSAR_DASHBOARD_SESSION_HOURS (default 8), BURSAR_SIGNIN_MAX_FAILURES (default 5), BURSAR_SIGNIN_WINDOW_MINUTES (15). */
export function loadOperatorsConfig(env: NodeJS.ProcessEnv = process.env): OperatorsConfig {
  return {
    sessionTtlSeconds:
      whole(env.BURSAR_DASHBOARD_SESSION_HOURS, 8, 'BURSAR_DASHBOARD_SESSION_HOURS', 1, 720) * 3600,
    maxFailures: whole(env.BURSAR_SIGNIN_MAX_FAILURES, 5, 'BURSAR_SIGNIN_MAX_FAILURES', 1, 1000),
    windowSeconds: whole(env.BURSAR_SIGNIN_WINDOW_MINUTES, 15, 'BURSAR_SIGNIN_WINDOW_MINUTES', 1, 1440) * 60,
  };
}
