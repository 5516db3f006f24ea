'use client';
import Link from 'next/link';
import { Suspense, useEffect, useState } from 'react';
import { DataState, ErrorBox } from '@/components/states';
import { api, call, errorOf } from '@/lib/api';
import { formatShape } from '@/lib/format';
import { useData } from '@/lib/use-data';
import { useQueryParam } from '@/lib/use-query';
import { defaultShape, GRID_MAX_ELEMENTS, type InputField, inputFields, nest, parseCell, zeroOf } from './schema-form';

interface Answer {
  status: number;
  body: unknown;
  cache: string | null;
  servedVersion: string | null;
  serverTiming: string | null;
}

/** One input: a grid of cells for a small tensor, else a JSON text of nested arrays. */
function InputEditor({
  field,
  value,
  onChange,
}: {
  field: InputField;
  value: string;
  onChange: (text: string) => void;
}) {
  const shape = defaultShape(field);
  const count = shape.reduce((a, b) => a * b, 1);
  const grid = field.accepted && shape.length <= 2 && count <= GRID_MAX_ELEMENTS && field.dtype !== 'string';
  const [cells, setCells] = useState<string[]>(() => Array.from({ length: count }, () => String(zeroOf(field.dtype))));
  const [asText, setAsText] = useState(!grid);

  useEffect(() => {
    // The JSON follows the grid while the grid is shown; a text field starts with zeros.
    if (grid && !asText)
      onChange(
        JSON.stringify(
          nest(
            shape,
            cells.map((cell) => parseCell(field.dtype, cell)),
          ),
        ),
      );
    else if (value === '')
      onChange(
        JSON.stringify(
          nest(
            shape,
            Array.from({ length: count }, () => zeroOf(field.dtype)),
          ),
        ),
      );
  }, [cells, asText]);

  const label = `${field.name} (${field.dtype} ${formatShape(field.dims.map((d) => d ?? -1))})`;
  if (!field.accepted)
    return (
      <p className="muted">
        {label}: {field.description}
      </p>
    );
  const columns = shape.length === 2 ? shape[1] : Math.max(1, count);
  return (
    <fieldset>
      <legend>{label}</legend>
      {grid && (
        <label className="row" style={{ flexDirection: 'row', alignItems: 'center' }}>
          <input type="checkbox" checked={asText} onChange={(e) => setAsText(e.target.checked)} /> Edit as JSON
        </label>
      )}
      {grid && !asText ? (
        <div
          className="grid-input"
          style={{ gridTemplateColumns: `repeat(${Math.min(columns, 8)}, minmax(0, 5.5rem))` }}
        >
          {cells.map((cell, index) => (
            <input
              key={index}
              aria-label={`${field.name} element ${index}`}
              value={cell}
              inputMode="decimal"
              onChange={(e) => setCells(cells.map((c, i) => (i === index ? e.target.value : c)))}
            />
          ))}
        </div>
      ) : (
        <label>
          {field.name} as JSON (nested arrays, or {'{"shape": [...], "data": [...]}'})
          <textarea rows={4} value={value} onChange={(e) => onChange(e.target.value)} spellCheck={false} />
        </label>
      )}
      {asText && (
        <label>
          Or load a JSON file
          <input
            type="file"
            accept=".json,application/json"
            onChange={(e) => void e.target.files?.[0]?.text().then(onChange)}
          />
        </label>
      )}
    </fieldset>
  );
}

