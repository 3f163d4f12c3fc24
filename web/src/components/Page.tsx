import { useEffect, useRef, type ReactNode } from 'react';
import { useTranslation } from 'react-i18next';
import { useBranding } from '../lib/branding';

/**
 * Every page starts with <Page title=…>: it sets document.title ("Title – Tenant") and moves focus to
 * the page's h1 when the page opens, so keyboard and screen-reader users land on the new content
 * after a client-side navigation (a full page load would do that by itself).
 */
export function Page({ title, children, actions }: { title: string; children: ReactNode; actions?: ReactNode }) {
  const heading = useRef<HTMLHeadingElement>(null);
  const branding = useBranding();
  useEffect(() => {
    document.title = `${title} – ${branding.displayName}`;
  }, [title, branding.displayName]);
  useEffect(() => {
    heading.current?.focus();
  }, [title]);
  return (
    <section className="page" aria-labelledby="page-title">
      <div className="page-head">
        <h1 id="page-title" ref={heading} tabIndex={-1}>
          {title}
        </h1>
        {actions ? <div className="page-actions">{actions}</div> : null}
      </div>
      {children}
    </section>
  );
}

/** A loading line that screen readers announce politely. */
export function Loading({ label }: { label?: string }) {
  const { t } = useTranslation();
  return (
    <p className="loading" role="status" aria-live="polite">
      {label ?? t('loading')}
    </p>
  );
}
