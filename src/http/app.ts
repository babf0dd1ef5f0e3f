import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import Fastify, {
  LogController,
  type FastifyBaseLogger,
  type FastifyInstance,
  type FastifyServerOptions,
} from 'fastify';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import { z } from 'zod';
import {
  jsonSchemaTransform,
  serializerCompiler,
  validatorCompiler,
  type ZodTypeProvider,
} from 'fastify-type-provider-zod';
import type { AppContext } from '../context.ts';
import {
  assertNoCardData,
  assertNoCardNumbersInJson,
  containsCardNumber,
  longDigitFieldsOf,
} from './card-guard.ts';
import { installAccessLog } from './access-log.ts';
import { frameworkErrorHandler, installErrorHandler } from './error-handler.ts';
import { drainingError, registerHealthRoutes } from './health.ts';
import { assertStorableStrings, decodeUtf8Body, parseJsonText } from './json-body.ts';
import { applyRouteLimits, RateLimiter } from './limits.ts';
import { registerMetricsRoute } from './metrics.ts';
import { HSTS_VALUE, serverOptions } from './server-options.ts';
import { enforceRouteAuth } from './route-auth.ts';
import { errorResponses } from './schemas.ts';
import { randomHexId } from '../random-id.ts';

declare module 'fastify' {
  interface FastifyRequest {
    /** The body exactly as received, for signature checks (webhooks) and request fingerprints. */
    rawBody?: string;
  }
}

/** The app as route modules see it: zod schemas type the handlers. */
export type App = FastifyInstance<
  Server,
  IncomingMessage,
  ServerResponse,
  FastifyBaseLogger,
  ZodTypeProvider
>;
export type RouteModule = (app: App, ctx: AppContext) => void | Promise<void>;

const REQUEST_ID = /^[A-Za-z0-9_.:-]{8,128}$/;

export async function buildApp(ctx: AppContext, modules: RouteModule[] = []): Promise<App> {
  const limits = ctx.config.httpLimits;
  const app = Fastify({
    loggerInstance: ctx.log as FastifyBaseLogger,
    // Timeouts, body limit, trusted proxies and TLS (src/http/server-options.ts, src/http/limits.ts).
    ...serverOptions(ctx.config),
    // Our request ids: the caller's X-Request-Id when it is sane, so traces join up; ours otherwise. A request id
    // is logged with every line, so one that looks like a card number is never adopted.
    genReqId: (request) => {
      const given = request.headers['x-request-id'];
      if (typeof given === 'string' && REQUEST_ID.test(given) && !containsCardNumber(given)) return given;
      return randomHexId('req', 12);
    },
    // Bursar answers requests that arrive while the server closes itself (answerWhileClosing), in its error shape.
    return503OnClosing: false,
    // Bursar writes its own access log (src/http/access-log.ts): Fastify's logs empty `req`/`res` objects here.
    logController: new LogController({ disableRequestLogging: true }),
    // A bad URL encoding or an over-long path parameter gets Bursar's error shape too, not Fastify's.
    frameworkErrors: frameworkErrorHandler,
  } as FastifyServerOptions).withTypeProvider<ZodTypeProvider>() as unknown as App;

  // The rendered API reference (/docs, Swagger UI served from the package, no CDN) is declared public here,
  // before the check below: its plugin registers its routes without our marker.
  app.addHook('onRoute', (route) => {
    if (route.url === DOCS_PREFIX || route.url.startsWith(`${DOCS_PREFIX}/`)) {
      route.config = { ...(route.config ?? {}), auth: 'public' };
    }
  });
  // Authentication is the default: a route without a `config.auth` marker makes buildApp throw, naming it.
  app.addHook('onRoute', enforceRouteAuth(ctx.pool));
  // Then the limits of the route's class: rate limits by client address (before authentication) and by API key
  // (before the body is read), and the class's body limit.
  const limiter = new RateLimiter();
  app.addHook('onRoute', (route) => applyRouteLimits(route, limits, limiter));

  app.setValidatorCompiler(validatorCompiler);
  app.setSerializerCompiler(serializerCompiler);

  answerWhileClosing(app);
  installInputGuards(app);

  app.addHook('onSend', async (request, reply) => {
    reply.header('Request-Id', request.id);
    // HTTPS responses (ours, or a trusted TLS proxy's: X-Forwarded-Proto) tell browsers to stay on HTTPS.
    if (request.protocol === 'https') reply.header('Strict-Transport-Security', HSTS_VALUE);
  });

  await registerOpenApi(app);

  installErrorHandler(app);
  installAccessLog(app);
  registerHealthRoutes(app, ctx);
  registerMetricsRoute(app, ctx);
  for (const register of modules) await register(app, ctx);
  return app;
}

