'use client';
import { useState, type FormEvent } from 'react';
import { Confirm } from '@/components/confirm';
import { PagedTable } from '@/components/data-table';
import { FilterInput, FilterSelect, Filters } from '@/components/filters';
import { Pager } from '@/components/pager';
import { DataState, ErrorBox } from '@/components/states';
import { api, canPredict, type Page, query } from '@/lib/api';
import { useSession } from '@/lib/auth';
import { formatDate } from '@/lib/format';
import type { Job } from '@/lib/types';
import { useData } from '@/lib/use-data';

const LIMIT = 20;
/** How often the list is read again while a job is queued or running. */
const POLL_MS = 1000;
const RESULTS_PAGE = 100;

interface ResultItem {
  index: number;
  outputs?: unknown;
  error?: unknown;
}

/** Every result page of a job, as NDJSON (one result per line), saved by the browser. */
async function downloadResults(job: Job): Promise<void> {
  const lines: string[] = [];
  for (let skip = 0; ; skip += RESULTS_PAGE) {
    const page = await api<Page<ResultItem>>(`/api/v1/jobs/${job.id}/results${query({ skip, limit: RESULTS_PAGE })}`);
    for (const item of page.items) lines.push(JSON.stringify(item));
    if (skip + RESULTS_PAGE >= page.total) break;
  }
  const url = URL.createObjectURL(new Blob([lines.join('\n') + '\n'], { type: 'application/x-ndjson' }));
  const link = document.createElement('a');
  link.href = url;
  link.download = `job-${job.id}-results.ndjson`;
  link.click();
  URL.revokeObjectURL(url);
}

function Results({ job }: { job: Job }) {
  const [skip, setSkip] = useState(0);
  const results = useData(
    () => api<Page<ResultItem>>(`/api/v1/jobs/${job.id}/results${query({ skip, limit: 10 })}`),
    `${job.id}|${skip}|${job.progress.done}`,
  );
  return (
    <DataState what="results" {...results} isEmpty={(p) => p.items.length === 0} empty="No results yet.">
      {(page) => (
        <>
          <pre>{page.items.map((item) => JSON.stringify(item)).join('\n')}</pre>
          <Pager skip={page.skip} limit={page.limit} total={page.total} onChange={setSkip} />
        </>
      )}
    </DataState>
  );
}

function SubmitJob({ onSubmitted }: { onSubmitted: () => void }) {
  const [error, setError] = useState<Error>();
  async function submit(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    const data = new FormData(event.currentTarget);
    setError(undefined);
    try {
      const instances = JSON.parse(String(data.get('instances'))) as unknown;
      const version = String(data.get('version')).trim();
      await api('/api/v1/jobs', {
        method: 'POST',
        body: {
          model: String(data.get('model')).trim(),
          ...(version ? { version: /^\d+$/.test(version) ? Number(version) : version } : {}),
          instances,
        },
      });
      onSubmitted();
    } catch (reason) {
      setError(
        reason instanceof SyntaxError
          ? new Error(`Instances are not valid JSON: ${reason.message}`)
          : (reason as Error),
      );
    }
  }
  return (
    <details>
      <summary>Submit a job</summary>
      <form className="stack" onSubmit={(event) => void submit(event)} aria-label="Submit a job">
        <div className="row">
          <label>
            Model
            <input name="model" required />
          </label>
          <label>
            Version or alias (optional)
            <input name="version" />
          </label>
        </div>
        <label>
          Instances (a JSON array of {'{"inputs": {...}}'})
          <textarea
            name="instances"
            rows={5}
            required
            defaultValue={'[{"inputs": {"x": [[0, 0, 0, 0]]}}]'}
            spellCheck={false}
          />
        </label>
        {error && <ErrorBox error={error} />}
        <div>
          <button type="submit" className="primary">
            Submit job
          </button>
        </div>
      </form>
    </details>
  );
}

