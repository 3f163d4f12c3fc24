import { useMemo, useState, type FormEvent, type ReactNode } from 'react';
import { useTranslation } from 'react-i18next';
import { Link, useSearchParams } from 'react-router';
import { ErrorAlert } from '../../components/Alert';
import { Checkbox, Field, SelectField } from '../../components/Field';
import { Loading, Page } from '../../components/Page';
import { formatDateTime, formatNumber } from '../../lib/i18n';
import { daysBefore, isDay, localPath, Pager, todayUtc, useGet, usePages, withQuery } from './audit/common';
import type { RegistrationActivityRow, ReportPage, ResetActivityRow } from './audit/types';
import { useUrlFilters } from './audit/urlFilters';

/**
 * The classic reports (reference §5.2): Password reset activity and Password reset registration
 * activity, as tabs (?tab=registration), with a date range and a user filter, cursor paging and the
 * CSV of the whole filtered range. The applied filters live in the URL next to the tab
 * (?tab=&from=&to=&user=&result=&method=): a reload or a shared link shows the same rows. Switching
 * tabs keeps the applied filters both reports share (from, to, user) and the method when the other
 * report knows it (email, security questions); the result filter is the reset report's own.
 */

const PAGE_SIZE = 50;
const RESET_RESULTS = ['Succeeded', 'Failed', 'Blocked', 'Abandoned', 'Cancelled', 'Contacted Admin'] as const;
const RESET_METHODS = ['email', 'mobileSms', 'mobileCall', 'officeCall', 'securityQuestions', 'appCode', 'appNotification', 'recoveryCode'] as const;
const REGISTRATION_METHODS = ['email', 'mobilePhone', 'alternateMobilePhone', 'officePhone', 'securityQuestions', 'authenticatorApp', 'recoveryCodes'] as const;

type Tab = 'reset' | 'registration';

/** The link to `tab`, with the applied filters that mean something there (see above). */
function tabHref(tab: Tab, current: URLSearchParams): string {
  const q = new URLSearchParams();
  if (tab === 'registration') q.set('tab', 'registration');
  for (const k of ['from', 'to', 'user'] as const) {
    const v = current.get(k);
    if (v !== null) q.set(k, v);
  }
  const method = current.get('method');
  if (method && (tab === 'reset' ? RESET_METHODS : REGISTRATION_METHODS).some((m) => m === method)) q.set('method', method);
  const result = current.get('result');
  if (tab === 'reset' && result && RESET_RESULTS.some((r) => r === result)) q.set('result', result);
  const s = q.toString();
  return s ? `/admin/reports?${s}` : '/admin/reports';
}

interface Filters {
  from: string;
  to: string;
  user: string;
  result: string;
  method: string;
}

const initial = (): Filters => {
  const to = todayUtc();
  return { from: daysBefore(to, 29), to, user: '', result: '', method: '' };
};
const FILTER_KEYS = ['from', 'to', 'user', 'result', 'method'] as const satisfies readonly (keyof Filters)[];

/**
 * The report endpoints' query for the form (the CSV takes the same). A result or method the report
 * does not know (a hand-edited or old link) is left out rather than sent: the endpoint would refuse it.
 */
function filterParams(tab: Tab, f: Filters) {
  const methods: readonly string[] = tab === 'reset' ? RESET_METHODS : REGISTRATION_METHODS;
  const results: readonly string[] = RESET_RESULTS;
  return {
    from: isDay(f.from) ? f.from : undefined,
    to: isDay(f.to) ? f.to : undefined,
    user: f.user.trim(),
    result: tab === 'reset' && results.includes(f.result) ? f.result : undefined,
    method: methods.includes(f.method) ? f.method : undefined,
  };
}

export function Reports() {
  const { t } = useTranslation('admin-audit');
  const [params] = useSearchParams();
  const tab: Tab = params.get('tab') === 'registration' ? 'registration' : 'reset';
  const title = tab === 'reset' ? t('reports.reset.title') : t('reports.registration.title');
  return (
    <Page title={t('reports.title')}>
      <p>{t('reports.intro')}</p>
      <nav aria-label={t('reports.tabsLabel')}>
        <ul className="tabs">
          <li>
            <Link to={tabHref('reset', params)} aria-current={tab === 'reset' ? 'page' : undefined}>
              {t('reports.reset.title')}
            </Link>
          </li>
          <li>
            <Link to={tabHref('registration', params)} aria-current={tab === 'registration' ? 'page' : undefined}>
              {t('reports.registration.title')}
            </Link>
          </li>
        </ul>
      </nav>
      <ReportTab key={tab} tab={tab} title={title} />
    </Page>
  );
}

