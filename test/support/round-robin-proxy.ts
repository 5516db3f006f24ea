import * as http from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * A round-robin HTTP load balancer in front of several ModelForge processes, behaving like a
 * Kubernetes Service with readiness probes or an nginx upstream with health checks:
 * - each backend's /health/ready is polled every `probeIntervalMs`; a backend is sent traffic only
 *   while its last probe answered 200 (a new backend starts out of rotation until one does);
 * - a request whose connection is refused (the process is gone or not listening yet) is retried
 *   once on the next backend in rotation, as nginx's `proxy_next_upstream error` does; the backend
 *   is taken out of rotation until a probe brings it back. Any other failure (a reset after the
 *   request was sent, a timeout) is not retried: the request may have run, so it answers 502;
 * - one connection per upstream request (nginx's default without `keepalive`), so a backend that
 *   closes never races an idle pooled connection.
 * Request bodies are read whole before forwarding (they are retried); this is a test tool for
 * small bodies, bounded by `maxBodyBytes`.
 */
export interface ProxyOptions {
  probeIntervalMs?: number;
  maxBodyBytes?: number;
}

export interface ProxyStats {
  /** Answers forwarded from a backend, by backend base URL. */
  forwarded: Map<string, number>;
  /** Requests sent again to another backend after a refused connection. */
  retried: number;
  /** Answers the proxy made itself: 502 (upstream failure) or 503 (no backend in rotation). */
  proxyErrors: number;
  /**
   * Each time a backend left rotation, and why: its readiness answered something else than 200
   * (`not-ready`: a draining process says 503), a probe could not connect (`unreachable`), or a
   * forwarded request's connection was refused (`refused`).
   */
  removals: { backend: string; reason: RemovalReason }[];
}

export type RemovalReason = 'not-ready' | 'unreachable' | 'refused';

interface Backend {
  url: URL;
  base: string;
  ready: boolean;
}

export class RoundRobinProxy {
  readonly stats: ProxyStats = { forwarded: new Map(), retried: 0, proxyErrors: 0, removals: [] };
  private readonly backends: Backend[] = [];
  private readonly server: http.Server;
  private readonly agent = new http.Agent({ keepAlive: false });
  private readonly probeIntervalMs: number;
  private readonly maxBodyBytes: number;
  private next = 0;
  private probing: NodeJS.Timeout | undefined;
  private baseUrl = '';

  private constructor(options: ProxyOptions) {
    this.probeIntervalMs = options.probeIntervalMs ?? 100;
    this.maxBodyBytes = options.maxBodyBytes ?? 1 << 20;
    this.server = http.createServer((req, res) => void this.handle(req, res));
  }

  /** Listens on a free port of 127.0.0.1 and starts probing. */
  static async start(backends: string[], options: ProxyOptions = {}): Promise<RoundRobinProxy> {
    const proxy = new RoundRobinProxy(options);
    for (const base of backends) proxy.add(base);
    await new Promise<void>((resolve) => proxy.server.listen(0, '127.0.0.1', resolve));
    proxy.baseUrl = `http://127.0.0.1:${(proxy.server.address() as AddressInfo).port}`;
    proxy.probeLoop();
    return proxy;
  }

  get url(): string {
    return this.baseUrl;
  }

  /** Adds a backend (an endpoint): out of rotation until its readiness answers 200. */
  add(base: string): void {
    this.backends.push({ url: new URL(base), base, ready: false });
  }

  /** Whether the backend is in rotation now. */
  inRotation(base: string): boolean {
    return this.backends.some((b) => b.base === base && b.ready);
  }

  async close(): Promise<void> {
    clearTimeout(this.probing);
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
    this.agent.destroy();
  }

  private probeLoop(): void {
    void Promise.all(this.backends.map((b) => this.probe(b))).then(() => {
      if (this.server.listening) this.probing = setTimeout(() => this.probeLoop(), this.probeIntervalMs);
    });
  }

  private async probe(backend: Backend): Promise<void> {
    try {
      const res = await fetch(new URL('/health/ready', backend.url), {
        signal: AbortSignal.timeout(2_000),
        headers: { Connection: 'close' },
      });
      await res.arrayBuffer();
      if (res.status === 200) backend.ready = true;
      else this.remove(backend, 'not-ready');
    } catch {
      this.remove(backend, 'unreachable');
    }
  }

  private remove(backend: Backend, reason: RemovalReason): void {
    if (backend.ready) this.stats.removals.push({ backend: backend.base, reason });
    backend.ready = false;
  }

  /** The next backend in rotation after the last one picked, skipping `except`. */
  private pick(except?: Backend): Backend | undefined {
    for (let i = 0; i < this.backends.length; i++) {
      const backend = this.backends[(this.next + i) % this.backends.length];
      if (backend.ready && backend !== except) {
        this.next = (this.backends.indexOf(backend) + 1) % this.backends.length;
        return backend;
      }
    }
    return undefined;
  }

  private async handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const body = await this.readBody(req);
    if (body === undefined) return this.answer(res, 413, 'request body over the proxy limit');
    const first = this.pick();
    if (!first) return this.answer(res, 503, 'no backend in rotation');
    try {
      await this.forward(first, req, body, res);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ECONNREFUSED') return this.answer(res, 502, String(error));
      // Nothing reached the backend: it is safe to send the request elsewhere, once.
      this.remove(first, 'refused');
      const second = this.pick(first);
      if (!second) return this.answer(res, 503, 'no backend in rotation');
      this.stats.retried++;
      try {
        await this.forward(second, req, body, res);
      } catch (retryError) {
        if ((retryError as NodeJS.ErrnoException).code === 'ECONNREFUSED') this.remove(second, 'refused');
        this.answer(res, 502, String(retryError));
      }
    }
  }

  private readBody(req: http.IncomingMessage): Promise<Buffer | undefined> {
    return new Promise((resolve, reject) => {
      const chunks: Buffer[] = [];
      let size = 0;
      req.on('data', (chunk: Buffer) => {
        size += chunk.length;
        if (size <= this.maxBodyBytes) chunks.push(chunk);
      });
      req.on('end', () => resolve(size <= this.maxBodyBytes ? Buffer.concat(chunks) : undefined));
      req.on('error', reject);
    });
  }

  /** Sends the request to one backend and pipes its answer; rejects if no answer came. */
  private forward(backend: Backend, req: http.IncomingMessage, body: Buffer, res: http.ServerResponse): Promise<void> {
    return new Promise((resolve, reject) => {
      const headers = {
        ...endToEnd(req.headers),
        host: backend.url.host,
        connection: 'close',
        'content-length': body.length,
      };
      const upstream = http.request(
        {
          agent: this.agent,
          host: backend.url.hostname,
          port: backend.url.port,
          method: req.method,
          path: req.url,
          headers,
        },
        (answer) => {
          this.stats.forwarded.set(backend.base, (this.stats.forwarded.get(backend.base) ?? 0) + 1);
          res.writeHead(answer.statusCode ?? 502, endToEnd(answer.headers));
          answer.pipe(res);
          answer.on('end', resolve);
          // Once the answer has begun, a failure ends the client's response: no retry is possible.
          answer.on('error', (error) => {
            res.destroy(error);
            resolve();
          });
        },
      );
      upstream.on('error', reject);
      upstream.end(body);
    });
  }

  private answer(res: http.ServerResponse, status: number, message: string): void {
    this.stats.proxyErrors++;
    if (res.headersSent) {
      res.destroy();
      return;
    }
    res.writeHead(status, { 'Content-Type': 'application/json', Connection: 'close' });
    res.end(JSON.stringify({ proxy: message }));
  }
}

/** Hop-by-hop headers stay on their hop: the client's connection to the proxy is its own. */
const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'transfer-encoding', 'proxy-connection', 'upgrade']);

function endToEnd(headers: http.IncomingHttpHeaders): http.OutgoingHttpHeaders {
  return Object.fromEntries(Object.entries(headers).filter(([name]) => !HOP_BY_HOP.has(name)));
}
