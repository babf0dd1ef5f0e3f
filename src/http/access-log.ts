import type { App } from './app.ts';

/**
 * One access-log line per request, written by Bursar rather than Fastify (whose `req`/`res` serializers logged
 * empty objects here): method, route pattern, status, duration, the API key's id (never the key) and the request
 * id. The URL is not logged: the route pattern says which endpoint, and a path or query value is the client's data.
 *
 * A client that goes away before its response is written is logged at info ("request aborted by the client"):
 * that is the client's choice, not a fault of ours, and must not page anyone.
 */
export function installAccessLog(app: App): void {
  const aborted = new WeakSet<object>();

  app.addHook('onRequestAbort', async (request) => {
    aborted.add(request);
    request.log.info(
      {
        request_id: request.id,
        method: request.method,
        route: request.routeOptions.url ?? null,
        api_key_id: request.apiKey?.id ?? null,
      },
      'request aborted by the client',
    );
  });

  app.addHook('onResponse', async (request, reply) => {
    if (aborted.has(request)) return;
    const fields = {
      request_id: request.id,
      method: request.method,
      route: request.routeOptions.url ?? null,
      status: reply.statusCode,
      duration_ms: Math.round(reply.elapsedTime * 10) / 10,
      api_key_id: request.apiKey?.id ?? null,
      client: request.ip,
    };
    // The response could not be written in full: the client closed the connection first.
    if (reply.raw.destroyed && !reply.raw.writableFinished)
      request.log.info(fields, 'request aborted by the client');
    else request.log.info(fields, 'request completed');
  });
}
