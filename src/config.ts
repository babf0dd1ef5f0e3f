import path from 'node:path';

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
}

function intFromEnv(env: NodeJS.ProcessEnv, name: string, fallback: number): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  if (!/^\d{1,5}$/.test(raw)) throw new Error(`${name} must be a port number, got "${raw}"`);
  const value = Number.parseInt(raw, 10);
  if (value > 65535) throw new Error(`${name} must be at most 65535, got ${value}`);
  return value;
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
  };
}
