import { useCallback, useEffect, useId, useRef, useState, type ReactNode } from 'react';
import { useTranslation } from 'react-i18next';
import { Alert, ErrorAlert } from '../../../components/Alert';
import { Link } from 'react-router';
import { api, ApiError } from '../../../lib/api';

/**
 * What the policy pages share: load a policy, keep an editable draft, save only the fields that
 * changed (PATCH), and show the server's refusal next to the field it names. The server names the
 * field two ways: zod's issues (details.issues[].path, e.g. "securityQuestions.toReset" or
 * "customBannedPasswords.3") and the use case's rules between fields (details.field).
 */

/** The form field a server path belongs to: "securityQuestions.custom.2" → "securityQuestions.custom". */
export function fieldKeyOf(path: string, nested: readonly string[] = ['securityQuestions']): string {
  const parts = path.split('.');
  const head = parts[0] ?? '';
  if (nested.includes(head) && parts[1] !== undefined && !/^\d+$/.test(parts[1])) return `${head}.${parts[1]}`;
  return head;
}

type Translate = (key: string, options?: Record<string, unknown>) => string;

/**
 * The server's reason in the page's language where it is one of the plain range rules; any other
 * reason (the rules between fields name values and fields) is shown as the server wrote it.
 */
export function localReason(message: string, t?: Translate): string {
  const text = message.replace(/^Invalid value for '[^']*':\s*/, '').replace(/\.$/, '');
  if (t) {
    const min = /^must be at least (\d+)$/.exec(text);
    if (min) return t('reason.min', { n: Number(min[1]) });
    const max = /^must be at most (\d+)$/.exec(text);
    if (max) return t('reason.max', { n: Number(max[1]) });
    if (text === 'must be a whole number') return t('reason.int');
  }
  return `${text.charAt(0).toUpperCase()}${text.slice(1)}.`;
}

/** Per-field messages from a 400/409 answer; empty when the error names no field. */
export function fieldErrorsOf(err: unknown, t?: Translate): Record<string, string> {
  if (!(err instanceof ApiError)) return {};
  const details = (err.details ?? {}) as { field?: unknown; issues?: unknown };
  const out: Record<string, string> = {};
  const reason = (message: string) => localReason(message, t);
  if (Array.isArray(details.issues)) {
    for (const issue of details.issues as { path?: unknown; message?: unknown }[]) {
      if (typeof issue.path !== 'string' || issue.path === '') continue;
      const key = fieldKeyOf(issue.path);
      out[key] ??= typeof issue.message === 'string' ? reason(issue.message) : err.message;
    }
  }
  if (typeof details.field === 'string') out[fieldKeyOf(details.field)] ??= reason(err.message);
  return out;
}

export type Errors = Record<string, string>;

export interface PolicyForm<T> {
  /** the policy as the server last answered it */
  saved: T | null;
  draft: T | null;
  setDraft: (update: (d: T) => T) => void;
  loadError: unknown;
  saveError: unknown;
  fieldErrors: Errors;
  saving: boolean;
  /** set after a save that succeeded (cleared by the next edit) */
  justSaved: boolean;
  changed: boolean;
  /** true when the server took the change (or there was nothing to change) */
  save: () => Promise<boolean>;
  discard: () => void;
}

/**
 * `diff(saved, draft)` answers the PATCH body (only what changed); `check(draft)` answers local
 * errors (e.g. an empty number box) that stop the request before it is sent.
 */
export function usePolicyForm<T>(url: string, diff: (saved: T, draft: T) => Partial<Record<string, unknown>>, check: (draft: T) => Errors = () => ({})): PolicyForm<T> {
  const [saved, setSaved] = useState<T | null>(null);
  const [draft, setDraftState] = useState<T | null>(null);
  const [loadError, setLoadError] = useState<unknown>(null);
  const [saveError, setSaveError] = useState<unknown>(null);
  const [fieldErrors, setFieldErrors] = useState<Errors>({});
  const [saving, setSaving] = useState(false);
  const [justSaved, setJustSaved] = useState(false);
  const { t } = useTranslation('admin-policy');

  useEffect(() => {
    const controller = new AbortController();
    api
      .get<T>(url, { signal: controller.signal })
      .then((p) => {
        setSaved(p);
        setDraftState(p);
      })
      .catch((err: unknown) => {
        if (!controller.signal.aborted) setLoadError(err);
      });
    return () => controller.abort();
  }, [url]);

  const setDraft = useCallback((update: (d: T) => T) => {
    setDraftState((d) => (d === null ? d : update(d)));
    setJustSaved(false);
  }, []);

  const changes = saved && draft ? diff(saved, draft) : {};
  const changed = Object.keys(changes).length > 0;

  const save = async () => {
    if (!saved || !draft) return false;
    setJustSaved(false);
    setSaveError(null);
    const local = check(draft);
    if (Object.keys(local).length > 0) {
      setFieldErrors(local);
      return false;
    }
    const body = diff(saved, draft);
    if (Object.keys(body).length === 0) {
      setFieldErrors({});
      setJustSaved(true);
      return true;
    }
    setSaving(true);
    try {
      const next = await api.patch<T>(url, body);
      setSaved(next);
      setDraftState(next);
      setFieldErrors({});
      setJustSaved(true);
      return true;
    } catch (err) {
      setFieldErrors(fieldErrorsOf(err, t));
      setSaveError(err);
      return false;
    } finally {
      setSaving(false);
    }
  };

  const discard = () => {
    setDraftState(saved);
    setFieldErrors({});
    setSaveError(null);
    setJustSaved(false);
  };

  return { saved, draft, setDraft, loadError, saveError, fieldErrors, saving, justSaved, changed, save, discard };
}

