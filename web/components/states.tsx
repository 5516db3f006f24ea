'use client';
import type { ReactNode } from 'react';
import { ApiError } from '@/lib/api';

export function Loading({ what }: { what: string }) {
  return (
    <p className="muted" role="status" aria-live="polite">
      Loading {what}…
    </p>
  );
}

export function ErrorBox({ error, onRetry }: { error: Error; onRetry?: () => void }) {
  const requestId = error instanceof ApiError ? error.requestId : undefined;
  return (
    <div className="error" role="alert">
      <span>{error.message}</span>
      {requestId && <span className="muted"> (request {requestId})</span>}
      {onRetry && (
        <button type="button" className="link" onClick={onRetry}>
          Retry
        </button>
      )}
    </div>
  );
}

export function Empty({ children }: { children: ReactNode }) {
  return <p className="empty">{children}</p>;
}

/** Loading first, then the error, then empty, else the content. */
export function DataState<T>({
  what,
  data,
  error,
  loading,
  reload,
  isEmpty,
  empty,
  children,
}: {
  what: string;
  data: T | undefined;
  error: Error | undefined;
  loading: boolean;
  reload: () => void;
  isEmpty?: (data: T) => boolean;
  empty?: ReactNode;
  children: (data: T) => ReactNode;
}) {
  if (error && data === undefined) return <ErrorBox error={error} onRetry={reload} />;
  if (data === undefined) return loading ? <Loading what={what} /> : null;
  return (
    <>
      {error && <ErrorBox error={error} onRetry={reload} />}
      {isEmpty?.(data) ? <Empty>{empty}</Empty> : children(data)}
    </>
  );
}
