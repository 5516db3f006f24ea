'use client';
import { useState } from 'react';
import { Confirm } from '@/components/confirm';
import { ErrorBox } from '@/components/states';
import { api } from '@/lib/api';
import type { Model, ModelVersion } from '@/lib/types';

/** Aliases of a model: move one onto a version (with a confirmation) or remove it. */
export function Aliases({
  model,
  versions,
  writable,
  onChange,
}: {
  model: Model;
  versions: ModelVersion[];
  writable: boolean;
  onChange: () => void;
}) {
  const [alias, setAlias] = useState('');
  const [version, setVersion] = useState('');
  const [pending, setPending] = useState<{ alias: string; version: number } | { remove: string }>();
  const [error, setError] = useState<Error>();
  const entries = Object.entries(model.aliases);
  const ready = versions.filter((v) => v.status === 'ready');

  async function apply() {
    const action = pending;
    setPending(undefined);
    if (!action) return;
    setError(undefined);
    try {
      const base = `/api/v1/models/${encodeURIComponent(model.name)}/aliases/`;
      if ('remove' in action) await api(base + encodeURIComponent(action.remove), { method: 'DELETE' });
      else await api(base + encodeURIComponent(action.alias), { method: 'PUT', body: { version: action.version } });
      onChange();
    } catch (reason) {
      setError(reason as Error);
    }
  }

  const current = pending && !('remove' in pending) ? model.aliases[pending.alias] : undefined;
  return (
    <section aria-labelledby="aliases-title">
      <h2 id="aliases-title">Aliases</h2>
      {entries.length === 0 ? (
        <p className="empty">No aliases.</p>
      ) : (
        <ul data-testid="aliases">
          {entries.map(([name, v]) => (
            <li key={name}>
              <strong>{name}</strong> → version {v}{' '}
              {writable && (
                <button
                  type="button"
                  className="link"
                  onClick={() => setPending({ remove: name })}
                  aria-label={`Remove alias ${name}`}
                >
                  Remove
                </button>
              )}
            </li>
          ))}
        </ul>
      )}
      {writable && (
        <form
          className="row"
          aria-label="Move an alias"
          onSubmit={(event) => {
            event.preventDefault();
            setPending({ alias: alias.trim(), version: Number(version) });
          }}
        >
          <label>
            Alias
            <input
              value={alias}
              onChange={(e) => setAlias(e.target.value)}
              required
              pattern="[a-z][a-z0-9_\-]{0,31}"
              list="alias-names"
            />
            <datalist id="alias-names">
              {entries.map(([name]) => (
                <option key={name} value={name} />
              ))}
            </datalist>
          </label>
          <label>
            Version
            <select value={version} onChange={(e) => setVersion(e.target.value)} required>
              <option value="">choose…</option>
              {ready.map((v) => (
                <option key={v.version} value={v.version}>
                  {v.version}
                </option>
              ))}
            </select>
          </label>
          <button type="submit" className="primary">
            Move alias
          </button>
        </form>
      )}
      {error && <ErrorBox error={error} />}
      <Confirm
        open={pending !== undefined}
        title={pending && 'remove' in pending ? 'Remove alias' : 'Move alias'}
        confirmLabel={pending && 'remove' in pending ? 'Remove' : 'Move'}
        danger={pending !== undefined && 'remove' in pending}
        onConfirm={() => void apply()}
        onCancel={() => setPending(undefined)}
      >
        {pending &&
          ('remove' in pending ? (
            <p>
              Remove alias <strong>{pending.remove}</strong> of {model.name}? Requests naming it will get 404.
            </p>
          ) : (
            <p>
              Point <strong>{pending.alias}</strong> of {model.name} at version <strong>{pending.version}</strong>
              {current !== undefined ? ` (now version ${current})` : ' (a new alias)'}? Requests naming it switch at
              once.
            </p>
          ))}
      </Confirm>
    </section>
  );
}
