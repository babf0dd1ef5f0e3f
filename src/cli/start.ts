import { ensureDevKey } from '../apikeys/index.ts';
import { backgroundServices, composeModules, createContext, routeModules } from '../compose.ts';
import type { Config } from '../config.ts';
import type { AppContext } from '../context.ts';
import { openDatabase } from '../db/database.ts';
import { rideThroughConnectionLoss } from '../db/pool.ts';
import { buildApp } from '../http/app.ts';
import { createReadiness } from '../http/health.ts';
import type { Logger } from '../log.ts';
import type { BackgroundService } from '../services.ts';
import { parse, UsageError } from './args.ts';

export const ROLES = ['all', 'api', 'worker', 'sandbox'] as const;
export type Role = (typeof ROLES)[number];

/**
 * A background service the caller of the start function adds for some roles: the launcher (bin/bursar.mjs)
 * passes the sandbox PSP this way, created (and its code loaded) only when the role asks for it, so the product
 * never imports it. Extra services start before the product's own (a worker may call the PSP at once).
 */
export interface ExtraService {
  roles: readonly Role[];
  create(ctx: AppContext): BackgroundService | Promise<BackgroundService>;
}

/**
 * The exit codes of `bursar start` (README.md, "Exit codes"): 0 after a clean drain, 1 when it could not start,
 * 2 on a usage error, 69 when a background service or the server failed for good after start, 78 when the
 * configuration is refused (src/config-check.ts), 130 on a second signal.
 */
export const EXIT_CODES = {
  ok: 0,
  startFailed: 1,
  usage: 2,
  serviceFailed: 69,
  config: 78,
  secondSignal: 130,
} as const;

export interface Running {
  apiUrl: string | undefined;
  devKey: string | undefined;
  /** Lines the background services want printed at start (the sandbox's URL, say). */
  extraLines: string[];
  /** Settles when a background service, the HTTP server or the database fails for good after start. */
  failed: Promise<{ source: string; error: Error }>;
  /**
   * Drains: `/readyz` turns 503 `draining` at once, the server stops accepting and finishes the requests in
   * flight (cut after the grace period), the workers finish the work in hand, then the database closes last.
   */
  stop(): Promise<void>;
}

/** How often the process looks at its database and services while all is well; failures back off to 30 s. */
const WATCH_INTERVAL_MS = 2_000;
const WATCH_MAX_BACKOFF_MS = 30_000;

async function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      promise,
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`${what}: no answer in ${ms} ms`)), ms);
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

interface WatchDeps {
  config: Config;
  log: Logger;
  db: { pool: { query(sql: string): Promise<unknown> } };
  services: BackgroundService[];
  readiness: () => ReturnType<typeof createReadiness>;
  reportFailure: (source: string, error: Error) => void;
  isStopping: () => boolean;
}

/**
 * The watch: the database and each service's health, retried with backoff while failing, logged on every
 * change, shown by /readyz; a database unreachable for longer than BURSAR_DB_OUTAGE_LIMIT_MS is permanent.
 */
