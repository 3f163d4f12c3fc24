import { useCallback, useEffect, useState } from 'react';
import { useTranslation } from 'react-i18next';
import { api } from '../../../lib/api';

/**
 * What the audit log, reports and insights pages share: UTC day arithmetic for the date filters,
 * a GET that follows its path (loading, error, data), the paging buttons, and CSV links.
 */

const DAY = 86_400_000;

/** Today as a UTC day (YYYY-MM-DD): the server's ranges are whole UTC days. */
export function todayUtc(now = Date.now()): string {
  return new Date(now).toISOString().slice(0, 10);
}

/** The UTC day `n` days before `day`. */
export function daysBefore(day: string, n: number): string {
  return new Date(Date.parse(`${day}T00:00:00.000Z`) - n * DAY).toISOString().slice(0, 10);
}

export function nextDay(day: string): string {
  return daysBefore(day, -1);
}

export const isDay = (s: string) => /^\d{4}-\d{2}-\d{2}$/.test(s) && !Number.isNaN(Date.parse(`${s}T00:00:00.000Z`));

/**
 * A server link (absolute, on PUBLIC_URL) as a path on this origin: the portal may be reached under
 * another host name than PUBLIC_URL names, and its requests must stay same-origin.
 */
export function localPath(link: string): string {
  const u = new URL(link, window.location.origin);
  return `${u.pathname}${u.search}`;
}

export interface Loaded<T> {
  data: T | null;
  error: unknown;
  loading: boolean;
  reload: () => void;
}

/** GET `path` whenever it changes (null: nothing yet); a newer path's answer always wins. */
export function useGet<T>(path: string | null): Loaded<T> {
  const [state, setState] = useState<{ data: T | null; error: unknown; loading: boolean }>({ data: null, error: null, loading: path !== null });
  const [tick, setTick] = useState(0);
  useEffect(() => {
    if (path === null) return;
    const controller = new AbortController();
    setState((s) => ({ data: s.data, error: null, loading: true }));
    api
      .get<T>(path, { signal: controller.signal })
      .then((data) => setState({ data, error: null, loading: false }))
      .catch((error: unknown) => {
        if (controller.signal.aborted) return;
        setState({ data: null, error, loading: false });
      });
    return () => controller.abort();
  }, [path, tick]);
  const reload = useCallback(() => setTick((n) => n + 1), []);
  return { ...state, reload };
}

/**
 * Previous / next page for keyset-paged lists: the pages visited are a stack of paths, so "previous"
 * goes back exactly (the server pages forward only).
 */
export function usePages(first: string | null) {
  const [stack, setStack] = useState<string[]>(first ? [first] : []);
  useEffect(() => {
    setStack(first ? [first] : []);
  }, [first]);
  const current = stack.at(-1) ?? null;
  return {
    current,
    pageNumber: stack.length,
    next: (path: string) => setStack((s) => [...s, path]),
    previous: () => setStack((s) => (s.length > 1 ? s.slice(0, -1) : s)),
  };
}

export function Pager({ pageNumber, hasNext, onPrevious, onNext, label }: { pageNumber: number; hasNext: boolean; onPrevious: () => void; onNext: () => void; label: string }) {
  const { t } = useTranslation('admin-audit');
  return (
    <nav className="pager" aria-label={label}>
      <button type="button" className="secondary" onClick={onPrevious} disabled={pageNumber <= 1}>
        {t('common:previousPage')}
      </button>
      <span aria-live="polite">{t('paging.page', { page: pageNumber })}</span>
      <button type="button" className="secondary" onClick={onNext} disabled={!hasNext}>
        {t('common:nextPage')}
      </button>
    </nav>
  );
}

/** A same-origin URL with the defined parameters only. */
export function withQuery(path: string, params: Record<string, string | number | boolean | null | undefined>): string {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== undefined && v !== null && v !== '') q.set(k, String(v));
  const s = q.toString();
  return s ? `${path}?${s}` : path;
}
