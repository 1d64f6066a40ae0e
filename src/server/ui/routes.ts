// The web UI: `GET /` and the static files under `/ui/`. The page is plain HTML, CSS and one ES
// module (src/server/ui/assets) that talks only to the REST API and its events; nothing is built
// or fetched from elsewhere at run time.
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { extname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { HttpContext } from '../context.ts';

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
};

const SECURITY_HEADERS = {
  'content-security-policy':
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; " +
    "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'",
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'x-frame-options': 'DENY',
};

interface Asset {
  body: Buffer;
  type: string;
  etag: string;
}

/**
 * Where the files are: beside this module when it runs from the sources, and under the package's
 * `src/server/ui/assets` (listed in package.json "files") when it runs from `dist/server/ui`.
 */
export function assetsDir(): string {
  const candidates = [
    new URL('./assets/', import.meta.url),
    new URL('../../../src/server/ui/assets/', import.meta.url),
  ];
  for (const url of candidates) {
    const dir = fileURLToPath(url);
    if (existsSync(join(dir, 'index.html'))) return dir;
  }
  throw new Error(
    `the web UI's files are missing (looked in ${candidates.map((u) => fileURLToPath(u)).join(', ')})`,
  );
}

function loadAssets(dir: string): Map<string, Asset> {
  const assets = new Map<string, Asset>();
  for (const name of readdirSync(dir)) {
    const type = TYPES[extname(name)];
    if (!type) continue;
    const body = readFileSync(join(dir, name));
    const etag = `"${createHash('sha256').update(body).digest('base64url').slice(0, 22)}"`;
    assets.set(name, { body, type, etag });
  }
  return assets;
}

function send(request: FastifyRequest, reply: FastifyReply, asset: Asset) {
  reply.headers(SECURITY_HEADERS).header('cache-control', 'no-cache').header('etag', asset.etag);
  if (request.headers['if-none-match'] === asset.etag) return reply.code(304).send();
  return reply.type(asset.type).send(asset.body);
}

export async function registerUiRoutes(app: FastifyInstance, _ctx: HttpContext): Promise<void> {
  const assets = loadAssets(assetsDir());
  const index = assets.get('index.html');
  if (!index) throw new Error('the web UI has no index.html');
  app.get('/', (request, reply) => send(request, reply, index));
  app.get<{ Params: { file: string } }>('/ui/:file', (request, reply) => {
    const asset = assets.get(request.params.file);
    if (!asset || request.params.file === 'index.html') {
      return reply.code(404).send({
        error: { code: 404, reason: 'NotFound', message: `no file ${request.params.file} in the web UI` },
      });
    }
    return send(request, reply, asset);
  });
}
