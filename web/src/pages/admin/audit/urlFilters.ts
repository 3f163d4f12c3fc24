import { useCallback, useEffect, useMemo, useState } from 'react';
import { useSearchParams } from 'react-router';

/**
 * A filter form whose applied filters live in the URL's query, so a reload or a shared link shows
 * the same rows, and Back / Forward step through the filter states (each Apply pushes one entry).
 * The form edits a draft; the URL holds what was applied. Keys whose default is not empty (the date
 * range) are always written when applied, even when cleared, so a link opened on another day keeps
 * its range and a cleared bound stays cleared; empty optional filters are left out of the URL.
 * Parameters the form does not own (?tab=, ?top=, ?event=) are kept as they are, unless Apply / Reset
 * are given `extra` changes (the audit log closes its details pane with them: ?event= removed).
 * `applied` keeps its identity while the form's own parameters keep their values, so a change of
 * another parameter (opening an event) neither refetches the rows nor discards the draft.
 *
 * `defaults` and `keys` must be stable (module-level), as they are read inside memoised callbacks.
 */
export function useUrlFilters<F extends Record<keyof F, string>>(defaults: () => F, keys: readonly (keyof F & string)[]) {
  const [params, setParams] = useSearchParams();
  // the form's parameters only, as one string: the memo below follows them and nothing else
  const own = JSON.stringify(keys.map((k) => params.get(k)));
  const applied = useMemo(() => {
    const values = JSON.parse(own) as (string | null)[];
    const out: F = { ...defaults() };
    keys.forEach((k, i) => {
      const v = values[i];
      if (v !== null && v !== undefined) out[k] = v as F[typeof k];
    });
    return out;
  }, [own, defaults, keys]);

  const [draft, setDraft] = useState<F>(applied);
  // Back / Forward (or a link) changed the applied filters: the form shows them again
  useEffect(() => setDraft(applied), [applied]);

  const apply = useCallback(
    (f: F, extra: ParamChanges = {}) => {
      const base = defaults();
      setParams((prev) => {
        const next = new URLSearchParams(prev);
        for (const k of keys) {
          const v = f[k];
          if (v !== '' || base[k] !== '') next.set(k, v);
          else next.delete(k);
        }
        return changed(next, extra);
      });
    },
    [defaults, keys, setParams],
  );

  const reset = useCallback(
    (extra: ParamChanges = {}) => {
      setDraft(defaults());
      setParams((prev) => {
        const next = new URLSearchParams(prev);
        for (const k of keys) next.delete(k);
        return changed(next, extra);
      });
    },
    [defaults, keys, setParams],
  );

  /** One parameter outside the form (page size): set, or removed with null; replaces the entry when `replace`. */
  const setParam = useCallback((name: string, value: string | null, replace = false) => setParams((prev) => changed(new URLSearchParams(prev), { [name]: value }), { replace }), [setParams]);

  /** Several parameters outside the form at once, in one history entry (null removes one). */
  const setOther = useCallback((changes: ParamChanges, replace = false) => setParams((prev) => changed(new URLSearchParams(prev), changes), { replace }), [setParams]);

  return { applied, draft, setDraft, apply, reset, params, setParam, setOther };
}

/** Parameters outside a form to set (a string) or remove (null) along with it. */
export type ParamChanges = Record<string, string | null>;

function changed(next: URLSearchParams, changes: ParamChanges): URLSearchParams {
  for (const [name, value] of Object.entries(changes)) {
    if (value === null) next.delete(name);
    else next.set(name, value);
  }
  return next;
}