function ReportTab({ tab, title }: { tab: Tab; title: string }) {
  const { t } = useTranslation('admin-audit');
  const { draft, setDraft, applied, apply: applyFilters, reset } = useUrlFilters<Filters>(initial, FILTER_KEYS);
  const [bom, setBom] = useState(false);
  const base = tab === 'reset' ? '/api/v1/reports/passwordResetActivity' : '/api/v1/reports/registrationActivity';
  const first = useMemo(() => withQuery(base, { ...filterParams(tab, applied), top: PAGE_SIZE }), [applied, base, tab]);
  const pages = usePages(first);
  const { data, error, loading } = useGet<ReportPage<ResetActivityRow | RegistrationActivityRow>>(pages.current);
  const rangeError = isDay(draft.from) && isDay(draft.to) && draft.from > draft.to ? t('filters.rangeError') : undefined;
  const set = (k: keyof Filters) => (ev: { target: { value: string } }) => setDraft((d) => ({ ...d, [k]: ev.target.value }));
  const apply = (ev: FormEvent) => {
    ev.preventDefault();
    if (!rangeError) applyFilters(draft);
  };
  const csvHref = withQuery(`${base}.csv`, { ...filterParams(tab, applied), bom: bom ? 'true' : undefined });
  const methods = tab === 'reset' ? RESET_METHODS : REGISTRATION_METHODS;

  return (
    <section aria-labelledby="report-title">
      <h2 id="report-title">{title}</h2>
      <p>{tab === 'reset' ? t('reports.reset.intro') : t('reports.registration.intro')}</p>
      <form className="card filters" onSubmit={apply} aria-label={t('filters.title')} noValidate>
        <div className="filter-grid">
          <Field label={t('filters.from')} type="date" value={draft.from} onChange={set('from')} max={draft.to || undefined} />
          <Field label={t('filters.to')} type="date" value={draft.to} onChange={set('to')} min={draft.from || undefined} error={rangeError} />
          <Field label={t('filters.user')} hint={t('filters.userHint')} value={draft.user} onChange={set('user')} autoComplete="off" />
          {tab === 'reset' ? (
            <SelectField
              label={t('filters.result')}
              value={draft.result}
              onChange={set('result')}
              options={[{ value: '', label: t('filters.all') }, ...RESET_RESULTS.map((r) => ({ value: r, label: t(`outcome.${r}`) }))]}
            />
          ) : null}
          <SelectField
            label={t('filters.method')}
            value={draft.method}
            onChange={set('method')}
            options={[{ value: '', label: t('filters.all') }, ...methods.map((m) => ({ value: m, label: t(`${tab === 'reset' ? 'resetMethod' : 'regMethod'}.${m}`) }))]}
          />
        </div>
        <div className="actions">
          <button type="submit">{t('filters.apply')}</button>
          <button type="button" className="secondary" onClick={() => reset()}>
            {t('filters.reset')}
          </button>
        </div>
      </form>

      <div className="card export">
        <Checkbox label={t('export.bom')} hint={t('export.bomHint')} checked={bom} onChange={(e) => setBom(e.target.checked)} />
        <a className="button secondary" href={csvHref} download data-testid="report-csv">
          {t('export.link')}
        </a>
      </div>

      <ErrorAlert error={error} />
      {loading ? <Loading /> : null}
      {data ? (
        <>
          <div className="table-scroll" tabIndex={0} role="region" aria-label={title}>
            {tab === 'reset' ? <ResetTable rows={data.value as ResetActivityRow[]} caption={title} /> : <RegistrationTable rows={data.value as RegistrationActivityRow[]} caption={title} />}
          </div>
          <Pager
            label={t('paging.label')}
            pageNumber={pages.pageNumber}
            hasNext={Boolean(data.nextLink ?? data.nextCursor)}
            onPrevious={pages.previous}
            onNext={() => {
              if (data.nextLink) pages.next(localPath(data.nextLink));
              else if (data.nextCursor) pages.next(withQuery(base, { ...filterParams(tab, applied), top: PAGE_SIZE, cursor: data.nextCursor }));
            }}
          />
        </>
      ) : null}
    </section>
  );
}

/** A report's table: who, role and when, then the report's own columns (`extra`, keys under reports.col). */
function ReportTable<R extends ResetActivityRow | RegistrationActivityRow>({ rows, caption, extra, cells }: { rows: R[]; caption: string; extra: string[]; cells: (r: R) => ReactNode }) {
  const { t } = useTranslation('admin-audit');
  return (
    <table className="report-table">
      <caption>{t('reports.caption', { title: caption, count: rows.length, n: formatNumber(rows.length) })}</caption>
      <thead>
        <tr>
          {['user', 'role', 'dateTime', ...extra].map((c) => (
            <th scope="col" key={c}>
              {t(`reports.col.${c}`)}
            </th>
          ))}
        </tr>
      </thead>
      <tbody>
        {rows.length === 0 ? (
          <tr>
            <td colSpan={3 + extra.length}>{t('reports.empty')}</td>
          </tr>
        ) : null}
        {rows.map((r) => (
          <tr key={r.id}>
            <th scope="row">
              {r.user.userPrincipalName ?? r.user.id}
              {r.user.displayName ? <span className="sub">{r.user.displayName}</span> : null}
            </th>
            <td>{r.role}</td>
            <td>
              <time dateTime={r.dateTime}>{formatDateTime(r.dateTime)}</time>
            </td>
            {cells(r)}
          </tr>
        ))}
      </tbody>
    </table>
  );
}

function ResetTable({ rows, caption }: { rows: ResetActivityRow[]; caption: string }) {
  const { t } = useTranslation('admin-audit');
  return (
    <ReportTable
      rows={rows}
      caption={caption}
      extra={['methodsUsed', 'result', 'details']}
      cells={(r) => (
        <>
          <td>{r.methods.length > 0 ? r.methods.map((m) => t(`resetMethod.${m}`, { defaultValue: m })).join(' + ') : r.methodsUsed.join(' + ')}</td>
          <td>{t(`outcome.${r.result}`, { defaultValue: r.result })}</td>
          <td className="wrap">{r.details}</td>
        </>
      )}
    />
  );
}

function RegistrationTable({ rows, caption }: { rows: RegistrationActivityRow[]; caption: string }) {
  const { t } = useTranslation('admin-audit');
  return <ReportTable rows={rows} caption={caption} extra={['dataRegistered']} cells={(r) => <td>{r.methods.length > 0 ? r.methods.map((m) => t(`regMethod.${m}`, { defaultValue: m })).join(' + ') : r.dataRegistered}</td>} />;
}
