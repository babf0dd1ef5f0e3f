import path from 'node:path';
import { loadHttpLimits, type HttpLimits } from './http/limits.ts';

/** Everything the process reads from its environment, parsed once and passed down explicitly. */
export interface Config {
  host: string;
  port: number;
  sandboxPort: number;
  /** An external PostgreSQL; when absent an embedded server runs under `dataDir`. */
  databaseUrl: string | undefined;
  dataDir: string;
  /** Fixes the value of the development API key created at first start. */
  apiKey: string | undefined;
  logLevel: string;
  /** After SIGTERM/SIGINT: how long in-flight requests and the work in hand may take before they are cut. */
  shutdownGraceMs: number;
  /** How long the database may stay unreachable after start before the process gives up and exits (69). */
  dbOutageLimitMs: number;
  /** Rate limits, body limits, timeouts and trusted proxies of the API (src/http/limits.ts). */
  httpLimits: HttpLimits;
  /** Serve the API over TLS with these files (PEM); undefined for plain HTTP (e.g. behind a TLS proxy). */
  tls: { certFile: string; keyFile: string } | undefined;
}

function tlsFromEnv(env: NodeJS.ProcessEnv): Config['tls'] {
  const certFile = env.BURSAR_TLS_CERT_FILE || undefined;
  const keyFile = env.BURSAR_TLS_KEY_FILE || undefined;
  if (certFile === undefined && keyFile === undefined) return undefined;
  if (certFile === undefined || keyFile === undefined) {
    throw new Error('BURSAR_TLS_CERT_FILE and BURSAR_TLS_KEY_FILE go together: set both, or neither');
  }
  return { certFile: path.resolve(certFile), keyFile: path.resolve(keyFile) };
}

function intFromEnv(env: NodeJS.ProcessEnv, name: string, fallback: number): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  if (!/^\d{1,5}$/.test(raw)) throw new Error(`${name} must be a port number, got "${raw}"`);
  const value = Number.parseInt(raw, 10);
  if (value > 65535) throw new Error(`${name} must be at most 65535, got ${value}`);
  return value;
}

function msFromEnv(env: NodeJS.ProcessEnv, name: string, fallback: number, max: number): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  if (!/^\d{1,9}$/.test(raw) || Number.parseInt(raw, 10) > max)
    throw new Error(`${name} must be milliseconds, 0–${max}, got "${raw}"`);
  return Number.parseInt(raw, 10);
}

export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  return {
    host: env.HOST || '127.0.0.1',
    port: intFromEnv(env, 'PORT', 8080),
    sandboxPort: intFromEnv(env, 'SANDBOX_PORT', 8081),
    databaseUrl: env.DATABASE_URL || undefined,
    dataDir: path.resolve(env.BURSAR_DATA_DIR || '.bursar'),
    apiKey: env.BURSAR_API_KEY || undefined,
    logLevel: env.LOG_LEVEL || (env.NODE_ENV === 'test' ? 'silent' : 'info'),
    shutdownGraceMs: msFromEnv(env, 'BURSAR_SHUTDOWN_GRACE_MS', 15_000, 600_000),
    dbOutageLimitMs: msFromEnv(env, 'BURSAR_DB_OUTAGE_LIMIT_MS', 300_000, 86_400_000),
    httpLimits: loadHttpLimits(env),
    tls: tlsFromEnv(env),
  };
}
