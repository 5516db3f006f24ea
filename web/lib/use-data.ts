'use client';
import { useCallback, useEffect, useRef, useState } from 'react';

export interface Data<T> {
  data: T | undefined;
  error: Error | undefined;
  loading: boolean;
  reload(): void;
}

/**
 * Loads what `load` returns whenever `key` changes (or reload() is called); with `pollMs`, again
 * that often while the page is open. An answer that arrives after a newer request started is dropped.
 */
export function useData<T>(load: () => Promise<T>, key: string, pollMs?: number): Data<T> {
  const [data, setData] = useState<T | undefined>(undefined);
  const [error, setError] = useState<Error | undefined>(undefined);
  const [loading, setLoading] = useState(true);
  const [tick, setTick] = useState(0);
  const latest = useRef(0);
  const loader = useRef(load);
  loader.current = load;

  useEffect(() => {
    const id = ++latest.current;
    setLoading(true);
    loader.current().then(
      (value) => {
        if (id !== latest.current) return;
        setData(value);
        setError(undefined);
        setLoading(false);
      },
      (reason: unknown) => {
        if (id !== latest.current) return;
        setError(reason instanceof Error ? reason : new Error(String(reason)));
        setLoading(false);
      },
    );
  }, [key, tick]);

  useEffect(() => {
    if (!pollMs) return;
    const timer = setInterval(() => setTick((n) => n + 1), pollMs);
    return () => clearInterval(timer);
  }, [pollMs]);

  const reload = useCallback(() => setTick((n) => n + 1), []);
  return { data, error, loading, reload };
}
