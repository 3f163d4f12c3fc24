import { useCallback, useEffect, useMemo, useState } from 'react';
import { useSearchParams } from 'react-router';

/**
 * A filter form whose applied filters live in the URL's query, so a reload or a shared link shows
 * the same rows, and Back / Forward step through the filter states (each Apply pushes one entry).
 * The form edits a draft; the URL holds what was applied. Keys whose default is not empty (the date
 * range) are always written when applied, even when cleared, so a link opened on another day keeps
 * its range and a cleared bound stays cleared; empty optional filters are left out of the URL.
 * Parameters the form does not own (?tab=, ?top=) are kept as they are.
 *
 * `defaults` and `keys` must be stable (module-level), as they are read inside memoised callbacks.
 */
export function useUrlFilters<F extends Record<keyof F, string>>(defaults: () => F, keys: readonly (keyof F & string)[]) {
  const [params, setParams] = useSearchParams();
  const applied = useMemo(() => {
    const out: F = { ...defaults() };
    for (const k of keys) {
      const v = params.get(k);
      if (v !== null) out[k] = v as F[typeof k];
    }
    return out;
  }, [params, defaults, keys]);

  const [draft, setDraft] = useState<F>(applied);
  // Back / Forward (or a link) changed the applied filters: the form shows them again
  useEffect(() => setDraft(applied), [applied]);

  const apply = useCallback(
    (f: F) => {
      const base = defaults();
      setParams((prev) => {
        const next = new URLSearchParams(prev);
        for (const k of keys) {
          const v = f[k];
          if (v !== '' || base[k] !== '') next.set(k, v);
          else next.delete(k);
        }
        return next;
      });
    },
    [defaults, keys, setParams],
  );

  const reset = useCallback(() => {
    setDraft(defaults());
    setParams((prev) => {
      const next = new URLSearchParams(prev);
      for (const k of keys) next.delete(k);
      return next;
    });
  }, [defaults, keys, setParams]);

  /** One parameter outside the form (page size): set, or removed with null; replaces the entry when `replace`. */
  const setParam = useCallback(
    (name: string, value: string | null, replace = false) => {
      setParams(
        (prev) => {
          const next = new URLSearchParams(prev);
          if (value === null) next.delete(name);
          else next.set(name, value);
          return next;
        },
        { replace },
      );
    },
    [setParams],
  );

  return { applied, draft, setDraft, apply, reset, params, setParam };
}
