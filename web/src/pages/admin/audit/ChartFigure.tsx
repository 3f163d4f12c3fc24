import type { ReactNode } from 'react';
import { useTranslation } from 'react-i18next';

/**
 * One chart with what makes it accessible: a heading (its name), a sentence saying what it shows
 * and the main figures (its description), and the same numbers as a table behind a native
 * <details> toggle. The drawing itself is hidden from assistive technology — the table says it
 * exactly — and the charts are drawn without Recharts' keyboard layer, so nothing hidden is focusable.
 */
export function ChartFigure({ id, title, description, table, children, empty }: { id: string; title: string; description: string; table: ReactNode; children: ReactNode; empty?: boolean }) {
  const { t } = useTranslation('admin-audit');
  return (
    <figure className="card chart" aria-labelledby={`${id}-title`} aria-describedby={`${id}-desc`} data-chart={id}>
      <h2 id={`${id}-title`}>{title}</h2>
      <p id={`${id}-desc`} className="chart-desc">
        {description}
      </p>
      {empty ? null : (
        <div className="chart-box" aria-hidden="true">
          {children}
        </div>
      )}
      <details className="chart-data">
        <summary>{t('insights.showTable')}</summary>
        {table}
      </details>
    </figure>
  );
}

/** Series colours: each at least 3:1 against white (WCAG 1.4.11), told apart by the legend's text too. */
export const COLORS = {
  success: '#0b6a0b',
  failure: '#a4262c',
  timeout: '#7a5c00',
  primary: '#0b5cad',
  secondary: '#5c2d91',
  tertiary: '#006f6f',
  quaternary: '#8f3a00',
} as const;
