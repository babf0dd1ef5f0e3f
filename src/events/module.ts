import type { AppContext } from '../context.ts';
import type { RouteModule } from '../http/app.ts';
import type { BackgroundService } from '../services.ts';
import { loadEventsConfig, type EventsConfig } from './config.ts';
import { syncEnvEndpoint, type EndpointsDeps, type EnvWebhook } from './endpoints.ts';
import { eventsRoutes } from './http.ts';
import type { postJson } from './post.ts';
import { endpointSecretKey, secretBox, type SecretBox } from './secret-box.ts';
import { createSenderService } from './service.ts';
import { sendDue, type PassResult, type SenderDeps } from './sender.ts';

export interface EventsModuleDeps {
  ctx: AppContext;
  /** BURSAR_WEBHOOK_URL and its secret, read at the sender's start (undefined when unset). */
  envWebhook?: () => EnvWebhook | undefined;
  config?: Partial<EventsConfig>;
  /** How one delivery is sent (a test's stand-in); node:http(s) behind the SSRF guard otherwise. */
  post?: typeof postJson;
}

export interface EventsModule {
  routes: RouteModule;
  /** The webhook sender (worker role). */
  services: BackgroundService[];
  /** One delivery pass, for tests and tools: claims what is due and sends it. */
  sendDue(): Promise<PassResult>;
  /** Brings the BURSAR_WEBHOOK_URL endpoint in step with the environment (the sender does it at start). */
  syncEnvEndpoint(): Promise<void>;
  /** Seals a signing secret with the installation's key, as stored in `events.webhook_endpoints` (tools, benches). */
  sealSecret(secret: string): string;
}

/**
 * The events module: the event log (`events` schema), webhook endpoints and their deliveries. Events are recorded
 * by the other modules through `recordEvent` in their own transactions; this module serves and sends them.
 */
export function createEvents(deps: EventsModuleDeps): EventsModule {
  const { ctx } = deps;
  const config: EventsConfig = { ...loadEventsConfig(process.env), ...(deps.config ?? {}) };
  // The key is read (or generated in the data dir) on first use, so composing the modules touches no file.
  let box: SecretBox | undefined;
  const lazyBox: SecretBox = {
    seal: (plain) => (box ??= secretBox(endpointSecretKey(process.env, ctx.config.dataDir))).seal(plain),
    open: (sealed) => (box ??= secretBox(endpointSecretKey(process.env, ctx.config.dataDir))).open(sealed),
  };
  const endpointDeps: EndpointsDeps = { pool: ctx.pool, log: ctx.log, config, box: lazyBox };
  const senderDeps: SenderDeps = {
    ...endpointDeps,
    ...(deps.post === undefined ? {} : { post: deps.post }),
  };
  const sync = () => syncEnvEndpoint(endpointDeps, deps.envWebhook?.());
  return {
    routes: eventsRoutes(endpointDeps),
    services: [createSenderService(senderDeps, sync)],
    sendDue: () => sendDue(senderDeps),
    syncEnvEndpoint: sync,
    sealSecret: (secret) => lazyBox.seal(secret),
  };
}
