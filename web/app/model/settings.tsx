'use client';
import { useState, type FormEvent } from 'react';
import { ErrorBox } from '@/components/states';
import { api } from '@/lib/api';
import type { Model } from '@/lib/types';

/** A checkbox with its label after it; unset settings start unchecked. */
function Toggle({ name, checked, label }: { name: string; checked: boolean | undefined; label: string }) {
  return (
    <label className="inline">
      <input type="checkbox" name={name} defaultChecked={checked ?? false} /> {label}
    </label>
  );
}

/** A required whole-number setting, pre-filled with the current value or the server default. */
function NumberField({
  label,
  name,
  min,
  max,
  value,
}: {
  label: string;
  name: string;
  min: number;
  max: number;
  value: number;
}) {
  return (
    <label>
      {label}
      <input name={name} type="number" min={min} max={max} required defaultValue={value} />
    </label>
  );
}

/** Cache, batching and payload logging of a model: shown to all, edited by maintainers (PATCH). */
export function Settings({ model, writable, onSaved }: { model: Model; writable: boolean; onSaved: () => void }) {
  const [error, setError] = useState<Error>();
  const [saved, setSaved] = useState(false);

  async function save(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    const data = new FormData(event.currentTarget);
    setError(undefined);
    setSaved(false);
    try {
      await api(`/api/v1/models/${encodeURIComponent(model.name)}`, {
        method: 'PATCH',
        body: {
          cache: { enabled: data.get('cacheEnabled') === 'on', ttlSeconds: Number(data.get('ttlSeconds')) },
          logPayloads: data.get('logPayloads') === 'on',
          batching: {
            enabled: data.get('batchingEnabled') === 'on',
            maxBatchSize: Number(data.get('maxBatchSize')),
            maxQueueDelayMs: Number(data.get('maxQueueDelayMs')),
          },
        },
      });
      setSaved(true);
      onSaved();
    } catch (reason) {
      setError(reason as Error);
    }
  }

  const cache = model.cache;
  const batching = model.batching;
  return (
    <section aria-labelledby="settings-title">
      <h2 id="settings-title">Cache and batching</h2>
      {!writable ? (
        <ul>
          <li>
            Prediction cache: {cache ? `${cache.enabled ? 'on' : 'off'}, TTL ${cache.ttlSeconds} s` : 'server default'}
          </li>
          <li>
            Dynamic batching:{' '}
            {batching?.enabled
              ? `on, up to ${batching.maxBatchSize} requests, waiting at most ${batching.maxQueueDelayMs} ms`
              : 'off'}
          </li>
          <li>Payload logging: {model.logPayloads ? 'on' : 'off'}</li>
        </ul>
      ) : (
        <form
          className="stack"
          aria-label="Model settings"
          onSubmit={(event) => void save(event)}
          key={model.updatedAt}
        >
          <div className="row">
            <Toggle name="cacheEnabled" checked={cache?.enabled} label="Prediction cache" />
            <NumberField
              label="Cache TTL (seconds)"
              name="ttlSeconds"
              min={1}
              max={2592000}
              value={cache?.ttlSeconds ?? 300}
            />
            <Toggle name="logPayloads" checked={model.logPayloads} label="Log payloads" />
          </div>
          <div className="row">
            <Toggle name="batchingEnabled" checked={batching?.enabled} label="Dynamic batching" />
            <NumberField
              label="Max batch size"
              name="maxBatchSize"
              min={1}
              max={1024}
              value={batching?.maxBatchSize ?? 8}
            />
            <NumberField
              label="Max queue delay (ms)"
              name="maxQueueDelayMs"
              min={0}
              max={1000}
              value={batching?.maxQueueDelayMs ?? 5}
            />
          </div>
          {error && <ErrorBox error={error} />}
          {saved && (
            <p className="success" role="status">
              Settings saved.
            </p>
          )}
          <div>
            <button type="submit" className="primary">
              Save settings
            </button>
          </div>
        </form>
      )}
    </section>
  );
}
