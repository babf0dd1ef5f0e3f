import type { FastifyError } from 'fastify';
import type { App } from './app.ts';
import { hasZodFastifySchemaValidationErrors } from 'fastify-type-provider-zod';
import { AppError, isAppError } from '../errors.ts';
import { sendError } from './error-body.ts';

function fieldOf(instancePath: string, missingProperty?: unknown): string {
  const parts = instancePath.split('/').filter((part) => part.length > 0);
  if (typeof missingProperty === 'string') parts.push(missingProperty);
  return parts.join('.');
}

/** Turns whatever went wrong into the one error shape; internals of a 500 stay in the log. */
export function installErrorHandler(app: App): void {
  app.setErrorHandler((error: FastifyError, request, reply) => {
    if (isAppError(error)) return sendError(request, reply, error);
    if (hasZodFastifySchemaValidationErrors(error)) {
      const first = error.validation[0];
      const where = first?.instancePath ?? '';
      const params = first?.params as { missingProperty?: unknown; issue?: { path?: unknown[] } } | undefined;
      const field = fieldOf(where, params?.missingProperty);
      const context = error.validationContext ?? 'body';
      const name = field === '' ? context : field;
      return sendError(
        request,
        reply,
        new AppError('validation_failed', `${name}: ${first?.message ?? 'invalid'}`, { field: name }),
      );
    }
    switch (error.code) {
      case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
        return sendError(
          request,
          reply,
          new AppError('unsupported_media_type', 'send the body as application/json'),
        );
      case 'FST_ERR_CTP_BODY_TOO_LARGE':
        return sendError(request, reply, new AppError('payload_too_large', 'the request body is too large'));
      case 'FST_ERR_CTP_EMPTY_JSON_BODY':
      case 'FST_ERR_CTP_INVALID_JSON_BODY':
        return sendError(request, reply, new AppError('invalid_json', 'the request body is not valid JSON'));
      default:
        break;
    }
    if (error instanceof SyntaxError || (error.statusCode === 400 && /JSON/i.test(error.message))) {
      return sendError(request, reply, new AppError('invalid_json', 'the request body is not valid JSON'));
    }
    request.log.error({ err: error }, 'unhandled error');
    return sendError(
      request,
      reply,
      new AppError('internal_error', `something went wrong on our side; quote request id ${request.id}`),
    );
  });
  app.setNotFoundHandler((request, reply) =>
    sendError(
      request,
      reply,
      new AppError('not_found', `no route ${request.method} ${request.url.split('?')[0] ?? ''}`),
    ),
  );
}