function startWatch(deps: WatchDeps): { stop(): Promise<void> } {
  const { config, log, db, services, readiness, reportFailure } = deps;
  let watchTimer: NodeJS.Timeout | undefined;
  let watching: Promise<void> | undefined;
  let outageSince: number | undefined;
  let backoffMs = WATCH_INTERVAL_MS;
  const lastReason = new Map<string, string | undefined>();
  const note = (source: string, reason: string | undefined) => {
    if (lastReason.get(source) === reason) return;
    lastReason.set(source, reason);
    readiness().report(source, reason);
    if (reason === undefined) log.info({ source }, 'recovered');
    else log.warn({ source, reason }, 'degraded; retrying with backoff');
  };
  const watch = async () => {
    let databaseReason: string | undefined;
    try {
      await within(db.pool.query('SELECT 1'), 5_000, 'database');
    } catch (error) {
      databaseReason = `unreachable: ${(error as Error).message}`;
    }
    note('database', databaseReason);
    for (const service of services) note(service.name, service.health?.());
    if (databaseReason === undefined) {
      outageSince = undefined;
      backoffMs = WATCH_INTERVAL_MS;
      return;
    }
    outageSince ??= Date.now();
    backoffMs = Math.min(backoffMs * 2, WATCH_MAX_BACKOFF_MS);
    if (Date.now() - outageSince >= config.dbOutageLimitMs) {
      reportFailure(
        'database',
        new Error(`unreachable for more than ${config.dbOutageLimitMs} ms (BURSAR_DB_OUTAGE_LIMIT_MS)`),
      );
    }
  };
  const scheduleWatch = () => {
    if (deps.isStopping()) return;
    // While the database is out, the backoff never carries the next look past the outage limit.
    const untilLimitMs =
      outageSince === undefined
        ? backoffMs
        : Math.max(250, outageSince + config.dbOutageLimitMs - Date.now());
    watchTimer = setTimeout(
      () => {
        watching = watch().finally(scheduleWatch);
      },
      Math.min(backoffMs, untilLimitMs),
    );
    watchTimer.unref();
  };
  scheduleWatch();
  return {
    stop: async () => {
      clearTimeout(watchTimer);
      await watching;
    },
  };
}

/**
 * Keeps accepting for a while, /readyz saying draining, so that load balancers stop sending: until no request is
 * in flight, or half the grace period. Then stops accepting (a request arriving on a kept-alive connection gets a
 * whole 503 with `Connection: close`), lets the requests in flight finish, and cuts what is left when the grace
 * period is over.
 */
async function drainHttp(
  app: Awaited<ReturnType<typeof buildApp>>,
  graceMs: number,
  log: Logger,
  inFlight: () => number,
): Promise<void> {
  const deadline = Date.now() + graceMs;
  const stopAccepting = Date.now() + graceMs / 2;
  while (inFlight() > 0 && Date.now() < stopAccepting)
    await new Promise((resolve) => setTimeout(resolve, 20));
  const server = app.server;
  const cut = setTimeout(
    () => {
      log.warn({ graceMs, inFlight: inFlight() }, 'shutdown grace period over: closing the connections left');
      server.closeAllConnections();
    },
    Math.max(0, deadline - Date.now()),
  );
  try {
    await app.close();
  } finally {
    clearTimeout(cut);
  }
}

/** `failed` settles with the first failure reported while the process is not stopping. */
function failureSignal(isStopping: () => boolean): {
  failed: Running['failed'];
  reportFailure: (source: string, error: Error) => void;
} {
  let reportFailure: (source: string, error: Error) => void = () => undefined;
  const failed = new Promise<{ source: string; error: Error }>((resolve) => {
    reportFailure = (source, error) => {
      if (!isStopping()) resolve({ source, error });
    };
  });
  return { failed, reportFailure };
}

/** Counts the requests in flight; a server that closes or fails while the process is not stopping is a failure. */
function watchServer(
  app: Awaited<ReturnType<typeof buildApp>>,
  traffic: { inFlight: number },
  reportFailure: (source: string, error: Error) => void,
): void {
  // A server that closes or fails while the process is not stopping would leave it alive and deaf.
  const server = app.server;
  server.on('request', (_request, response) => {
    traffic.inFlight++;
    response.on('close', () => traffic.inFlight--);
  });
  server.on('close', () => reportFailure('http server', new Error('the HTTP server closed')));
  server.on('error', (error) => reportFailure('http server', error));
}

/**
 * Starts the extra services of the role, then the product's own; each started one is pushed on `started`, so that
 * a failure part way can stop those already running.
 */
