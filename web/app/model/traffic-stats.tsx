'use client';
import { useState } from 'react';
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
                <div className="table-wrap" tabIndex={0} role="region" aria-label="Requests and latency by version">
                  <table>
                    <thead>
                      <tr>
                        <th scope="col">Version</th>
                        <th scope="col">Requests</th>
                        <th scope="col">Errors</th>
                        <th scope="col">Latency p50 / p95 / p99</th>
                      </tr>
                    </thead>
                    <tbody>
                      {s.versions.map((v) => (
                        <tr key={v.version}>
                          <td>{v.version}</td>
                          <td>
                            <Bar value={v.requests} max={maxRequests} label={String(v.requests)} />
                          </td>
                          <td>
                            <Bar value={v.errors} max={maxRequests} label={String(v.errors)} tone="danger" />
                          </td>
                          <td>
                            {v.latencyMs ? (
                              <Bar
                                value={v.latencyMs.p99}
                                max={maxLatency}
                                label={`${v.latencyMs.p50.toFixed(1)} / ${v.latencyMs.p95.toFixed(1)} / ${v.latencyMs.p99.toFixed(1)} ms`}
                              />
                            ) : (
                              '—'
                            )}
                          </td>
                        </tr>
                      ))}
                    </tbody>
                  </table>
                </div>
              )}
              {s.shadows.length > 0 && (
                <div className="table-wrap" tabIndex={0} role="region" aria-label="Shadow versions">
                  <table>
                    <thead>
                      <tr>
                        <th scope="col">Shadow version</th>
                        <th scope="col">Mirrored</th>
                        <th scope="col">Dropped</th>
                        <th scope="col">Errors</th>
                        <th scope="col">Agreement</th>
                        <th scope="col">Latency p50 / p99</th>
                      </tr>
                    </thead>
                    <tbody>
                      {s.shadows.map((v) => (
                        <tr key={String(v.version)}>
                          <td>{v.version ?? 'unresolved'}</td>
                          <td>{v.mirrored}</td>
                          <td>{v.dropped}</td>
                          <td>{v.errors}</td>
                          <td>
                            {v.agreement === null ? (
                              '—'
                            ) : (
                              <Bar
                                value={v.agreement}
                                max={1}
                                label={`${(v.agreement * 100).toFixed(1)}% of ${v.compared}`}
                              />
                            )}
                          </td>
                          <td>
                            {v.latencyMs ? `${v.latencyMs.p50.toFixed(1)} / ${v.latencyMs.p99.toFixed(1)} ms` : '—'}
                          </td>
                        </tr>
                      ))}
                    </tbody>
                  </table>
                </div>
              )}
            </div>
          );
        }}
      </DataState>
    </section>
  );
}
