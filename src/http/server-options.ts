import fs from 'node:fs';
import type { Socket } from 'node:net';
import type { Config } from '../config.ts';
import { errorBody } from './error-body.ts';
import { AppError } from '../errors.ts';
import { randomHexId } from '../random-id.ts';

/** One year, with subdomains: what HSTS preload lists ask for. Sent on HTTPS responses only. */
export const HSTS_VALUE = 'max-age=31536000; includeSubDomains';

/**
 * The Node server settings behind the limits of src/http/limits.ts: header, whole-request and idle timeouts, and
 * TLS when `BURSAR_TLS_CERT_FILE`/`BURSAR_TLS_KEY_FILE` are given. Node checks the request and header timeouts on
 * a timer (`connectionsCheckingInterval`, 30 s by default); it runs at a quarter of the shortest timeout so a slow
 * client is cut off close to its deadline.
 */
export function serverOptions(config: Config): Record<string, unknown> {
  const limits = config.httpLimits;
  const shortest = Math.min(
    ...[limits.headersTimeoutMs, limits.requestTimeoutMs].filter((ms) => ms > 0),
    120_000,
  );
  const node = {
    headersTimeout: limits.headersTimeoutMs,
    connectionsCheckingInterval: Math.max(50, Math.min(30_000, Math.floor(shortest / 4))),
  };
  const tls =
    config.tls === undefined
      ? undefined
      : { cert: fs.readFileSync(config.tls.certFile), key: fs.readFileSync(config.tls.keyFile) };
  return {
    ...(tls === undefined ? { http: node } : { https: { ...node, ...tls } }),
    requestTimeout: limits.requestTimeoutMs,
    keepAliveTimeout: limits.keepAliveTimeoutMs,
    connectionTimeout: limits.idleTimeoutMs,
    bodyLimit: limits.bodyLimitBytes,
    trustProxy: limits.trustedProxies.length > 0 ? limits.trustedProxies : false,
    clientErrorHandler,
  };
}

/**
 * Errors Node meets before there is a request (a request that took too long to arrive, headers too large, bytes
 * that are not HTTP), answered in Bursar's error shape and the connection closed. A reset connection needs nothing.
 */
function clientErrorHandler(error: NodeJS.ErrnoException, socket: Socket): void {
  if (error.code === 'ECONNRESET' || socket.destroyed) return;
  const requestId = randomHexId('req', 12);
  const [status, appError] =
    error.code === 'ERR_HTTP_REQUEST_TIMEOUT'
      ? [408, new AppError('request_timeout', 'the request took too long to arrive; send it again, faster')]
      : error.code === 'HPE_HEADER_OVERFLOW'
        ? [431, new AppError('validation_failed', 'the request headers are too large')]
        : [400, new AppError('validation_failed', 'the request is not valid HTTP')];
  const body = JSON.stringify(errorBody(appError, requestId));
  const reason =
    status === 408 ? 'Request Timeout' : status === 431 ? 'Request Header Fields Too Large' : 'Bad Request';
  socket.end(
    `HTTP/1.1 ${status} ${reason}\r\nConnection: close\r\nContent-Type: application/json; charset=utf-8\r\n` +
      `Request-Id: ${requestId}\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
  );
}
