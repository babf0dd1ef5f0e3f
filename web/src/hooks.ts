import { useCallback, useEffect, useState } from 'react';
import { get, type Query } from './api';

export interface Resource<T> {
  data: T | undefined;
  error: Error | undefined;
  loading: boolean;
  reload: () => void;
}

/** GETs `path` with `query` whenever either changes; `reload` fetches again. */
export function useResource<T>(path: string | undefined, query: Query = {}): Resource<T> {
  const [data, setData] = useState<T | undefined>(undefined);
  const [error, setError] = useState<Error | undefined>(undefined);
  const [loading, setLoading] = useState(false);
  const [tick, setTick] = useState(0);
  const key = JSON.stringify(query);
  useEffect(() => {
    if (path === undefined) return;
    let live = true;
    setLoading(true);
    get<T>(path, JSON.parse(key) as Query)
      .then((value) => {
        if (!live) return;
        setData(value);
        setError(undefined);
      })
      .catch((caught: unknown) => {
        if (live) setError(caught instanceof Error ? caught : new Error(String(caught)));
      })
      .finally(() => {
        if (live) setLoading(false);
      });
    return () => {
      live = false;
    };
  }, [path, key, tick]);
  const reload = useCallback(() => setTick((n) => n + 1), []);
  return { data, error, loading, reload };
}
