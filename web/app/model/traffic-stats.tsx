'use client';
import { useState } from 'react';
import { DataTable } from '@/components/data-table';
import { DataState } from '@/components/states';
import { api } from '@/lib/api';
import { formatDate } from '@/lib/format';
import type { TrafficStats } from '@/lib/types';
import { useData } from '@/lib/use-data';

const WINDOWS = [15, 60, 360, 1440];

/** A horizontal bar: `value` of `max`, with the number beside it (the bar is decoration). */
function Bar({
  value,
  max,
  label,
  tone = 'accent',
}: {
  value: number;
  max: number;
  label: string;
  tone?: 'accent' | 'danger';
}) {
  const width = max > 0 ? Math.max(value > 0 ? 1 : 0, (100 * value) / max) : 0;
  return (
    <div className="bar-row">
      <span className="bar-track" aria-hidden="true">
        <span className={`bar-fill ${tone}`} style={{ width: `${width}%` }} />
      </span>
      <span className="bar-value">{label}</span>
    </div>
  );
}

/** GET .../traffic/stats as bars per version: requests and errors, latency percentiles, shadows. */
export function TrafficStatsView({ name }: { name: string }) {
  const [minutes, setMinutes] = useState(60);
  const stats = useData(
    () => api<TrafficStats>(`/api/v1/models/${encodeURIComponent(name)}/traffic/stats?minutes=${minutes}`),
    `${name}|${minutes}`,
    10_000,
  );
  return (
    <section aria-labelledby="stats-title">
      <h2 id="stats-title">Traffic by version</h2>
      <label className="inline">
        Window
        <select value={minutes} onChange={(e) => setMinutes(Number(e.target.value))}>
          {WINDOWS.map((m) => (
            <option key={m} value={m}>
              last {m >= 60 ? `${m / 60} h` : `${m} min`}
            </option>
          ))}
        </select>
      </label>
      <DataState what="traffic stats" {...stats}>
        {(s) => {
          const maxRequests = Math.max(0, ...s.versions.map((v) => v.requests));
          const maxLatency = Math.max(
            0,
            ...s.versions.map((v) => v.latencyMs?.p99 ?? 0),
            ...s.shadows.map((v) => v.latencyMs?.p99 ?? 0),
          );
          return (
            <div data-testid="traffic-stats">
              <p className="muted">Since {formatDate(s.since)}.</p>
              {s.versions.length === 0 ? (
                <p className="empty">No requests in this window.</p>
              ) : (
                <DataTable
                  label="Requests and latency by version"
                  rows={s.versions}
                  rowKey={(v) => v.version}
                  columns={[
                    { header: 'Version', cell: (v) => v.version },
                    {
                      header: 'Requests',
                      cell: (v) => <Bar value={v.requests} max={maxRequests} label={String(v.requests)} />,
                    },
                    {
                      header: 'Errors',
                      cell: (v) => <Bar value={v.errors} max={maxRequests} label={String(v.errors)} tone="danger" />,
                    },
                    {
                      header: 'Latency p50 / p95 / p99',
                      cell: (v) =>
                        v.latencyMs ? (
                          <Bar
                            value={v.latencyMs.p99}
                            max={maxLatency}
                            label={`${v.latencyMs.p50.toFixed(1)} / ${v.latencyMs.p95.toFixed(1)} / ${v.latencyMs.p99.toFixed(1)} ms`}
                          />
                        ) : (
                          '—'
                        ),
                    },
                  ]}
                />
              )}
              {s.shadows.length > 0 && (
                <DataTable
                  label="Shadow versions"
                  rows={s.shadows}
                  rowKey={(v) => String(v.version)}
                  columns={[
                    { header: 'Shadow version', cell: (v) => v.version ?? 'unresolved' },
                    { header: 'Mirrored', cell: (v) => v.mirrored },
                    { header: 'Dropped', cell: (v) => v.dropped },
                    { header: 'Errors', cell: (v) => v.errors },
                    {
                      header: 'Agreement',
                      cell: (v) =>
                        v.agreement === null ? (
                          '—'
                        ) : (
                          <Bar
                            value={v.agreement}
                            max={1}
                            label={`${(v.agreement * 100).toFixed(1)}% of ${v.compared}`}
                          />
                        ),
                    },
                    {
                      header: 'Latency p50 / p99',
                      cell: (v) =>
                        v.latencyMs ? `${v.latencyMs.p50.toFixed(1)} / ${v.latencyMs.p99.toFixed(1)} ms` : '—',
                    },
                  ]}
                />
              )}
            </div>
          );
        }}
      </DataState>
    </section>
  );
}