function TryForm({ name, version }: { name: string; version: string }) {
  const schema = useData(
    () =>
      api<Record<string, unknown>>(
        `/api/v1/models/${encodeURIComponent(name)}/versions/${encodeURIComponent(version)}/schema`,
      ),
    `${name}|${version}`,
  );
  const [values, setValues] = useState<Record<string, string>>({});
  const [mode, setMode] = useState<'form' | 'json'>('form');
  const [raw, setRaw] = useState('');
  const [error, setError] = useState<Error>();
  const [answer, setAnswer] = useState<Answer>();
  const [busy, setBusy] = useState(false);

  function requestFromForm(fields: InputField[]): unknown {
    const inputs: Record<string, unknown> = {};
    for (const field of fields.filter((f) => f.accepted)) {
      const text = values[field.name] ?? '';
      try {
        inputs[field.name] = JSON.parse(text);
      } catch {
        throw new Error(`${field.name} is not valid JSON`);
      }
    }
    return { model: name, version: Number(version), inputs };
  }

  async function predict(fields: InputField[]) {
    setError(undefined);
    setAnswer(undefined);
    setBusy(true);
    try {
      const body = mode === 'form' ? requestFromForm(fields) : (JSON.parse(raw) as unknown);
      const res = await call('/api/v1/predictions', { method: 'POST', body });
      if (!res.ok) throw await errorOf(res);
      setAnswer({
        status: res.status,
        body: await res.json(),
        cache: res.headers.get('X-Cache'),
        servedVersion: res.headers.get('X-Model-Version'),
        serverTiming: res.headers.get('Server-Timing'),
      });
    } catch (reason) {
      setError(
        reason instanceof SyntaxError
          ? new Error(`The request is not valid JSON: ${reason.message}`)
          : (reason as Error),
      );
    } finally {
      setBusy(false);
    }
  }

  return (
    <DataState what="the request schema" {...schema}>
      {(s) => {
        const fields = inputFields(s);
        return (
          <form
            className="stack"
            aria-label="Prediction request"
            onSubmit={(event) => {
              event.preventDefault();
              void predict(fields);
            }}
          >
            <fieldset className="tabs">
              <legend>Request</legend>
              <label>
                <input type="radio" name="mode" checked={mode === 'form'} onChange={() => setMode('form')} /> Form
              </label>
              <label>
                <input
                  type="radio"
                  name="mode"
                  checked={mode === 'json'}
                  onChange={() => {
                    setMode('json');
                    try {
                      setRaw(JSON.stringify(requestFromForm(fields), null, 2));
                    } catch {
                      setRaw('');
                    }
                  }}
                />{' '}
                Paste JSON
              </label>
            </fieldset>
            {mode === 'form' ? (
              fields.map((field) => (
                <InputEditor
                  key={field.name}
                  field={field}
                  value={values[field.name] ?? ''}
                  onChange={(text) => setValues((v) => ({ ...v, [field.name]: text }))}
                />
              ))
            ) : (
              <label>
                The whole request body (POST /api/v1/predictions)
                <textarea rows={10} value={raw} onChange={(e) => setRaw(e.target.value)} spellCheck={false} />
              </label>
            )}
            {error && <ErrorBox error={error} />}
            <div>
              <button type="submit" className="primary" disabled={busy}>
                {busy ? 'Predicting…' : 'Predict'}
              </button>
            </div>
            {answer && (
              <section aria-labelledby="answer-title" data-testid="prediction-answer">
                <h2 id="answer-title">Answer</h2>
                <ul>
                  <li>Served by version {answer.servedVersion}</li>
                  <li>
                    Cache: <span data-testid="answer-cache">{answer.cache ?? '—'}</span>
                  </li>
                  <li>
                    Server-Timing: <span className="mono">{answer.serverTiming ?? '—'}</span>
                  </li>
                </ul>
                <pre data-testid="answer-body">{JSON.stringify(answer.body, null, 2)}</pre>
              </section>
            )}
          </form>
        );
      }}
    </DataState>
  );
}

function TryBody() {
  const name = useQueryParam('name');
  const version = useQueryParam('version');
  if (!name || !version)
    return (
      <p className="empty">
        Open a version from its model page to try it (<Link href="/models/">Models</Link>).
      </p>
    );
  return (
    <>
      <h1>
        Try {name} version {version}
      </h1>
      <TryForm name={name} version={version} />
    </>
  );
}

export default function TryPage() {
  return (
    <Suspense>
      <TryBody />
    </Suspense>
  );
}
