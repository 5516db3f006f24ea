'use client';
import { useState, type FormEvent } from 'react';
import { ErrorBox } from '@/components/states';
import { api } from '@/lib/api';
import type { Model } from '@/lib/types';

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
            <label className="inline">
              <input type="checkbox" name="cacheEnabled" defaultChecked={cache?.enabled ?? false} /> Prediction cache
            </label>
            <label>
              Cache TTL (seconds)
              <input
                name="ttlSeconds"
                type="number"
                min={1}
                max={2592000}
                required
                defaultValue={cache?.ttlSeconds ?? 300}
              />
            </label>
            <label className="inline">
              <input type="checkbox" name="logPayloads" defaultChecked={model.logPayloads ?? false} /> Log payloads
            </label>
          </div>
          <div className="row">
            <label className="inline">
              <input type="checkbox" name="batchingEnabled" defaultChecked={batching?.enabled ?? false} /> Dynamic
              batching
            </label>
            <label>
              Max batch size
              <input
                name="maxBatchSize"
                type="number"
                min={1}
                max={1024}
                required
                defaultValue={batching?.maxBatchSize ?? 8}
              />
            </label>
            <label>
              Max queue delay (ms)
              <input
                name="maxQueueDelayMs"
                type="number"
                min={0}
                max={1000}
                required
                defaultValue={batching?.maxQueueDelayMs ?? 5}
              />
            </label>
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