/**
 * Once the server closes (the second half of a drain, src/cli/start.ts), a request that still arrives on a
 * kept-alive connection is answered 503 `service_unavailable` (`draining`, with Retry-After and, from Fastify,
 * `Connection: close`) before anything else runs. Fastify's own answer (`return503OnClosing`) has a body of its own
 * shape, outside Bursar's closed list of errors, so it is off.
 */
function answerWhileClosing(app: App): void {
  let closing = false;
  app.addHook('preClose', async () => {
    closing = true;
  });
  app.addHook('onRequest', async () => {
    if (closing) throw drainingError();
  });
}

/**
 * What a request brings is checked before any route sees it: stored headers, JSON bodies, query strings and path
 * parameters (encoding, depth, storable strings, card data).
 */
function installInputGuards(app: App): void {
  // The headers Bursar stores (Idempotency-Key) are refused when they carry card data, before anything else runs.
  app.addHook('onRequest', async (request) => {
    const key = request.headers['idempotency-key'];
    if (key !== undefined) assertNoCardData(key, 'Idempotency-Key');
  });

  // JSON bodies are read as bytes, decoded as strict UTF-8 (a declared charset other than UTF-8 is 415), parsed
  // with a bounded depth, every string checked to be storable (no NUL, no lone surrogate), and refused when any
  // parsed value carries card data (src/http/card-guard.ts), before a route stores or logs it. Any other body type
  // is 415.
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('application/json', { parseAs: 'buffer' }, (request, body, done) => {
    try {
      const bytes = typeof body === 'string' ? Buffer.from(body, 'utf8') : body;
      const text = decodeUtf8Body(bytes, request.headers['content-type']);
      const parsed = text.length === 0 ? undefined : parseJsonText(text);
      assertNoCardNumbersInJson(text);
      assertNoCardData(parsed, 'body', longDigitFieldsOf(request.method, request.routeOptions.url));
      request.rawBody = text;
      done(null, parsed);
    } catch (error) {
      done(error instanceof Error ? error : new Error(String(error)), undefined);
    }
  });

  // Query strings and path parameters pass the same storability check as bodies, before validation.
  app.addHook('preValidation', async (request) => {
    assertStorableStrings(request.query, 'query');
    assertStorableStrings(request.params, 'path');
    assertNoCardData(request.query, 'query');
    assertNoCardData(request.params, 'path');
  });
}

/** Where the rendered API reference is served. */
const DOCS_PREFIX = '/docs';

type Transformed = ReturnType<typeof jsonSchemaTransform>;

/** A money-moving POST's `Idempotency-Key` header, in its OpenAPI description (the auth marker enforces it). */
function withIdempotencyHeader(transformed: Transformed): Transformed {
  const schema = transformed.schema as Record<string, unknown> | undefined;
  const auth = schema?.['x-bursar-auth'] as { money_moving?: boolean } | undefined;
  if (schema === undefined || auth?.money_moving !== true) return transformed;
  const headers = (schema.headers as { properties?: Record<string, unknown>; required?: string[] }) ?? {};
  schema.headers = {
    type: 'object',
    ...headers,
    properties: {
      ...(headers.properties ?? {}),
      'Idempotency-Key': {
        type: 'string',
        minLength: 1,
        maxLength: 255,
        description:
          'Required: a replay with the same key and body answers the first result; see docs/api.md.',
      },
    },
    required: [...(headers.required ?? []), 'Idempotency-Key'],
  };
  return transformed;
}

/** `/openapi.json`, generated from the same zod schemas that validate each route. */
async function registerOpenApi(app: App): Promise<void> {
  // The OpenAPI description is generated from the same zod schemas that validate each route.
  await app.register(swagger, {
    openapi: {
      openapi: '3.1.0',
      info: {
        title: 'Bursar API',
        version: '1',
        description: 'Payments for marketplaces. Errors: docs/errors.md. Amounts are strings in major units.',
      },
      components: {
        securitySchemes: {
          bearer: { type: 'http', scheme: 'bearer' },
          dashboardSession: { type: 'apiKey', in: 'cookie', name: 'bursar_session' },
        },
      },
      security: [{ bearer: [] }],
    },
    transform: (input) => withIdempotencyHeader(jsonSchemaTransform(input)),
  });
  await app.register(swaggerUi, { routePrefix: DOCS_PREFIX, staticCSP: true });
  app.get(
    '/openapi.json',
    {
      config: { auth: 'public' },
      schema: { hide: true, response: { 200: z.record(z.string(), z.unknown()), ...errorResponses() } },
    },
    async () => app.swagger() as unknown as Record<string, unknown>,
  );
}