async function startServices(
  ctx: AppContext,
  role: Role,
  extraServices: readonly ExtraService[],
  productServices: () => BackgroundService[],
  started: BackgroundService[],
  reportFailure: (source: string, error: Error) => void,
): Promise<void> {
  const extras: BackgroundService[] = [];
  for (const extra of extraServices) if (extra.roles.includes(role)) extras.push(await extra.create(ctx));
  for (const service of [...extras, ...productServices()]) {
    service.onFailure?.((error) => reportFailure(service.name, error));
    await service.start();
    started.push(service);
  }
}

/** The workers finish (or hand back) the work in hand, in reverse start order: the sandbox PSP last. */
async function stopServices(services: BackgroundService[], graceMs: number, log: Logger): Promise<void> {
  for (const service of [...services].reverse()) {
    await within(service.stop(), graceMs + 10_000, `stopping ${service.name}`).catch((error: unknown) =>
      log.error({ err: error, service: service.name }, 'a service did not stop cleanly'),
    );
  }
}

/** A start that failed part way: closes what was opened, quietly, the database last. */
async function abandonStart(
  app: Awaited<ReturnType<typeof buildApp>> | undefined,
  services: BackgroundService[],
  db: Awaited<ReturnType<typeof openDatabase>>,
): Promise<void> {
  await app?.close().catch(() => undefined);
  for (const service of services.reverse()) await service.stop().catch(() => undefined);
  await db.close().catch(() => undefined);
}

/** The server's database options; its connections show in pg_stat_activity as bursar-server (`all`) or bursar-<role>. */
function serverDatabase(role: Role): Parameters<typeof openDatabase>[2] {
  return {
    role: 'server',
    poolSize: 20,
    applicationName: role === 'all' ? 'bursar-server' : `bursar-${role}`,
  };
}

/**
 * Starts the roles of this process: `all` (the default) runs the API, the workers and the sandbox PSP in one
 * process; `api`, `worker` and `sandbox` run one each so that many processes can share one PostgreSQL. The
 * sandbox PSP comes from the caller, as an extra service (the launcher passes it; the product does not know it).
 */
export async function startServer(
  config: Config,
  log: Logger,
  role: Role,
  extraServices: readonly ExtraService[] = [],
): Promise<Running> {
  const db = await openDatabase(config, log, serverDatabase(role));
  const ctx = createContext(config, db.pool, log);
  const modules = composeModules(ctx);
  const services: BackgroundService[] = [];
  let app: Awaited<ReturnType<typeof buildApp>> | undefined;
  let apiUrl: string | undefined;
  let devKey: string | undefined;
  let stopping = false;
  const traffic = { inFlight: 0 };
  const { failed, reportFailure } = failureSignal(() => stopping);
  // Worker-only processes have no /readyz, but keep the same bookkeeping for their logs.
  const localReadiness = createReadiness();
  const readiness = () => app?.readiness ?? localReadiness;
  try {
    if (role === 'all' || role === 'api') {
      const key = await ensureDevKey(
        db.pool,
        config.apiKey,
        config.databaseUrl === undefined ? config.dataDir : undefined,
      );
      devKey = key.secret;
      app = await buildApp(ctx, routeModules(modules));
      await app.listen({ host: config.host, port: config.port });
      const scheme = config.tls === undefined ? 'http' : 'https';
      apiUrl = `${scheme}://${config.host.includes(':') ? `[${config.host}]` : config.host}:${config.port}`;
      watchServer(app, traffic, reportFailure);
    }
    await startServices(
      ctx,
      role,
      extraServices,
      () => backgroundServices(modules, role),
      services,
      reportFailure,
    );
  } catch (error) {
    stopping = true;
    await abandonStart(app, services, db);
    throw error;
  }

  const watcher = startWatch({
    config,
    log,
    db,
    services,
    readiness,
    reportFailure,
    isStopping: () => stopping,
  });

  return {
    apiUrl,
    devKey,
    extraLines: services.flatMap((service) => service.describe?.() ?? []),
    failed,
    stop: async () => {
      stopping = true;
      readiness().drain();
      await watcher.stop();
      const graceMs = config.shutdownGraceMs;
      if (app) await drainHttp(app, graceMs, log, () => traffic.inFlight);
      await stopServices(services, graceMs, log);
      // The database last: the embedded PostgreSQL stops after everything that uses it.
      await db.close();
    },
  };
}

