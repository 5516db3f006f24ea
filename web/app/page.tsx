'use client';
import { useMemo } from 'react';
import { LineChart } from '@/components/line-chart';
import { DataState, ErrorBox } from '@/components/states';
import { api, call, errorOf } from '@/lib/api';
import { formatBytes } from '@/lib/format';
import { parseMetrics, type Sample, sum } from '@/lib/metrics';
import { useData } from '@/lib/use-data';

interface Health {
  status: string;
  details?: Record<string, { status: string; message?: string; [key: string]: unknown }>;
}
interface CacheStats {
  store: string;
  healthy: boolean;
  hits: number;
  misses: number;
  hitRatio: number;
}

/** Seconds between two scrapes of /metrics (the cards), and between two reads of the traffic history (the charts). */
const SCRAPE_SECONDS = 5;
const HISTORY_SECONDS = 15;
const HISTORY_MINUTES = 60;

interface TrafficMinute {
  minute: string;
  requests: number;
  errors: number;
  p50: number | null;
  p99: number | null;
}
interface TrafficSeries {
  minutes: number;
  since: string;
  series: TrafficMinute[];
  totals: { requests: number; errors: number; latencyMs: { p50: number; p99: number } | null };
}

interface Point {
  t: number;
  rate: number | null;
  p50: number | null;
  p99: number | null;
}

/**
 * One point per minute of the server's traffic history; the current minute's rate is over the
 * seconds of it that have passed, so the newest point is not understated while the minute runs.
 */
function pointsOf(history: TrafficSeries | undefined): Point[] {
  if (!history) return [];
  const now = Date.now();
  return history.series.map((m) => {
    const start = Date.parse(m.minute);
    const seconds = Math.min(60, Math.max(1, (now - start) / 1000));
    return { t: start / 1000, rate: m.requests / seconds, p50: m.p50, p99: m.p99 };
  });
}

/** /health/ready answers 503 with the same body when a check fails: both are a result to show. */
async function readiness(): Promise<Health> {
  const res = await call('/health/ready');
  if (res.status === 200 || res.status === 503) return (await res.json()) as Health;
  throw await errorOf(res);
}

async function metrics(): Promise<Sample[]> {
  const res = await call('/metrics');
  if (!res.ok) throw await errorOf(res);
  return parseMetrics(await res.text());
}

export default function OverviewPage() {
  const health = useData(readiness, 'health', 10_000);
  const scrape = useData(metrics, 'metrics', SCRAPE_SECONDS * 1000);
  const cache = useData(() => api<CacheStats>('/api/v1/cache/stats'), 'cache', 10_000);
  const history = useData(
    () => api<TrafficSeries>(`/api/v1/stats/traffic?minutes=${HISTORY_MINUTES}`),
    'traffic-history',
    HISTORY_SECONDS * 1000,
  );
  const points = useMemo(() => pointsOf(history.data), [history.data]);
  const totals = history.data?.totals;
  const samples = scrape.data;
  const times = points.map((p) => p.t);

  return (
    <>
      <h1>Overview</h1>
      <h2>Readiness</h2>
      <DataState what="readiness" {...health}>
        {(h) => (
          <div className="cards" data-testid="readiness">
            <div className="card">
              <div className="label">Service</div>
              <div className="value">
                <span className={`badge ${h.status === 'ok' ? 'up' : h.status}`}>{h.status}</span>
              </div>
            </div>
            {Object.entries(h.details ?? {}).map(([name, check]) => (
              <div className="card" key={name}>
                <div className="label">{name}</div>
                <div className="value">
                  <span className={`badge ${check.status}`}>{check.status}</span>
                </div>
                {check.message && <div className="muted">{check.message}</div>}
              </div>
            ))}
          </div>
        )}
      </DataState>
      <h2>Inference and cache</h2>
      {scrape.error && <ErrorBox error={scrape.error} onRetry={scrape.reload} />}
      <div className="cards">
        <Card
          label="Inference processes"
          value={
            samples &&
            `${sum(samples, 'modelforge_inference_workers_alive')} / ${sum(samples, 'modelforge_inference_workers')}`
          }
        />
        <Card label="Loaded versions" value={samples && String(sum(samples, 'modelforge_inference_loaded_versions'))} />
        <Card
          label="Loaded model bytes"
          value={samples && formatBytes(sum(samples, 'modelforge_inference_loaded_bytes'))}
        />
        <Card
          label="Queue depth (inference + jobs waiting)"
          value={
            samples &&
            String(sum(samples, 'modelforge_inference_queue_depth') + sum(samples, 'modelforge_jobs_waiting'))
          }
        />
        <Card
          label={`Cache hit rate${cache.data ? ` (${cache.data.store})` : ''}`}
          value={
            cache.data &&
            (cache.data.hits + cache.data.misses === 0
              ? 'no lookups yet'
              : `${(cache.data.hitRatio * 100).toFixed(1)}%`)
          }
        />
      </div>
      {cache.error && <ErrorBox error={cache.error} onRetry={cache.reload} />}
      <h2>Traffic</h2>
      <p className="muted">
        Served requests of every model you may see, per minute over the last hour, from the server&apos;s per-minute
        traffic rollups (every replica; another replica&apos;s requests appear once it flushed them). Read again every{' '}
        {HISTORY_SECONDS} s; the current minute&apos;s rate is over its seconds so far.
      </p>
      {history.error && <ErrorBox error={history.error} onRetry={history.reload} />}
      <p data-testid="traffic-totals">
        {totals
          ? `Last hour: ${totals.requests} requests, ${totals.errors} errors` +
            (totals.latencyMs ? `, p50 ${totals.latencyMs.p50} ms, p99 ${totals.latencyMs.p99} ms` : '')
          : '…'}
      </p>
      <div className="charts">
        <LineChart
          title="Predictions per second"
          unit="req/s"
          times={times}
          series={[{ label: 'predictions/s', values: points.map((p) => p.rate), color: '#0b5cad' }]}
        />
        <LineChart
          title="Latency (total, all models)"
          unit="ms"
          times={times}
          series={[
            { label: 'p50', values: points.map((p) => p.p50), color: '#1a7f37', points: true },
            { label: 'p99', values: points.map((p) => p.p99), color: '#b42318', points: true },
          ]}
        />
      </div>
    </>
  );
}

function Card({ label, value }: { label: string; value: string | undefined }) {
  return (
    <div className="card">
      <div className="label">{label}</div>
      <div className="value">{value ?? '…'}</div>
    </div>
  );
}