export default function JobsPage() {
  const { me } = useSession();
  const [status, setStatus] = useState('');
  const [model, setModel] = useState('');
  const [skip, setSkip] = useState(0);
  const [submitted, setSubmitted] = useState(0);
  const [open, setOpen] = useState<string>();
  const [cancelling, setCancelling] = useState<Job>();
  const [error, setError] = useState<Error>();
  const jobs = useData(
    () => api<Page<Job>>(`/api/v1/jobs${query({ status, model, skip, limit: LIMIT })}`),
    `${status}|${model}|${skip}|${submitted}`,
    POLL_MS,
  );
  const actor = canPredict(me?.role);

  async function cancel() {
    const job = cancelling;
    setCancelling(undefined);
    if (!job) return;
    setError(undefined);
    try {
      await api(`/api/v1/jobs/${job.id}/cancel`, { method: 'POST' });
      jobs.reload();
    } catch (reason) {
      setError(reason as Error);
    }
  }

  return (
    <>
      <h1>Jobs</h1>
      {actor && <SubmitJob onSubmitted={() => setSubmitted((n) => n + 1)} />}
      <Filters>
        <FilterSelect
          label="Status"
          value={status}
          options={['queued', 'running', 'completed', 'failed', 'cancelled']}
          onChange={(v) => (setStatus(v), setSkip(0))}
        />
        <FilterInput label="Model" value={model} onChange={(v) => (setModel(v), setSkip(0))} />
      </Filters>
      {error && <ErrorBox error={error} />}
      <DataState what="jobs" {...jobs} isEmpty={(p) => p.items.length === 0} empty="No jobs.">
        {(page) => (
          <>
            <PagedTable
              label="Jobs"
              testId="jobs"
              page={page}
              onSkip={setSkip}
              rowKey={(job) => job.id}
              rowProps={(job) => ({ 'data-job': job.id })}
              columns={[
                { header: 'Job', className: 'mono', cell: (job) => job.id.slice(0, 8) },
                {
                  header: 'Model',
                  cell: (job) => (
                    <>
                      {job.model}
                      {job.version !== null ? ` v${job.version}` : ''}
                    </>
                  ),
                },
                {
                  header: 'Status',
                  cell: (job) => (
                    <>
                      <span className={`badge ${job.status}`} data-testid="job-status">
                        {job.status}
                      </span>
                      {job.error && <div className="error">{job.error}</div>}
                    </>
                  ),
                },
                {
                  header: 'Progress',
                  cell: (job) => (
                    <>
                      <progress
                        max={100}
                        value={job.progress.percent}
                        aria-label={`Job ${job.id.slice(0, 8)} progress`}
                      />
                      <span data-testid="job-percent">{job.progress.percent}%</span> ({job.progress.done}/
                      {job.progress.total})
                    </>
                  ),
                },
                { header: 'Created', cell: (job) => formatDate(job.createdAt) },
                { header: 'Finished', cell: (job) => formatDate(job.finishedAt) },
                {
                  header: 'Actions',
                  cell: (job) => (
                    <>
                      {actor && (job.status === 'queued' || job.status === 'running') && (
                        <button type="button" onClick={() => setCancelling(job)}>
                          Cancel
                        </button>
                      )}
                      {actor && (
                        <>
                          <button
                            type="button"
                            className="link"
                            onClick={() => setOpen(open === job.id ? undefined : job.id)}
                          >
                            {open === job.id ? 'Hide results' : 'Results'}
                          </button>
                          <button
                            type="button"
                            className="link"
                            onClick={() => void downloadResults(job).catch(setError)}
                          >
                            Download NDJSON
                          </button>
                        </>
                      )}
                    </>
                  ),
                },
              ]}
            />
            {open && page.items.find((job) => job.id === open) && (
              <Results job={page.items.find((job) => job.id === open)!} />
            )}
          </>
        )}
      </DataState>
      <Confirm
        open={cancelling !== undefined}
        title="Cancel job"
        confirmLabel="Cancel job"
        danger
        onConfirm={() => void cancel()}
        onCancel={() => setCancelling(undefined)}
      >
        <p>
          Cancel job {cancelling?.id.slice(0, 8)} of {cancelling?.model}? A queued job never runs; a running one stops
          at its next chunk.
        </p>
      </Confirm>
    </>
  );
}
