import { ensureDevKey } from '../apikeys/index.ts';
import { backgroundServices, composeModules, createContext, routeModules } from '../compose.ts';
import type { Config } from '../config.ts';
import { openDatabase } from '../db/database.ts';
import { buildApp } from '../http/app.ts';
import type { BackgroundService } from '../services.ts';
import type { Logger } from '../log.ts';
import { parse, UsageError } from './args.ts';

export const ROLES = ['all', 'api', 'worker', 'sandbox'] as const;
export type Role = (typeof ROLES)[number];

export interface Running {
  apiUrl: string | undefined;
  devKey: string | undefined;
  /** Lines the background services want printed at start (the sandbox's URL, say). */
  extraLines: string[];
  stop(): Promise<void>;
}

/**
 * Starts the roles of this process: `all` (the default) runs the API, the workers and the sandbox PSP in one
 * process; `api`, `worker` and `sandbox` run one each so that many processes can share one PostgreSQL.
 */
export async function startServer(config: Config, log: Logger, role: Role): Promise<Running> {
  const db = await openDatabase(config, log, { role: 'server', poolSize: 20 });
  const ctx = createContext(config, db.pool, log);
  const modules = composeModules(ctx);
  const services: BackgroundService[] = [];
  let app: Awaited<ReturnType<typeof buildApp>> | undefined;
  let apiUrl: string | undefined;
  let devKey: string | undefined;
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
      apiUrl = `http://${config.host.includes(':') ? `[${config.host}]` : config.host}:${config.port}`;
    }
    for (const service of backgroundServices(modules, role)) {
      await service.start();
      services.push(service);
    }
  } catch (error) {
    await app?.close().catch(() => undefined);
    for (const service of services.reverse()) await service.stop().catch(() => undefined);
    await db.close().catch(() => undefined);
    throw error;
  }
  return {
    apiUrl,
    devKey,
    extraLines: services.flatMap((service) => service.describe?.() ?? []),
    stop: async () => {
      // Stop accepting, finish in-flight requests, then the workers, then the database.
      await app?.close();
      for (const service of [...services].reverse()) await service.stop();
      await db.close();
    },
  };
}

export async function startCommand(
  argv: string[],
  config: Config,
  log: Logger,
  out: (line: string) => void,
): Promise<number> {
  const { values } = parse(argv, { role: { type: 'string', default: 'all' } });
  const role = values.role;
  if (!(ROLES as readonly string[]).includes(role))
    throw new UsageError(`--role must be one of ${ROLES.join(', ')}`);
  const running = await startServer(config, log, role as Role);
  out('');
  out(`Bursar is running (role: ${role}).`);
  if (running.apiUrl) out(`  API:          ${running.apiUrl}`);
  for (const line of running.extraLines) out(line);
  out(
    `  Database:     ${config.databaseUrl ? 'DATABASE_URL' : `embedded PostgreSQL, data in ${config.dataDir}`}`,
  );
  if (running.devKey) out(`  API key:      ${running.devKey}   (all scopes; development only)`);
  else if (running.apiUrl)
    out('  API key:      created at first start; create another with `npx bursar keys create --scope …`');
  out('Press Ctrl-C to stop.');
  out('');

  await new Promise<void>((resolve) => {
    let stopping = false;
    const onSignal = (signal: NodeJS.Signals) => {
      if (stopping) {
        log.warn({ signal }, 'second signal: exiting now');
        process.exit(130);
      }
      stopping = true;
      log.info({ signal }, 'shutting down');
      running.stop().then(
        () => resolve(),
        (error: unknown) => {
          log.error({ err: error }, 'error while shutting down');
          resolve();
        },
      );
    };
    process.once('SIGINT', onSignal);
    process.once('SIGTERM', onSignal);
  });
  log.info('stopped');
  return 0;
}
