import { randomBytes } from 'node:crypto';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import Fastify, { type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import swagger from '@fastify/swagger';
import {
  jsonSchemaTransform,
  serializerCompiler,
  validatorCompiler,
  type ZodTypeProvider,
} from 'fastify-type-provider-zod';
import type { AppContext } from '../context.ts';
import { AppError } from '../errors.ts';
import { containsCardNumber } from './card-guard.ts';
import { installErrorHandler } from './error-handler.ts';
import { registerHealthRoutes } from './health.ts';
import { registerMetricsRoute } from './metrics.ts';

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

export const BODY_LIMIT_BYTES = 1024 * 1024;

export async function buildApp(ctx: AppContext, modules: RouteModule[] = []): Promise<App> {
  const app = Fastify({
    loggerInstance: ctx.log as FastifyBaseLogger,
    bodyLimit: BODY_LIMIT_BYTES,
    // Our request ids: the caller's X-Request-Id when it is sane, so traces join up; ours otherwise.
    genReqId: (request) => {
      const given = request.headers['x-request-id'];
      if (typeof given === 'string' && REQUEST_ID.test(given)) return given;
      return `req_${randomBytes(12).toString('hex')}`;
    },
    return503OnClosing: true,
  }).withTypeProvider<ZodTypeProvider>();

  app.setValidatorCompiler(validatorCompiler);
  app.setSerializerCompiler(serializerCompiler);

  // JSON bodies are read as text first: card data is refused before anything parses, stores or logs it.
  // JSON only: any other body type is refused with 415 unsupported_media_type.
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (request, body, done) => {
    const text = typeof body === 'string' ? body : body.toString('utf8');
    if (containsCardNumber(text)) {
      done(
        new AppError(
          'card_data_not_accepted',
          'the request contains what looks like a card number; send a PSP token instead',
        ),
        undefined,
      );
      return;
    }
    request.rawBody = text;
    if (text.length === 0) {
      done(null, undefined);
      return;
    }
    try {
      done(null, JSON.parse(text) as unknown);
    } catch {
      done(new AppError('invalid_json', 'the request body is not valid JSON'), undefined);
    }
  });

  app.addHook('onSend', async (request, reply) => {
    reply.header('Request-Id', request.id);
  });

  // The OpenAPI description is generated from the same zod schemas that validate each route.
  await app.register(swagger, {
    openapi: {
      openapi: '3.1.0',
      info: {
        title: 'Bursar API',
        version: '1',
        description: 'Payments for marketplaces. Errors: docs/errors.md. Amounts are strings in major units.',
      },
      components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } } },
      security: [{ bearer: [] }],
    },
    transform: jsonSchemaTransform,
  });
  app.get('/openapi.json', { schema: { hide: true } }, async () => app.swagger());

  installErrorHandler(app);
  registerHealthRoutes(app, ctx);
  registerMetricsRoute(app, ctx);
  for (const register of modules) await register(app, ctx);
  return app;
}
