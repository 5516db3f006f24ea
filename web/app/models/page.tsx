'use client';
import Link from 'next/link';
import { useState, type FormEvent } from 'react';
import { PagedTable } from '@/components/data-table';
import { FilterInput, Filters } from '@/components/filters';
import { DataState, ErrorBox } from '@/components/states';
import { api, canWrite, type Page, query } from '@/lib/api';
import { useSession } from '@/lib/auth';
import { commaList, formatDate } from '@/lib/format';
import type { Model } from '@/lib/types';
import { useData } from '@/lib/use-data';

const LIMIT = 20;

function CreateModel({ onCreated }: { onCreated: (name: string) => void }) {
  const [error, setError] = useState<Error>();
  const [busy, setBusy] = useState(false);
  async function submit(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    const form = event.currentTarget;
    const data = new FormData(form);
    const tags = commaList(data.get('tags'));
    const description = String(data.get('description')).trim();
    setBusy(true);
    setError(undefined);
    try {
      const model = await api<Model>('/api/v1/models', {
        method: 'POST',
        body: {
          name: String(data.get('name')).trim(),
          ...(description ? { description } : {}),
          ...(tags.length ? { tags } : {}),
        },
      });
      form.reset();
      onCreated(model.name);
    } catch (reason) {
      setError(reason as Error);
    } finally {
      setBusy(false);
    }
  }
  return (
    <form className="stack" onSubmit={(event) => void submit(event)} aria-label="Create a model">
      <h2>Create a model</h2>
      <div className="row">
        <label>
          Name
          <input name="name" required pattern="[a-z0-9][a-z0-9._\-]{0,63}" title="lower case letters, digits, . _ -" />
        </label>
        <label>
          Tags (comma separated)
          <input name="tags" />
        </label>
      </div>
      <label>
        Description
        <input name="description" maxLength={2000} />
      </label>
      {error && <ErrorBox error={error} />}
      <div>
        <button type="submit" className="primary" disabled={busy}>
          Create model
        </button>
      </div>
    </form>
  );
}

export default function ModelsPage() {
  const { me } = useSession();
  const [q, setQ] = useState('');
  const [tag, setTag] = useState('');
  const [skip, setSkip] = useState(0);
  const [created, setCreated] = useState<string>();
  const models = useData(
    () => api<Page<Model>>(`/api/v1/models${query({ q, tag, skip, limit: LIMIT })}`),
    `${q}|${tag}|${skip}|${created}`,
  );
  return (
    <>
      <h1>Models</h1>
      <Filters>
        <FilterInput
          label="Search name or description"
          type="search"
          value={q}
          onChange={(v) => (setQ(v), setSkip(0))}
        />
        <FilterInput label="Tag" value={tag} onChange={(v) => (setTag(v), setSkip(0))} />
      </Filters>
      {created && (
        <p className="success" role="status">
          Created <Link href={`/model/?name=${encodeURIComponent(created)}`}>{created}</Link>.
        </p>
      )}
      <DataState
        what="models"
        {...models}
        isEmpty={(page) => page.items.length === 0}
        empty={q || tag ? 'No model matches.' : 'No models yet.'}
      >
        {(page) => (
          <PagedTable
            label="Models"
            caption="Models"
            page={page}
            onSkip={setSkip}
            rowKey={(model) => model.id}
            columns={[
              {
                header: 'Name',
                cell: (model) => <Link href={`/model/?name=${encodeURIComponent(model.name)}`}>{model.name}</Link>,
              },
              { header: 'Latest', cell: (model) => model.latestVersion ?? '—' },
              {
                header: 'Aliases',
                cell: (model) =>
                  Object.entries(model.aliases)
                    .map(([alias, version]) => `${alias}→${version}`)
                    .join(', ') || '—',
              },
              { header: 'Tags', cell: (model) => model.tags.join(', ') || '—' },
              { header: 'Description', cell: (model) => model.description || '—' },
              { header: 'Updated', cell: (model) => formatDate(model.updatedAt) },
            ]}
          />
        )}
      </DataState>
      {canWrite(me?.role) && <CreateModel onCreated={setCreated} />}
    </>
  );
}
