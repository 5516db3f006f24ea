'use client';
import { useState } from 'react';
import { PagedTable } from '@/components/data-table';
import { FilterInput, Filters } from '@/components/filters';
import { DataState } from '@/components/states';
import { api, type Page, query } from '@/lib/api';
import { formatDate } from '@/lib/format';
import { useData } from '@/lib/use-data';

interface AuditEvent {
  id: string;
  at: string;
  actor: string;
  actorName: string;
  action: string;
  target: string;
  requestId: string | null;
  details: Record<string, unknown> | null;
}

export default function AuditPage() {
  const [actor, setActor] = useState('');
  const [action, setAction] = useState('');
  const [target, setTarget] = useState('');
  const [skip, setSkip] = useState(0);
  const events = useData(
    () => api<Page<AuditEvent>>(`/api/v1/audit${query({ actor, action, target, skip, limit: 25 })}`),
    `${actor}|${action}|${target}|${skip}`,
  );
  return (
    <>
      <h1>Audit trail</h1>
      <Filters>
        <FilterInput label="Actor" value={actor} onChange={(v) => (setActor(v), setSkip(0))} />
        <FilterInput
          label="Action"
          value={action}
          onChange={(v) => (setAction(v), setSkip(0))}
          placeholder="model.create"
        />
        <FilterInput label="Target" value={target} onChange={(v) => (setTarget(v), setSkip(0))} />
      </Filters>
      <DataState what="audit events" {...events} isEmpty={(p) => p.items.length === 0} empty="No audit events match.">
        {(page) => (
          <PagedTable
            label="Audit events"
            page={page}
            onSkip={setSkip}
            rowKey={(e) => e.id}
            columns={[
              { header: 'When', cell: (e) => formatDate(e.at) },
              { header: 'Actor', cell: (e) => e.actorName },
              { header: 'Action', cell: (e) => e.action },
              { header: 'Target', cell: (e) => e.target },
              { header: 'Details', className: 'mono', cell: (e) => (e.details ? JSON.stringify(e.details) : '—') },
              { header: 'Request', className: 'mono', cell: (e) => e.requestId ?? '—' },
            ]}
          />
        )}
      </DataState>
    </>
  );
}
