import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import type { App } from './app.ts';
import { hasZodFastifySchemaValidationErrors } from 'fastify-type-provider-zod';
import { AppError, isAppError } from '../errors.ts';
import { sendError } from './error-body.ts';

function fieldOf(instancePath: string, missingProperty?: unknown): string {
  const parts = instancePath.split('/').filter((part) => part.length > 0);
  if (typeof missingProperty === 'string') parts.push(missingProperty);
  return parts.join('.');
}

/**
 * Fastify's own client errors (a bad Content-Length, a malformed header, …) in Bursar's shape: the closest code for
 * the status, the detail in the message. Undefined for anything that is not a 4xx (a bug: logged, 500).
 */
function clientErrorOf(error: FastifyError): AppError | undefined {
  const status = error.statusCode;
  if (status === undefined || status < 400 || status >= 500) return undefined;
  const detail =
    error.code === undefined ? 'the request is malformed' : `the request is malformed (${error.code})`;
  switch (status) {
    case 404:
      return new AppError('not_found', 'no such route or resource');
    case 413:
      return new AppError('payload_too_large', 'the request body is too large');
    case 415:
      return new AppError('unsupported_media_type', 'send the body as application/json');
    default:
      return new AppError('validation_failed', detail);
  }
}

/**
 * Errors Fastify meets before routing (`frameworkErrors`): a path that is not valid percent-encoding, a path
 * parameter longer than the router accepts. Answered in the one error shape with a request id, as 400.
 */
export function frameworkErrorHandler(
  error: FastifyError,
  request: FastifyRequest,
  reply: FastifyReply,
): void {
  void reply.header('Request-Id', request.id);
  const message =
    error.code === 'FST_ERR_MAX_PARAM_LENGTH'
      ? 'path: a path parameter is longer than the API accepts'
      : error.code === 'FST_ERR_BAD_URL'
        ? 'path: the URL is not valid percent-encoding'
        : 'the request could not be routed';
  const appError =
    error.code === 'FST_ERR_BAD_URL' || error.code === 'FST_ERR_MAX_PARAM_LENGTH'
      ? new AppError('validation_failed', message, { field: 'path' })
      : new AppError('internal_error', `something went wrong on our side; quote request id ${request.id}`);
  if (appError.code === 'internal_error') request.log.error({ err: error }, 'framework error');
  sendError(request, reply, appError);
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
    const framework = clientErrorOf(error);
    if (framework !== undefined) return sendError(request, reply, framework);
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
