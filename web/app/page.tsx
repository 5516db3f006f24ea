'use client';
import { useEffect, useRef, useState } from 'react';
import { LineChart } from '@/components/line-chart';
import { DataState, ErrorBox } from '@/components/states';
import { api, call, errorOf } from '@/lib/api';
import { formatBytes } from '@/lib/format';
import { latencyBuckets, parseMetrics, quantileBetween, type Sample, sum } from '@/lib/metrics';
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

/** Seconds between two scrapes of /metrics, and the points kept (one hour). */
const SCRAPE_SECONDS = 5;
const POINTS = 3600 / SCRAPE_SECONDS;

interface Point {
  t: number;
  rate: number | null;
  p50: number | null;
  p99: number | null;
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

function useSeries(latest: Sample[] | undefined): Point[] {
  const [points, setPoints] = useState<Point[]>([]);
  const previous = useRef<{ at: number; samples: Sample[] }>(undefined);
  useEffect(() => {
    if (!latest) return;
    const at = Date.now() / 1000;
    const last = previous.current;
    if (last) {
      const seconds = at - last.at;
      const count = sum(latest, 'modelforge_predictions_total') - sum(last.samples, 'modelforge_predictions_total');
      const before = latencyBuckets(last.samples);
      const after = latencyBuckets(latest);
      const ms = (q: number) => {
        const value = quantileBetween(before, after, q);
        return value === undefined ? null : value * 1000;
      };
      setPoints((list) =>
        [...list, { t: at, rate: Math.max(0, count) / seconds, p50: ms(0.5), p99: ms(0.99) }].slice(-POINTS),
      );
    }
    previous.current = { at, samples: latest };
  }, [latest]);
  return points;
}

export default function OverviewPage() {
  const health = useData(readiness, 'health', 10_000);
  const scrape = useData(metrics, 'metrics', SCRAPE_SECONDS * 1000);
  const cache = useData(() => api<CacheStats>('/api/v1/cache/stats'), 'cache', 10_000);
  const points = useSeries(scrape.data);
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
        Sampled from /metrics every {SCRAPE_SECONDS} s while this page is open (up to the last hour); the server keeps
        counters, not history.
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
            { label: 'p50', values: points.map((p) => p.p50), color: '#1a7f37' },
            { label: 'p99', values: points.map((p) => p.p99), color: '#b42318' },
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
