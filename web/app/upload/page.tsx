'use client';
import Link from 'next/link';
import { Suspense, useState, type DragEvent } from 'react';
import { DataState, ErrorBox } from '@/components/states';
import { api, type Page } from '@/lib/api';
import { formatBytes } from '@/lib/format';
import type { Model, ModelVersion } from '@/lib/types';
import { uploadFile } from '@/lib/upload';
import { useData } from '@/lib/use-data';
import { useQueryParam } from '@/lib/use-query';

function Uploader() {
  const initial = useQueryParam('name');
  const models = useData(() => api<Page<Model>>('/api/v1/models?limit=100'), 'models');
  const [name, setName] = useState(initial);
  const [file, setFile] = useState<File>();
  const [description, setDescription] = useState('');
  const [over, setOver] = useState(false);
  const [progress, setProgress] = useState<number>();
  const [phase, setPhase] = useState<'idle' | 'sending' | 'checking' | 'done'>('idle');
  const [error, setError] = useState<Error>();
  const [created, setCreated] = useState<ModelVersion>();

  function drop(event: DragEvent<HTMLDivElement>) {
    event.preventDefault();
    setOver(false);
    const dropped = event.dataTransfer.files[0];
    if (dropped) setFile(dropped);
  }

  async function upload() {
    if (!file || !name) return;
    setError(undefined);
    setCreated(undefined);
    setProgress(0);
    setPhase('sending');
    try {
      const version = await uploadFile<ModelVersion>(
        `/api/v1/models/${encodeURIComponent(name)}/versions`,
        { ...(description ? { description } : {}), file },
        (fraction) => {
          setProgress(fraction);
          // Every byte is sent: the server now validates, loads and warms the model up.
          if (fraction >= 1) setPhase('checking');
        },
      );
      setCreated(version);
      setPhase('done');
    } catch (reason) {
      setError(reason as Error);
      setPhase('idle');
    }
  }

  return (
    <>
      <h1>Upload a version</h1>
      <DataState
        what="models"
        {...models}
        isEmpty={(page) => page.items.length === 0}
        empty={
          <>
            Create a model first on <Link href="/models/">Models</Link>.
          </>
        }
      >
        {(page) => (
          <form
            className="stack"
            aria-label="Upload a model version"
            onSubmit={(event) => {
              event.preventDefault();
              void upload();
            }}
          >
            <label>
              Model
              <select value={name} onChange={(e) => setName(e.target.value)} required>
                <option value="">choose…</option>
                {page.items.map((m) => (
                  <option key={m.id} value={m.name}>
                    {m.name}
                  </option>
                ))}
              </select>
            </label>
            <div
              className={`dropzone${over ? ' over' : ''}`}
              data-testid="dropzone"
              onDragOver={(event) => {
                event.preventDefault();
                setOver(true);
              }}
              onDragLeave={() => setOver(false)}
              onDrop={drop}
            >
              <p>Drop an .onnx file here, or</p>
              <label>
                Choose a file
                <input
                  type="file"
                  accept=".onnx,application/octet-stream"
                  onChange={(e) => setFile(e.target.files?.[0])}
                />
              </label>
              {file && (
                <p data-testid="chosen-file">
                  {file.name} ({formatBytes(file.size)})
                </p>
              )}
            </div>
            <label>
              Description (optional)
              <input value={description} onChange={(e) => setDescription(e.target.value)} maxLength={2000} />
            </label>
            {progress !== undefined && (
              <label>
                {phase === 'sending'
                  ? 'Sending'
                  : phase === 'checking'
                    ? 'Sent; the server is checking and loading the model'
                    : 'Upload'}
                <progress
                  data-testid="upload-progress"
                  max={1}
                  value={progress}
                  aria-valuetext={`${Math.round(progress * 100)}%`}
                />
                <span className="muted">{Math.round(progress * 100)}%</span>
              </label>
            )}
            {error && <ErrorBox error={error} />}
            {created && (
              <p className="success" role="status" data-testid="upload-done">
                Version {created.version} of {created.model} is {created.status}.{' '}
                <Link href={`/model/?name=${encodeURIComponent(created.model)}`}>Open the model</Link>
              </p>
            )}
            <div>
              <button
                type="submit"
                className="primary"
                disabled={!file || !name || phase === 'sending' || phase === 'checking'}
              >
                Upload
              </button>
            </div>
          </form>
        )}
      </DataState>
    </>
  );
}

export default function UploadPage() {
  return (
    <Suspense>
      <Uploader />
    </Suspense>
  );
}
