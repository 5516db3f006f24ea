'use client';
import { useState } from 'react';
import { PagedTable } from '@/components/data-table';
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
          <PagedTable
            label="Logged predictions"
            page={page}
            onSkip={setSkip}
            rowKey={(p) => p.id}
            columns={[
              { header: 'When', cell: (p) => formatDate(p.createdAt) },
              { header: 'Model', cell: (p) => p.model ?? '—' },
              { header: 'Version', cell: (p) => p.version ?? '—' },
              {
                header: 'Status',
                cell: (p) => (
                  <>
                    <span className={`badge ${p.status === 'ok' ? 'up' : 'down'}`}>
                      {p.statusCode} {p.status}
                    </span>
                    {p.error && <div className="muted">{p.error}</div>}
                  </>
                ),
              },
              { header: 'Cached', cell: (p) => (p.cached ? 'yes' : 'no') },
              { header: 'Latency', cell: (p) => `${p.latencyMs.toFixed(1)} ms` },
              { header: 'Protocol', cell: (p) => p.protocol },
              { header: 'Actor', cell: (p) => p.actor ?? '—' },
              {
                header: 'Input hash',
                className: 'mono',
                cell: (p) => (p.inputHash ? `${p.inputHash.slice(0, 12)}…` : '—'),
              },
            ]}
          />
        )}
      </DataState>
    </>
  );
}
