'use client';
import { useState } from 'react';
import { Pager } from '@/components/pager';
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
      <form className="row" role="search" onSubmit={(e) => e.preventDefault()}>
        <label>
          Actor
          <input value={actor} onChange={(e) => (setActor(e.target.value), setSkip(0))} />
        </label>
        <label>
          Action
          <input value={action} onChange={(e) => (setAction(e.target.value), setSkip(0))} placeholder="model.create" />
        </label>
        <label>
          Target
          <input value={target} onChange={(e) => (setTarget(e.target.value), setSkip(0))} />
        </label>
      </form>
      <DataState what="audit events" {...events} isEmpty={(p) => p.items.length === 0} empty="No audit events match.">
        {(page) => (
          <>
            <div className="table-wrap" tabIndex={0} role="region" aria-label="Audit events">
              <table>
                <thead>
                  <tr>
                    <th scope="col">When</th>
                    <th scope="col">Actor</th>
                    <th scope="col">Action</th>
                    <th scope="col">Target</th>
                    <th scope="col">Details</th>
                    <th scope="col">Request</th>
                  </tr>
                </thead>
                <tbody>
                  {page.items.map((e) => (
                    <tr key={e.id}>
                      <td>{formatDate(e.at)}</td>
                      <td>{e.actorName}</td>
                      <td>{e.action}</td>
                      <td>{e.target}</td>
                      <td className="mono">{e.details ? JSON.stringify(e.details) : '—'}</td>
                      <td className="mono">{e.requestId ?? '—'}</td>
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
