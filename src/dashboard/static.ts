import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { extname, join } from 'node:path';
import { z } from 'zod';
import type { App } from '../http/app.ts';
import { errorResponses } from '../http/schemas.ts';

const TYPES: Record<string, string> = {
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.woff2': 'font/woff2',
  '.json': 'application/json',
};

/** The page may load only its own scripts and styles (Mantine sets CSS variables in a style element). */
const SECURITY_HEADERS = {
  'content-security-policy':
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'",
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'x-frame-options': 'DENY',
};

interface Asset {
  body: Buffer;
  type: string;
}

/** The built single-page app (`npm run build:dashboard`, run by `npm install`), read once into memory. */
function loadAssets(dir: string): { index: Buffer | undefined; assets: Map<string, Asset> } {
  const assets = new Map<string, Asset>();
  const assetsDir = join(dir, 'assets');
  if (existsSync(assetsDir)) {
    for (const name of readdirSync(assetsDir)) {
      const type = TYPES[extname(name)];
      if (type !== undefined) assets.set(name, { body: readFileSync(join(assetsDir, name)), type });
    }
  }
  const indexFile = join(dir, 'index.html');
  return { index: existsSync(indexFile) ? readFileSync(indexFile) : undefined, assets };
}

const NOT_BUILT = `<!doctype html><meta charset="utf-8"><title>Bursar dashboard</title>
<p>The dashboard is not built. Run <code>npm run build:dashboard</code> (npm install runs it) and restart.</p>`;

const PAGE_SCHEMA = {
  hide: true,
  response: { 200: z.string(), ...errorResponses() },
} as const;

/** `/dashboard` and every page under it answer the app's index.html; `/dashboard/assets/…` its files. */
export function staticRoutes(app: App, dir: string): void {
  const { index, assets } = loadAssets(dir);
  const page = async (
    _request: unknown,
    reply: { headers(h: Record<string, string>): unknown; type(t: string): unknown },
  ) => {
    reply.headers({ ...SECURITY_HEADERS, 'cache-control': 'no-cache' });
    reply.type('text/html; charset=utf-8');
    return index?.toString('utf8') ?? NOT_BUILT;
  };
  app.get('/dashboard', { config: { auth: 'public' }, schema: PAGE_SCHEMA }, page);
  app.get('/dashboard/*', { config: { auth: 'public' }, schema: PAGE_SCHEMA }, page);
  app.get(
    '/dashboard/assets/:file',
    { config: { auth: 'public' }, schema: { hide: true, params: z.object({ file: z.string().max(200) }) } },
    async (request, reply) => {
      const asset = assets.get(request.params.file);
      if (!asset) return reply.code(404).headers(SECURITY_HEADERS).type('text/plain').send('not found');
      return reply
        .headers({ ...SECURITY_HEADERS, 'cache-control': 'public, max-age=31536000, immutable' })
        .type(asset.type)
        .send(asset.body);
    },
  );
}
