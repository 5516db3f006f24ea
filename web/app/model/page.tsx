'use client';
import Link from 'next/link';
import { useRouter } from 'next/navigation';
import { Suspense, useState } from 'react';
import { Confirm } from '@/components/confirm';
import { DataTable } from '@/components/data-table';
import { DataState, ErrorBox } from '@/components/states';
import { api, canPredict, canWrite, type Page } from '@/lib/api';
import { useSession } from '@/lib/auth';
import { formatBytes, formatDate, formatShape } from '@/lib/format';
import type { Model, ModelVersion, TensorSpec } from '@/lib/types';
import { useData } from '@/lib/use-data';
import { useQueryParam } from '@/lib/use-query';
import { Aliases } from './aliases';
import { Settings } from './settings';
import { Traffic } from './traffic';
import { TrafficStatsView } from './traffic-stats';

function Signature({ title, specs }: { title: string; specs: TensorSpec[] }) {
  return (
    <div>
      <strong>{title}</strong>
      <ul>
        {specs.map((spec) => (
          <li key={spec.name} className="mono">
            {spec.name}: {spec.dtype} {formatShape(spec.shape)}
          </li>
        ))}
      </ul>
    </div>
  );
}

function Versions({
  model,
  versions,
  writable,
  predictable,
  onDelete,
}: {
  model: Model;
  versions: ModelVersion[];
  writable: boolean;
  predictable: boolean;
  onDelete: (version: number) => void;
}) {
  if (versions.length === 0) return <p className="empty">No versions yet.</p>;
  return (
    <DataTable
      label="Versions"
      testId="versions"
      rows={versions}
      rowKey={(v) => v.version}
      columns={[
        { header: 'Version', cell: (v) => v.version },
        { header: 'Status', cell: (v) => <span className={`badge ${v.status}`}>{v.status}</span> },
        { header: 'Size', cell: (v) => formatBytes(v.sizeBytes) },
        { header: 'sha256', className: 'mono', title: (v) => v.sha256, cell: (v) => `${v.sha256.slice(0, 12)}…` },
        { header: 'Opset', cell: (v) => v.opsetVersion ?? '—' },
        { header: 'Created', cell: (v) => formatDate(v.createdAt) },
        {
          header: 'Signature',
          cell: (v) => (
            <details>
              <summary>
                {v.inputs.length} in, {v.outputs.length} out
              </summary>
              <Signature title="Inputs" specs={v.inputs} />
              <Signature title="Outputs" specs={v.outputs} />
            </details>
          ),
        },
        {
          header: 'Metadata',
          className: 'mono',
          cell: (v) =>
            v.metadata && Object.keys(v.metadata).length > 0
              ? Object.entries(v.metadata)
                  .map(([key, value]) => `${key}=${value}`)
                  .join(', ')
              : '—',
        },
        {
          header: 'Actions',
          cell: (v) => (
            <>
              {predictable && v.status === 'ready' && (
                <Link href={`/try/?name=${encodeURIComponent(model.name)}&version=${v.version}`}>Try it</Link>
              )}{' '}
              {writable && (
                <button
                  type="button"
                  className="link"
                  onClick={() => onDelete(v.version)}
                  aria-label={`Delete version ${v.version}`}
                >
                  Delete
                </button>
              )}
            </>
          ),
        },
      ]}
    />
  );
}

function ModelView({ name }: { name: string }) {
  const { me } = useSession();
  const router = useRouter();
  const [changed, setChanged] = useState(0);
  const [deleting, setDeleting] = useState<'model' | number>();
  const [error, setError] = useState<Error>();
  const path = `/api/v1/models/${encodeURIComponent(name)}`;
  const model = useData(() => api<Model>(path), `${name}|${changed}`);
  const versions = useData(() => api<Page<ModelVersion>>(`${path}/versions?limit=100`), `${name}|v|${changed}`);
  const writable = canWrite(me?.role);

  async function remove() {
    const target = deleting;
    setDeleting(undefined);
    setError(undefined);
    try {
      if (target === 'model') {
        await api(path, { method: 'DELETE' });
        router.push('/models/');
      } else if (target !== undefined) {
        await api(`${path}/versions/${target}`, { method: 'DELETE' });
        setChanged((n) => n + 1);
      }
    } catch (reason) {
      setError(reason as Error);
    }
  }

  const list = versions.data?.items ?? [];
  return (
    <DataState what="the model" {...model}>
      {(m) => (
        <>
          <h1>{m.name}</h1>
          <p>{m.description || <span className="muted">No description.</span>}</p>
          {m.tags.length > 0 && <p className="muted">Tags: {m.tags.join(', ')}</p>}
          <div className="row">
            {writable && <Link href={`/upload/?name=${encodeURIComponent(m.name)}`}>Upload a version</Link>}
            {canPredict(me?.role) && m.latestVersion !== null && (
              <Link href={`/try/?name=${encodeURIComponent(m.name)}&version=${m.latestVersion}`}>
                Try the latest version
              </Link>
            )}
          </div>
          {error && <ErrorBox error={error} />}
          <h2>Versions</h2>
          <DataState what="versions" {...versions}>
            {(page) => (
              <Versions
                model={m}
                versions={page.items}
                writable={writable}
                predictable={canPredict(me?.role)}
                onDelete={setDeleting}
              />
            )}
          </DataState>
          <Aliases model={m} versions={list} writable={writable} onChange={() => setChanged((n) => n + 1)} />
          <Traffic model={m} versions={list} writable={writable} />
          <TrafficStatsView name={m.name} />
          <Settings model={m} writable={writable} onSaved={() => setChanged((n) => n + 1)} />
          {writable && (
            <section aria-labelledby="danger-title">
              <h2 id="danger-title">Delete</h2>
              <button type="button" className="danger" onClick={() => setDeleting('model')}>
                Delete model {m.name}
              </button>
            </section>
          )}
          <Confirm
            open={deleting !== undefined}
            title={deleting === 'model' ? `Delete model ${m.name}` : `Delete version ${deleting}`}
            confirmLabel="Delete"
            danger
            onConfirm={() => void remove()}
            onCancel={() => setDeleting(undefined)}
          >
            {deleting === 'model' ? (
              <p>
                This removes {m.name} with its {list.length} version{list.length === 1 ? '' : 's'}
                {Object.keys(m.aliases).length > 0 ? `, its aliases (${Object.keys(m.aliases).join(', ')})` : ''}, its
                traffic policy, its cached predictions and its loaded sessions. It cannot be undone.
              </p>
            ) : (
              <p>
                This removes version {deleting} of {m.name} and its file (unless another version shares the bytes). It
                cannot be undone.
              </p>
            )}
          </Confirm>
        </>
      )}
    </DataState>
  );
}

function ModelPageBody() {
  const name = useQueryParam('name');
  if (!name)
    return (
      <p className="empty">
        No model named: open one from <Link href="/models/">Models</Link>.
      </p>
    );
  return <ModelView name={name} />;
}

export default function ModelPage() {
  return (
    <Suspense>
      <ModelPageBody />
    </Suspense>
  );
}
