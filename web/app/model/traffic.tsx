'use client';
import { useEffect, useState } from 'react';
import { Confirm } from '@/components/confirm';
import { DataState, ErrorBox } from '@/components/states';
import { api, ApiError } from '@/lib/api';
import type { Model, ModelVersion, TrafficPolicy } from '@/lib/types';
import { useData } from '@/lib/use-data';

interface Row {
  version: string;
  weight: string;
}

/** The policy, or null when the model has none (404: the latest ready version serves). */
async function loadPolicy(name: string): Promise<TrafficPolicy | null> {
  try {
    return await api<TrafficPolicy>(`/api/v1/models/${encodeURIComponent(name)}/traffic`);
  } catch (error) {
    if (error instanceof ApiError && error.status === 404) return null;
    throw error;
  }
}

/** The traffic split of a model: read it, edit members and weights, set or clear it. */
export function Traffic({ model, versions, writable }: { model: Model; versions: ModelVersion[]; writable: boolean }) {
  const policy = useData(() => loadPolicy(model.name), `traffic|${model.name}|${model.updatedAt}`);
  const [rows, setRows] = useState<Row[]>([]);
  const [sticky, setSticky] = useState('');
  const [shadowVersion, setShadowVersion] = useState('');
  const [shadowPercent, setShadowPercent] = useState('100');
  const [error, setError] = useState<Error>();
  const [saved, setSaved] = useState(false);
  const [confirmClear, setConfirmClear] = useState(false);
  const choices = [
    ...versions.filter((v) => v.status === 'ready').map((v) => String(v.version)),
    ...Object.keys(model.aliases),
  ];

  useEffect(() => {
    if (policy.data === undefined) return;
    setRows(
      policy.data ? policy.data.split.map((m) => ({ version: String(m.version), weight: String(m.weight) })) : [],
    );
    setSticky(policy.data?.sticky?.header ?? '');
    setShadowVersion(policy.data?.shadow ? String(policy.data.shadow.version) : '');
    setShadowPercent(policy.data?.shadow ? String(policy.data.shadow.percent) : '100');
  }, [policy.data]);

  const total = rows.reduce((sum, row) => sum + (Number(row.weight) || 0), 0);

  async function save() {
    setError(undefined);
    setSaved(false);
    try {
      await api(`/api/v1/models/${encodeURIComponent(model.name)}/traffic`, {
        method: 'PUT',
        body: {
          split: rows.map((row) => ({
            version: /^\d+$/.test(row.version) ? Number(row.version) : row.version,
            weight: Number(row.weight),
          })),
          ...(sticky.trim() ? { sticky: { header: sticky.trim() } } : {}),
          ...(shadowVersion
            ? {
                shadow: {
                  version: /^\d+$/.test(shadowVersion) ? Number(shadowVersion) : shadowVersion,
                  percent: Number(shadowPercent),
                },
              }
            : {}),
        },
      });
      setSaved(true);
      policy.reload();
    } catch (reason) {
      setError(reason as Error);
    }
  }

  async function clear() {
    setConfirmClear(false);
    setError(undefined);
    try {
      await api(`/api/v1/models/${encodeURIComponent(model.name)}/traffic`, { method: 'DELETE' });
      policy.reload();
    } catch (reason) {
      setError(reason as Error);
    }
  }

  return (
    <section aria-labelledby="traffic-title">
      <h2 id="traffic-title">Traffic split</h2>
      <DataState what="the traffic policy" {...policy}>
        {(current) => (
          <>
            <p className="muted" data-testid="traffic-summary">
              {current
                ? `Requests without a version: ${current.split.map((m) => `version ${m.version} weight ${m.weight}`).join(', ')}${current.sticky ? `; sticky by ${current.sticky.header}` : ''}${current.shadow ? `; ${current.shadow.percent}% mirrored to version ${current.shadow.version}` : ''}.`
                : 'No policy: requests without a version go to the latest ready version.'}
            </p>
            {writable && (
              <form
                aria-label="Edit the traffic split"
                onSubmit={(event) => {
                  event.preventDefault();
                  void save();
                }}
              >
                <div className="table-wrap" tabIndex={0} role="region" aria-label="Traffic split members">
                  <table>
                    <thead>
                      <tr>
                        <th scope="col">Version or alias</th>
                        <th scope="col">Weight</th>
                        <th scope="col">Share</th>
                        <th scope="col">
                          <span className="skip">Remove</span>
                        </th>
                      </tr>
                    </thead>
                    <tbody>
                      {rows.map((row, index) => (
                        <tr key={index}>
                          <td>
                            <select
                              aria-label={`Member ${index + 1} version`}
                              value={row.version}
                              required
                              onChange={(e) =>
                                setRows(rows.map((r, i) => (i === index ? { ...r, version: e.target.value } : r)))
                              }
                            >
                              <option value="">choose…</option>
                              {choices.map((choice) => (
                                <option key={choice} value={choice}>
                                  {choice}
                                </option>
                              ))}
                            </select>
                          </td>
                          <td>
                            <input
                              aria-label={`Member ${index + 1} weight`}
                              type="number"
                              min={0}
                              max={1000000}
                              required
                              value={row.weight}
                              onChange={(e) =>
                                setRows(rows.map((r, i) => (i === index ? { ...r, weight: e.target.value } : r)))
                              }
                            />
                          </td>
                          <td>{total > 0 ? `${((100 * (Number(row.weight) || 0)) / total).toFixed(1)}%` : '—'}</td>
                          <td>
                            <button
                              type="button"
                              onClick={() => setRows(rows.filter((_, i) => i !== index))}
                              aria-label={`Remove member ${index + 1}`}
                            >
                              Remove
                            </button>
                          </td>
                        </tr>
                      ))}
                    </tbody>
                  </table>
                </div>
                <div className="row" style={{ marginTop: '0.5rem' }}>
                  <button type="button" onClick={() => setRows([...rows, { version: '', weight: '0' }])}>
                    Add member
                  </button>
                  <label>
                    Sticky header (optional)
                    <input value={sticky} onChange={(e) => setSticky(e.target.value)} placeholder="X-User-Id" />
                  </label>
                  <button type="submit" className="primary" disabled={rows.length === 0}>
                    Save split
                  </button>
                  {current && (
                    <button type="button" className="danger" onClick={() => setConfirmClear(true)}>
                      Clear policy
                    </button>
                  )}
                </div>
                <fieldset className="row">
                  <legend>Shadow (optional): mirror a share of these requests to another version</legend>
                  <label>
                    Shadow version
                    <select value={shadowVersion} onChange={(e) => setShadowVersion(e.target.value)}>
                      <option value="">none</option>
                      {choices
                        .filter((choice) => !rows.some((row) => row.version === choice))
                        .map((choice) => (
                          <option key={choice} value={choice}>
                            {choice}
                          </option>
                        ))}
                    </select>
                  </label>
                  <label>
                    Percent mirrored
                    <input
                      type="number"
                      min={0}
                      max={100}
                      step="any"
                      value={shadowPercent}
                      disabled={!shadowVersion}
                      onChange={(e) => setShadowPercent(e.target.value)}
                    />
                  </label>
                </fieldset>
              </form>
            )}
            {saved && (
              <p className="success" role="status">
                Traffic split saved.
              </p>
            )}
            {error && <ErrorBox error={error} />}
          </>
        )}
      </DataState>
      <Confirm
        open={confirmClear}
        title="Clear the traffic policy"
        confirmLabel="Clear"
        danger
        onConfirm={() => void clear()}
        onCancel={() => setConfirmClear(false)}
      >
        <p>Requests to {model.name} that name no version will go to the latest ready version.</p>
      </Confirm>
    </section>
  );
}
