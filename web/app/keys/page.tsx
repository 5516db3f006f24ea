'use client';
import { useState, type FormEvent } from 'react';
import { Confirm } from '@/components/confirm';
import { PagedTable } from '@/components/data-table';
import { DataState, ErrorBox } from '@/components/states';
import { api, type Page, query, type Role } from '@/lib/api';
import { commaList, formatDate } from '@/lib/format';
import { useData } from '@/lib/use-data';

interface ApiKey {
  id: string;
  name: string;
  role: Role;
  prefix: string;
  models: string[] | null;
  rateLimitPerMinute: number | null;
  createdAt: string;
  expiresAt: string | null;
  lastUsedAt: string | null;
  revokedAt: string | null;
}

const ROLES: Role[] = ['viewer', 'predictor', 'maintainer', 'admin'];

/** The secret of a key just created: shown once, with a copy button; the API never returns it again. */
function NewSecret({ created, onDismiss }: { created: ApiKey & { key: string }; onDismiss: () => void }) {
  const [copied, setCopied] = useState(false);
  return (
    <div className="success" role="status" data-testid="new-key">
      <p>
        Key <strong>{created.name}</strong> created. Copy its secret now: it is not shown again.
      </p>
      <div className="secret">
        <code data-testid="new-key-secret">{created.key}</code>
        <button
          type="button"
          onClick={() =>
            void navigator.clipboard.writeText(created.key).then(
              () => setCopied(true),
              () => setCopied(false),
            )
          }
        >
          {copied ? 'Copied' : 'Copy'}
        </button>
        <button type="button" onClick={onDismiss}>
          Done
        </button>
      </div>
    </div>
  );
}

function CreateKey({ onCreated }: { onCreated: (key: ApiKey & { key: string }) => void }) {
  const [error, setError] = useState<Error>();
  async function submit(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    const form = event.currentTarget;
    const data = new FormData(form);
    const models = commaList(data.get('models'));
    const expires = String(data.get('expiresAt'));
    const rate = String(data.get('rate'));
    setError(undefined);
    try {
      const created = await api<ApiKey & { key: string }>('/api/v1/auth/keys', {
        method: 'POST',
        body: {
          name: String(data.get('name')).trim(),
          role: String(data.get('role')),
          ...(models.length ? { models } : {}),
          ...(expires ? { expiresAt: new Date(expires).toISOString() } : {}),
          ...(rate ? { rateLimitPerMinute: Number(rate) } : {}),
        },
      });
      form.reset();
      onCreated(created);
    } catch (reason) {
      setError(reason as Error);
    }
  }
  return (
    <form className="stack" onSubmit={(e) => void submit(e)} aria-label="Create a key">
      <h2>Create a key</h2>
      <div className="row">
        <label>
          Name
          <input name="name" required maxLength={100} />
        </label>
        <label>
          Role
          <select name="role" defaultValue="predictor">
            {ROLES.map((role) => (
              <option key={role}>{role}</option>
            ))}
          </select>
        </label>
        <label>
          Models (optional, comma separated, * allowed)
          <input name="models" placeholder="iris, fraud-*" />
        </label>
        <label>
          Expires (optional, your time zone)
          <input name="expiresAt" type="datetime-local" />
        </label>
        <label>
          Requests per minute (optional)
          <input name="rate" type="number" min={1} />
        </label>
      </div>
      {error && <ErrorBox error={error} />}
      <div>
        <button type="submit" className="primary">
          Create key
        </button>
      </div>
    </form>
  );
}

export default function KeysPage() {
  const [skip, setSkip] = useState(0);
  const [created, setCreated] = useState<ApiKey & { key: string }>();
  const [revoking, setRevoking] = useState<ApiKey>();
  const [error, setError] = useState<Error>();
  const [changed, setChanged] = useState(0);
  const keys = useData(() => api<Page<ApiKey>>(`/api/v1/auth/keys${query({ skip, limit: 20 })}`), `${skip}|${changed}`);

  async function revoke() {
    const key = revoking;
    setRevoking(undefined);
    if (!key) return;
    setError(undefined);
    try {
      await api(`/api/v1/auth/keys/${key.id}`, { method: 'DELETE' });
      setChanged((n) => n + 1);
    } catch (reason) {
      setError(reason as Error);
    }
  }

  return (
    <>
      <h1>API keys</h1>
      {created && <NewSecret created={created} onDismiss={() => setCreated(undefined)} />}
      {error && <ErrorBox error={error} />}
      <DataState what="keys" {...keys} isEmpty={(p) => p.items.length === 0} empty="No keys yet.">
        {(page) => (
          <PagedTable
            label="API keys"
            testId="keys"
            page={page}
            onSkip={setSkip}
            rowKey={(key) => key.id}
            rowProps={(key) => ({ 'data-key': key.name })}
            columns={[
              { header: 'Name', cell: (key) => key.name },
              { header: 'Role', cell: (key) => key.role },
              { header: 'Prefix', className: 'mono', cell: (key) => key.prefix },
              { header: 'Models', cell: (key) => key.models?.join(', ') ?? 'all' },
              { header: 'Created', cell: (key) => formatDate(key.createdAt) },
              { header: 'Expires', cell: (key) => formatDate(key.expiresAt) },
              { header: 'Last used', cell: (key) => formatDate(key.lastUsedAt) },
              {
                header: 'State',
                cell: (key) =>
                  key.revokedAt ? (
                    <span className="badge down">revoked {formatDate(key.revokedAt)}</span>
                  ) : (
                    <button
                      type="button"
                      className="danger"
                      onClick={() => setRevoking(key)}
                      aria-label={`Revoke key ${key.name}`}
                    >
                      Revoke
                    </button>
                  ),
              },
            ]}
          />
        )}
      </DataState>
      <CreateKey
        onCreated={(key) => {
          setCreated(key);
          setChanged((n) => n + 1);
        }}
      />
      <Confirm
        open={revoking !== undefined}
        title="Revoke key"
        confirmLabel="Revoke"
        danger
        onConfirm={() => void revoke()}
        onCancel={() => setRevoking(undefined)}
      >
        <p>Revoke key {revoking?.name}? It stops working at once on every replica. This cannot be undone.</p>
      </Confirm>
    </>
  );
}
