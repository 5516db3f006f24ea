import * as http from 'node:http';

export interface LoadResult {
  requests: number;
  errors: number;
  rps: number;
  p50Ms: number;
  p99Ms: number;
  /** Server-Timing stages averaged over the measured responses (ms), when the server sends them. */
  stages: Record<string, number>;
  /** Count of responses per X-Cache value. */
  cache: Record<string, number>;
}

export interface LoadOptions {
  url: string;
  /** The same body for every request (text or bytes), or a function giving the body of request n. */
  body: string | Buffer | ((n: number) => string);
  headers?: Record<string, string>;
  concurrency: number;
  /** Stop after this long... */
  durationMs?: number;
  /** ...or after this many requests. */
  totalRequests?: number;
  warmupMs?: number;
}

export function percentile(sorted: number[], q: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];
}

/** Adds each `name;dur=ms` of a Server-Timing header to `into`. */
export function parseServerTiming(header: string | string[] | undefined, into: Map<string, number>): void {
  if (typeof header !== 'string') return;
  for (const part of header.split(',')) {
    const [name, dur] = part.trim().split(';dur=');
    if (name && dur) into.set(name, (into.get(name) ?? 0) + Number(dur));
  }
}

/**
 * Closed-loop load: `concurrency` clients over keep-alive connections, each sending the next
 * request when the previous answer has been read.
 */
export async function runLoad(options: LoadOptions): Promise<LoadResult> {
  const url = new URL(options.url);
  const agent = new http.Agent({ keepAlive: true, maxSockets: options.concurrency });
  const fixed = typeof options.body === 'function' ? undefined : Buffer.from(options.body);
  const bodyFor = options.body;
  let sent = 0;
  const send = () => {
    const payload = fixed ?? Buffer.from((bodyFor as (n: number) => string)(sent++));
    return new Promise<{ status: number; timing?: string | string[]; cache?: string | string[] }>((resolve, reject) => {
      const req = http.request(
        url,
        {
          method: 'POST',
          agent,
          headers: { 'Content-Type': 'application/json', 'Content-Length': payload.length, ...options.headers },
        },
        (res) => {
          res.on('data', () => undefined);
          res.on('end', () =>
            resolve({
              status: res.statusCode ?? 0,
              timing: res.headers['server-timing'],
              cache: res.headers['x-cache'],
            }),
          );
        },
      );
      req.on('error', reject);
      req.end(payload);
    });
  };

  const warmupEnd = Date.now() + (options.warmupMs ?? 500);
  await Promise.all(
    Array.from({ length: options.concurrency }, async () => {
      while (Date.now() < warmupEnd) await send();
    }),
  );

  const latencies: number[] = [];
  const stageSums = new Map<string, number>();
  const cacheHeaders = new Map<string, number>();
  let errors = 0;
  let issued = 0;
  const started = performance.now();
  const deadline = options.durationMs ? started + options.durationMs : Infinity;
  const limit = options.totalRequests ?? Infinity;
  await Promise.all(
    Array.from({ length: options.concurrency }, async () => {
      while (performance.now() < deadline && issued < limit) {
        issued++;
        const t0 = performance.now();
        const res = await send();
        latencies.push(performance.now() - t0);
        if (res.status !== 200) errors++;
        else parseServerTiming(res.timing, stageSums);
        if (typeof res.cache === 'string') cacheHeaders.set(res.cache, (cacheHeaders.get(res.cache) ?? 0) + 1);
      }
    }),
  );
  const elapsed = performance.now() - started;
  agent.destroy();
  const ok = latencies.length - errors;
  return {
    ...rates(latencies, errors, elapsed),
    stages: Object.fromEntries([...stageSums].map(([name, sum]) => [name, ok > 0 ? sum / ok : 0])),
    cache: Object.fromEntries(cacheHeaders),
  };
}

/** Throughput and latency percentiles of a closed loop that ran `elapsedMs`. */
function rates(latencies: number[], errors: number, elapsedMs: number) {
  latencies.sort((a, b) => a - b);
  return {
    requests: latencies.length,
    errors,
    rps: (latencies.length / elapsedMs) * 1000,
    p50Ms: percentile(latencies, 0.5),
    p99Ms: percentile(latencies, 0.99),
  };
}

/**
 * Closed-loop calls that are not one HTTP request each (session.run, a gRPC call): `concurrency`
 * callers, each starting its next call when the previous one settled. `call` answers whether it
 * succeeded; no stages or cache headers are seen.
 */
export async function closedLoop(
  call: () => Promise<boolean>,
  concurrency: number,
  durationMs: number,
  warmupMs = 0,
): Promise<LoadResult> {
  const warmupEnd = performance.now() + warmupMs;
  const callers = (body: () => Promise<void>) => Promise.all(Array.from({ length: concurrency }, body));
  await callers(async () => {
    while (performance.now() < warmupEnd) await call();
  });
  const latencies: number[] = [];
  let errors = 0;
  const started = performance.now();
  const deadline = started + durationMs;
  await callers(async () => {
    while (performance.now() < deadline) {
      const t0 = performance.now();
      if (!(await call())) errors++;
      latencies.push(performance.now() - t0);
    }
  });
  return { ...rates(latencies, errors, performance.now() - started), stages: {}, cache: {} };
}
