// HTTP endpoints for the kubelet and Prometheus: /healthz, /readyz and /metrics.
import http from 'node:http';
import type { Registry } from 'prom-client';

export interface Check {
  name: string;
  /** Undefined when fine, else why not. */
  check: () => string | undefined;
}

export function parseAddress(address: string): { host: string; port: number } {
  const at = address.lastIndexOf(':');
  const port = Number(address.slice(at + 1));
  if (at < 0 || !Number.isInteger(port) || port < 0 || port > 65535)
    throw new Error(`bad address "${address}": use host:port, e.g. 127.0.0.1:8081 or :8081`);
  return { host: address.slice(0, at) || '0.0.0.0', port };
}

function checksHandler(checks: () => Check[]) {
  return (res: http.ServerResponse) => {
    const failed = checks()
      .map((c) => ({ name: c.name, problem: c.check() }))
      .filter((c) => c.problem);
    res.writeHead(failed.length ? 503 : 200, { 'content-type': 'text/plain' });
    res.end(failed.length ? `${failed.map((f) => `[-] ${f.name}: ${f.problem}`).join('\n')}\n` : 'ok\n');
  };
}

export interface ProbeServerOptions {
  address: string;
  liveness: () => Check[];
  readiness: () => Check[];
  registry?: Registry;
}

/** Serves the given endpoints; returns the server once it listens. */
export async function startProbeServer(opts: ProbeServerOptions): Promise<http.Server> {
  const live = checksHandler(opts.liveness);
  const ready = checksHandler(opts.readiness);
  const server = http.createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    if (path === '/healthz' || path === '/livez') return live(res);
    if (path === '/readyz') return ready(res);
    if (path === '/metrics' && opts.registry) {
      const registry = opts.registry;
      registry.metrics().then(
        (text) => {
          res.writeHead(200, { 'content-type': registry.contentType });
          res.end(text);
        },
        (e: Error) => {
          res.writeHead(500);
          res.end(e.message);
        },
      );
      return;
    }
    res.writeHead(404);
    res.end('not found\n');
  });
  const { host, port } = parseAddress(opts.address);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, resolve);
  });
  return server;
}
