/**
 * The web dashboard, served by nannyapi at `/` and `/assets/*`: the hand-written files in `../public`
 * (index.html, style.css, the icon) and the bundle `../dist/app.js` + `app.css` that
 * scripts/build.mjs makes from the TypeScript in `./ui` (`npm install` and `npm test` build it).
 *
 * Registered as one entry of the API's module list (packages/api/src/modules.ts). The module is
 * typed structurally so that this package never imports @nanny/api (which depends on it).
 */
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { extname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';

/**
 * The page's Content-Security-Policy: scripts, styles and fetches from this origin only, no inline
 * script or style elements, no frames. The page draws its charts as SVG built with DOM calls, so it
 * needs no `unsafe-inline`; bar widths are set through CSSOM (`el.style.width`), which CSP allows.
 */
export const CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "font-src 'self'",
  "manifest-src 'self'",
  "base-uri 'none'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join('; ');

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.json': 'application/json; charset=utf-8',
  '.txt': 'text/plain; charset=utf-8',
};

/**
 * Absolute path of the `public/` folder. Two layouts reach it: the TypeScript sources
 * (packages/web/src/index.ts → ../public) and the esbuild bundle, where this code is inlined into
 * packages/api/dist/nannyapi.mjs and `import.meta.url` is that file (→ ../../web/public).
 * Returns the first candidate that holds index.html, else the source-layout path (the caller
 * reports it as missing).
 */
export function webAssetsDir(from: string = import.meta.url): string {
  const candidates = ['../public/', '../../web/public/', '../node_modules/@nanny/web/public/'].map((rel) =>
    fileURLToPath(new URL(rel, from)),
  );
  for (const dir of candidates) if (existsSync(join(dir, 'index.html'))) return dir.replace(/\/$/, '');
  return candidates[0]!.replace(/\/$/, '');
}

interface Asset {
  body: Buffer;
  type: string;
  etag: string;
}

/** Reads every file of `dir` (flat: the page has a handful of files) into memory once. */
export function loadAssets(dir: string, assets = new Map<string, Asset>()): Map<string, Asset> {
  if (!existsSync(dir)) return assets;
  for (const name of readdirSync(dir)) {
    const full = join(dir, name);
    if (name.startsWith('.') || !statSync(full).isFile()) continue;
    const type = TYPES[extname(name).toLowerCase()];
    if (!type) continue;
    const body = readFileSync(full);
    const etag = `"${createHash('sha256').update(body).digest('base64url').slice(0, 22)}"`;
    assets.set(name, { body, type, etag });
  }
  return assets;
}

export interface WebOptions {
  /** folder of index.html, style.css; default webAssetsDir() */
  assetsDir?: string;
  /** folder of the built app.js and app.css; default `dist` beside the assets folder */
  bundleDir?: string;
}

function send(req: FastifyRequest, reply: FastifyReply, a: Asset) {
  // Revalidate every time (the files change with each release and carry no version in their
  // name); the ETag makes that a 304 without a body.
  void reply
    .header('content-type', a.type)
    .header('etag', a.etag)
    .header('cache-control', 'no-cache')
    .header('content-security-policy', CSP);
  if (req.headers['if-none-match'] === a.etag) return reply.code(304).send();
  return reply.send(a.body);
}

/** The Fastify routes of the dashboard: `GET /` and `GET /assets/<file>`. */
export async function webRoutes(app: FastifyInstance, opts: WebOptions = {}): Promise<void> {
  const dir = opts.assetsDir ?? webAssetsDir();
  const bundleDir = opts.bundleDir ?? join(dir, '..', 'dist');
  const assets = loadAssets(bundleDir, loadAssets(dir));
  const index = assets.get('index.html');
  if (!index) app.log.warn({ dir }, 'web dashboard: no index.html found; GET / answers 503');
  else if (!assets.has('app.js'))
    app.log.warn(
      { bundleDir },
      'web dashboard: app.js is not built (run `npm run build`); the page stays empty',
    );

  app.get('/', { schema: { hide: true } }, async (req, reply) => {
    if (!index) {
      return reply
        .code(503)
        .header('content-type', 'text/plain; charset=utf-8')
        .send(`The dashboard files are missing (looked in ${dir}). The API itself works: see /docs.\n`);
    }
    return send(req, reply, index);
  });
  app.get('/assets/:file', { schema: { hide: true } }, async (req, reply) => {
    const { file } = req.params as { file: string };
    // Only names read at start are served: no path is ever built from the request.
    const a = file === 'index.html' ? undefined : assets.get(file);
    if (!a) {
      return reply
        .code(404)
        .header('content-type', 'text/plain; charset=utf-8')
        .header('content-security-policy', CSP)
        .send('Not found\n');
    }
    return send(req, reply, a);
  });
}

/**
 * The dashboard as an API module (structurally an `ApiModule` of packages/api/src/module-contract.ts).
 * `createWebModule({ assetsDir })` lets a packager point at another folder.
 */
export function createWebModule(opts: WebOptions = {}) {
  return {
    name: 'web',
    create: () => ({ routes: async (app: FastifyInstance) => webRoutes(app, opts) }),
  };
}

export const webModule = createWebModule();
