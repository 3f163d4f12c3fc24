import { existsSync, readFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import fastifyStatic from '@fastify/static';
import type { FastifyInstance, FastifyReply } from 'fastify';
import type { Services } from '../../services.js';

/**
 * The web portals: Vite's build of web/ (one single-page app for the end-user pages, the reset
 * wizard and the admin pages). Hashed assets under /assets/ are cached for a year; every portal path
 * answers index.html, uncached, and the client's router draws the page. The security headers
 * (strict CSP without inline script, frame-ancestors 'none', Referrer-Policy no-referrer, nosniff)
 * come from the onRequest hook in app.ts (src/http/security-headers.ts) and apply here as to the API.
 */

/** The first path segments that belong to the portals' router (web/src/app.tsx). */
export const PORTAL_PREFIXES = ['signin', 'account', 'reset', 'unlock', 'admin'] as const;

/** dist/web beside this installation: dist/src/http/routes/web.js when built, src/http/routes/web.ts under tsx. */
export function defaultWebDir(): string {
  const base = fileURLToPath(new URL('../../../', import.meta.url));
  return basename(base.replace(/[\\/]+$/, '')) === 'dist' ? join(base, 'web') : join(base, 'dist', 'web');
}

export function webRoutes(app: FastifyInstance, services: Services): void {
  const dir = services.config.webDir ?? defaultWebDir();
  const indexFile = join(dir, 'index.html');
  const built = existsSync(indexFile);
  // read once: the build does not change under a running server (a rebuild needs a restart)
  const index = built ? readFileSync(indexFile) : null;

  if (built && existsSync(join(dir, 'assets'))) {
    void app.register(fastifyStatic, { root: join(dir, 'assets'), prefix: '/assets/', immutable: true, maxAge: '365d', decorateReply: false, index: false, list: false, dotfiles: 'deny' });
  }

  const page = async (_request: unknown, reply: FastifyReply) => {
    if (!index) {
      return reply
        .code(503)
        .type('text/plain; charset=utf-8')
        .header('cache-control', 'no-store')
        .send('The web portals are not built. Run `npm run build` (or `npm run build:web`), then restart Postern. The APIs under /api/v1 and /v1.0 work without them.');
    }
    return reply.type('text/html; charset=utf-8').header('cache-control', 'no-cache').send(index);
  };
  app.get('/', page);
  for (const prefix of PORTAL_PREFIXES) {
    app.get(`/${prefix}`, page);
    app.get(`/${prefix}/*`, page);
  }
}