/** Top-level keys whose JSON differs (nested objects compared whole). */
export function changedKeys<T extends object>(saved: T, draft: T): Partial<T> {
  const out: Partial<T> = {};
  for (const k of Object.keys(draft) as (keyof T)[]) {
    if (JSON.stringify(saved[k]) !== JSON.stringify(draft[k])) out[k] = draft[k];
  }
  return out;
}

/**
 * The outcome of a save, announced: a summary of the refused fields that links to each (focus moves
 * to it so a keyboard user lands on the list), the server's error when it names no field, or "saved".
 */
export function SaveStatus({
  form,
  labels,
  tabOf,
}: {
  form: Pick<PolicyForm<unknown>, 'saveError' | 'fieldErrors' | 'justSaved'>;
  labels: Record<string, string>;
  /** for a field shown on another tab: where it is */
  tabOf?: (key: string) => { to: string; label: string } | null;
}) {
  const { t } = useTranslation('admin-policy');
  const summary = useRef<HTMLDivElement>(null);
  const entries = Object.entries(form.fieldErrors);
  const hasFieldErrors = entries.length > 0;
  useEffect(() => {
    if (hasFieldErrors) summary.current?.focus();
  }, [form.fieldErrors, hasFieldErrors]);
  if (hasFieldErrors) {
    return (
      <div ref={summary} tabIndex={-1} className="error-summary">
        <Alert kind="error">
          <p>{t('form.notSaved')}</p>
          <ul>
            {entries.map(([key, message]) => (
              <li key={key}>
                {(() => {
                  const elsewhere = tabOf?.(key) ?? null;
                  const text = `${labels[key] ?? key}: ${message}`;
                  return elsewhere ? (
                    <Link to={elsewhere.to}>{t('form.onTab', { text, tab: elsewhere.label })}</Link>
                  ) : (
                    <a
                      href={`#${fieldDomId(key)}`}
                      onClick={(e) => {
                        const target = document.getElementById(fieldDomId(key));
                        if (!target) return;
                        e.preventDefault();
                        target.focus();
                      }}
                    >
                      {text}
                    </a>
                  );
                })()}
              </li>
            ))}
          </ul>
        </Alert>
      </div>
    );
  }
  if (form.saveError) return <ErrorAlert error={form.saveError} />;
  if (form.justSaved) return <Alert kind="success">{t('form.saved')}</Alert>;
  return null;
}

/** The DOM id of a policy field's control (the error summary links to it). */
export function fieldDomId(key: string): string {
  return `policy-${key.replace(/\./g, '-')}`;
}

export function SaveBar({ form }: { form: Pick<PolicyForm<unknown>, 'saving' | 'changed' | 'discard'> }) {
  const { t } = useTranslation('admin-policy');
  return (
    <div className="actions">
      <button type="submit" disabled={form.saving}>
        {form.saving ? t('form.saving') : t('form.save')}
      </button>
      <button type="button" className="secondary" onClick={form.discard} disabled={form.saving || !form.changed}>
        {t('form.discard')}
      </button>
      {form.changed ? <span className="unsaved-note">{t('form.unsaved')}</span> : null}
    </div>
  );
}

/** A group of options with a legend (radio buttons or checkboxes); the error is tied to the group. */
export function FieldGroup({ legend, hint, error, id, children }: { legend: ReactNode; hint?: ReactNode; error?: string | undefined; id?: string; children: ReactNode }) {
  const auto = useId();
  const base = id ?? auto;
  const describedBy = [hint ? `${base}-hint` : null, error ? `${base}-error` : null].filter(Boolean).join(' ') || undefined;
  return (
    <fieldset id={base} className={`field-group${error ? ' field-invalid' : ''}`} aria-describedby={describedBy} tabIndex={-1}>
      <legend>{legend}</legend>
      {hint ? (
        <p className="hint" id={`${base}-hint`}>
          {hint}
        </p>
      ) : null}
      {children}
      {error ? (
        <p className="field-error" id={`${base}-error`}>
          {error}
        </p>
      ) : null}
    </fieldset>
  );
}

export function Radio({ name, value, checked, onChange, label }: { name: string; value: string; checked: boolean; onChange: (value: string) => void; label: ReactNode }) {
  const id = useId();
  return (
    <div className="field-check">
      <input type="radio" id={id} name={name} value={value} checked={checked} onChange={() => onChange(value)} />
      <label htmlFor={id}>{label}</label>
    </div>
  );
}

/** A number input's value: NaN while the box is empty (check() reports it before saving). */
export const numberValue = (n: number | null): string => (n === null || Number.isNaN(n) ? '' : String(n));
export const readNumber = (s: string): number => (s.trim() === '' ? Number.NaN : Number(s));

/** A checkbox with an optional hint and the server's error (aria-describedby, aria-invalid). */
export function CheckField({ id, label, hint, error, checked, onChange, disabled }: { id: string; label: ReactNode; hint?: ReactNode; error?: string | undefined; checked: boolean; onChange: (checked: boolean) => void; disabled?: boolean }) {
  const describedBy = [hint ? `${id}-hint` : null, error ? `${id}-error` : null].filter(Boolean).join(' ') || undefined;
  return (
    <div className={`field field-check${error ? ' field-invalid' : ''}`}>
      <input type="checkbox" id={id} checked={checked} disabled={disabled} onChange={(e) => onChange(e.target.checked)} aria-describedby={describedBy} aria-invalid={error ? true : undefined} />
      <label htmlFor={id}>{label}</label>
      {hint ? (
        <p className="hint" id={`${id}-hint`}>
          {hint}
        </p>
      ) : null}
      {error ? (
        <p className="field-error" id={`${id}-error`}>
          {error}
        </p>
      ) : null}
    </div>
  );
}
