import type { ReactNode } from 'react';
import { useTranslation } from 'react-i18next';
import { ApiError } from '../lib/api';

/**
 * Messages: `error` is announced at once (role=alert), `success`/`info` politely (role=status).
 * ErrorAlert shows a server error in the page's language when a translation for its code exists
 * (errors:<code>, with the SSPR support code such as SSPR_0030 when the server gave one), and the
 * server's own message otherwise — never a bare "something went wrong".
 */
export function Alert({ kind, children, id }: { kind: 'error' | 'success' | 'info' | 'warning'; children: ReactNode; id?: string }) {
  return (
    <div id={id} className={`alert alert-${kind}`} role={kind === 'error' ? 'alert' : 'status'} aria-live={kind === 'error' ? 'assertive' : 'polite'}>
      {children}
    </div>
  );
}

interface ErrorDetails {
  /** Azure's SSPR support code (SSPR_0030 …), when the error is one */
  ssprCode?: string;
  /** the request id SSPR flow errors carry, for the help desk */
  supportCode?: string;
  violations?: { code?: string; rule?: string; message?: string }[];
  [k: string]: unknown;
}

export function errorText(t: (key: string, options?: Record<string, unknown>) => string, err: unknown): { message: string; supportCode: string | null; requestId: string | null; items: string[] } {
  if (err instanceof ApiError) {
    const details = (err.details ?? {}) as ErrorDetails;
    const supportCode = typeof details.ssprCode === 'string' ? details.ssprCode : null;
    const requestId = typeof details.supportCode === 'string' ? details.supportCode : null;
    const translated = (supportCode ? t(`errors:${supportCode}`, { defaultValue: '' }) : '') || t(`errors:${err.code}`, { defaultValue: '' });
    const items = Array.isArray(details.violations)
      ? details.violations
          .map((v) => {
            const rule = v.rule ?? v.code;
            return rule ? t(`errors:rule.${rule}`, { defaultValue: v.message ?? rule }) : (v.message ?? '');
          })
          .filter((s) => s !== '')
      : [];
    return { message: translated || err.message, supportCode, requestId, items };
  }
  return { message: t('errors:network'), supportCode: null, requestId: null, items: [] };
}

export function ErrorAlert({ error, id }: { error: unknown; id?: string }) {
  const { t } = useTranslation();
  if (!error) return null;
  const { message, supportCode, requestId, items } = errorText(t, error);
  return (
    <Alert kind="error" {...(id ? { id } : {})}>
      <p>{message}</p>
      {items.length > 0 ? (
        <ul>
          {items.map((m) => (
            <li key={m}>{m}</li>
          ))}
        </ul>
      ) : null}
      {supportCode ? <p className="support-code">{t('errors:supportCode', { code: supportCode })}</p> : null}
      {requestId ? <p className="support-code">{t('errors:requestId', { id: requestId })}</p> : null}
    </Alert>
  );
}
