import { useEffect } from 'react';

/**
 * Reads again every `intervalMs` while `active` (a run still going), waiting
 * for each read to finish before scheduling the next.
 */
export function useRefreshWhile(
  active: boolean,
  state: { loading: boolean; retry: () => void },
  intervalMs: number,
) {
  const { loading, retry } = state;
  useEffect(() => {
    if (!active || loading) return undefined;
    const timer = setTimeout(retry, intervalMs);
    return () => clearTimeout(timer);
  }, [active, loading, retry, intervalMs]);
}