/**
 * Makes sure the process ends with `code` even when a handle someone forgot (a timer, a socket) would keep it
 * alive: a process that neither works nor exits is what a supervisor cannot handle.
 */
function exitSoon(code: number): void {
  setTimeout(() => process.exit(code), 3_000).unref();
}

export async function startCommand(
  argv: string[],
  config: Config,
  log: Logger,
  out: (line: string) => void,
  extraServices: readonly ExtraService[] = [],
): Promise<number> {
  const { values } = parse(argv, { role: { type: 'string', default: 'all' } });
  const role = values.role;
  if (!(ROLES as readonly string[]).includes(role))
    throw new UsageError(`--role must be one of ${ROLES.join(', ')}`);
  rideThroughConnectionLoss((error) =>
    log.warn({ err: error }, 'a background database call lost its connection; the job is retried'),
  );
  let running: Running;
  try {
    running = await startServer(config, log, role as Role, extraServices);
  } catch (error) {
    log.error({ err: error }, 'could not start');
    process.stderr.write(`bursar: could not start: ${(error as Error).message}\n`);
    exitSoon(EXIT_CODES.startFailed);
    return EXIT_CODES.startFailed;
  }
  printBanner(out, config, role, running);

  const code = await new Promise<number>((resolve) => {
    let stopping = false;
    const shutdown = (exitCode: number) => {
      stopping = true;
      // However the drain goes, the process ends: the grace period, then time for the workers and the database.
      setTimeout(() => {
        log.error('shutdown took too long: exiting now');
        process.exit(exitCode === EXIT_CODES.ok ? EXIT_CODES.startFailed : exitCode);
      }, config.shutdownGraceMs + 30_000).unref();
      running.stop().then(
        () => resolve(exitCode),
        (error: unknown) => {
          log.error({ err: error }, 'error while shutting down');
          resolve(exitCode === EXIT_CODES.ok ? EXIT_CODES.startFailed : exitCode);
        },
      );
    };
    const onSignal = (signal: NodeJS.Signals) => {
      if (stopping) {
        log.warn({ signal }, 'second signal: exiting now');
        process.exit(EXIT_CODES.secondSignal);
      }
      log.info({ signal }, 'draining: shutting down');
      shutdown(EXIT_CODES.ok);
    };
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
    void running.failed.then(({ source, error }) => {
      if (stopping) return;
      log.fatal({ err: error, source }, 'failed for good after start: draining and exiting');
      process.stderr.write(`bursar: ${source} failed: ${error.message}; exiting\n`);
      shutdown(EXIT_CODES.serviceFailed);
    });
  });
  log.info({ exitCode: code }, 'stopped');
  exitSoon(code);
  return code;
}

/** The lines `bursar start` prints once it runs: where each part is, and the development key. */
function printBanner(out: (line: string) => void, config: Config, role: string, running: Running): void {
  out('');
  out(`Bursar is running (role: ${role}).`);
  if (running.apiUrl) out(`  API:          ${running.apiUrl}`);
  if (running.apiUrl) {
    out(
      `  Dashboard:    ${running.apiUrl}/dashboard   (first operator: npx bursar operators create --email … --role admin)`,
    );
  }
  for (const line of running.extraLines) out(line);
  out(
    `  Database:     ${config.databaseUrl ? 'DATABASE_URL' : `embedded PostgreSQL, data in ${config.dataDir}`}`,
  );
  if (running.devKey) out(`  API key:      ${running.devKey}   (all scopes; development only)`);
  else if (running.apiUrl)
    out('  API key:      created at first start; create another with `npx bursar keys create --scope …`');
  out('Press Ctrl-C to stop.');
  out('');
}
