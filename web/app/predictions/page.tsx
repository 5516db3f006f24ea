'use client';
import { useState } from 'react';
import { PagedTable } from '@/components/data-table';
import { FilterInput, FilterSelect, Filters } from '@/components/filters';
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
/** The outcomes a logged prediction can have (the log's `status`). */
const STATUSES = ['ok', 'invalid', 'not_found', 'inference_failed', 'output_too_large', 'timeout', 'internal'];

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
      <Filters>
        <FilterInput label="Model" value={model} onChange={(v) => (setModel(v), setSkip(0))} />
        <FilterInput
          label="Version"
          type="number"
          min={1}
          value={version}
          onChange={(v) => (setVersion(v), setSkip(0))}
        />
        <FilterSelect label="Status" value={status} options={STATUSES} onChange={(v) => (setStatus(v), setSkip(0))} />
      </Filters>
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
