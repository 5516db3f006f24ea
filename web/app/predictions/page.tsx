'use client';
import { useState } from 'react';
import { Pager } from '@/components/pager';
import { DataState } from '@/components/states';
import { api, type Page, query } from '@/lib/api';
import { formatDate } from '@/lib/format';
import { useData } from '@/lib/use-data';

interface LoggedPrediction {
  id: string;
  model: string | null;
  version: number | null;
  status: string;
  statusCode: number;
  cached: boolean;
  latencyMs: number;
  inputHash: string | null;
  error: string | null;
  actor: string | null;
  protocol: string;
  createdAt: string;
}

const LIMIT = 25;

export default function PredictionsPage() {
  const [model, setModel] = useState('');
  const [version, setVersion] = useState('');
  const [status, setStatus] = useState('');
  const [skip, setSkip] = useState(0);
  const log = useData(
    () => api<Page<LoggedPrediction>>(`/api/v1/predictions${query({ model, version, status, skip, limit: LIMIT })}`),
    `${model}|${version}|${status}|${skip}`,
  );
  return (
    <>
      <h1>Predictions log</h1>
      <form className="row" role="search" onSubmit={(e) => e.preventDefault()}>
        <label>
          Model
          <input value={model} onChange={(e) => (setModel(e.target.value), setSkip(0))} />
        </label>
        <label>
          Version
          <input type="number" min={1} value={version} onChange={(e) => (setVersion(e.target.value), setSkip(0))} />
        </label>
        <label>
          Status
          <select value={status} onChange={(e) => (setStatus(e.target.value), setSkip(0))}>
            <option value="">any</option>
            <option value="ok">ok</option>
            {['invalid', 'not_found', 'inference_failed', 'output_too_large', 'timeout', 'internal'].map((kind) => (
              <option key={kind}>{kind}</option>
            ))}
          </select>
        </label>
      </form>
      <DataState what="the prediction log" {...log} isEmpty={(p) => p.items.length === 0} empty="No predictions match.">
        {(page) => (
          <>
            <div className="table-wrap" tabIndex={0} role="region" aria-label="Logged predictions">
              <table>
                <thead>
                  <tr>
                    <th scope="col">When</th>
                    <th scope="col">Model</th>
                    <th scope="col">Version</th>
                    <th scope="col">Status</th>
                    <th scope="col">Cached</th>
                    <th scope="col">Latency</th>
                    <th scope="col">Protocol</th>
                    <th scope="col">Actor</th>
                    <th scope="col">Input hash</th>
                  </tr>
                </thead>
                <tbody>
                  {page.items.map((p) => (
                    <tr key={p.id}>
                      <td>{formatDate(p.createdAt)}</td>
                      <td>{p.model ?? '—'}</td>
                      <td>{p.version ?? '—'}</td>
                      <td>
                        <span className={`badge ${p.status === 'ok' ? 'up' : 'down'}`}>
                          {p.statusCode} {p.status}
                        </span>
                        {p.error && <div className="muted">{p.error}</div>}
                      </td>
                      <td>{p.cached ? 'yes' : 'no'}</td>
                      <td>{p.latencyMs.toFixed(1)} ms</td>
                      <td>{p.protocol}</td>
                      <td>{p.actor ?? '—'}</td>
                      <td className="mono">{p.inputHash ? `${p.inputHash.slice(0, 12)}…` : '—'}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </div>
            <Pager skip={page.skip} limit={page.limit} total={page.total} onChange={setSkip} />
          </>
        )}
      </DataState>
    </>
  );
}
