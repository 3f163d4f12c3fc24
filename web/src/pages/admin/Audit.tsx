import { useEffect, useMemo, useRef, useState, type FormEvent } from 'react';
import { useTranslation } from 'react-i18next';
import { Alert, ErrorAlert } from '../../components/Alert';
import { Checkbox, Field, SelectField } from '../../components/Field';
import { Loading, Page } from '../../components/Page';
import { api } from '../../lib/api';
import { formatDateTime, formatNumber } from '../../lib/i18n';
import { AuditDetails } from './audit/AuditDetails';
import { daysBefore, isDay, localPath, Pager, todayUtc, useGet, usePages, withQuery } from './audit/common';
import { ACTIVITIES, AUDIT_CATEGORIES, AUDIT_SERVICES, auditCsvHref, auditFilter, type AuditFilters } from './audit/filters';
import type { ChainVerification, DirectoryAudit, GraphPage } from './audit/types';
import { useUrlFilters } from './audit/urlFilters';

/**
 * The audit log (reference §5.3): date range, activity, service, category, result, initiator and
 * target filters, turned into the $filter GET /v1.0/auditLogs/directoryAudits supports
 * (src/store/audit-query.ts); pages follow @odata.nextLink; a row opens the details pane. Export CSV
 * links to /api/v1/audit/events.csv with the same filters; Verify integrity walks the hash chain.
 * The applied filters and the page size live in the URL (?from=&to=&activity=…&top=), so a reload or
 * a shared link shows the same events and Back / Forward step through the filter states.
 * The open event does too (?event=<id>): opening one pushes a history entry, so Back closes the pane,
 * Forward reopens it, and a shared link opens the same event even when it is not on the page shown
 * (the pane reads it by id). Focus moves to the pane when it opens and back to the row's button when
 * it closes, by Close or by Back (to the table when that row is not on the page).
 */

const PAGE_SIZES = [10, 50, 100, 200] as const;
const DEFAULT_PAGE_SIZE = 50;
const FILTER_KEYS = ['from', 'to', 'activity', 'service', 'category', 'result', 'initiator', 'target'] as const satisfies readonly (keyof AuditFilters)[];

function initialFilters(): AuditFilters {
  const to = todayUtc();
  return { from: daysBefore(to, 29), to, activity: '', service: '', category: '', result: '', initiator: '', target: '' };
}

function initiatorName(e: DirectoryAudit): string {
  const u = e.initiatedBy.user;
  const a = e.initiatedBy.app;
  return u?.userPrincipalName ?? u?.displayName ?? a?.displayName ?? a?.appId ?? '';
}

export function Audit() {
  const { t } = useTranslation('admin-audit');
  const { draft, setDraft, applied, apply: applyFilters, reset: resetFilters, params, setOther } = useUrlFilters<AuditFilters>(initialFilters, FILTER_KEYS);
  const [bom, setBom] = useState(false);
  const asked = Number(params.get('top'));
  const pageSize = (PAGE_SIZES as readonly number[]).includes(asked) ? asked : DEFAULT_PAGE_SIZE;
  const selected = params.get('event') || null;
  const select = (id: string | null) => setOther({ event: id });
  const rowButtons = useRef(new Map<string, HTMLButtonElement>());
  const tableRegion = useRef<HTMLDivElement>(null);
  // the pane closed (Close, Back, a filter applied): focus returns to the row it was opened from
  const wasSelected = useRef(selected);
  useEffect(() => {
    const before = wasSelected.current;
    wasSelected.current = selected;
    if (before === null || selected !== null) return;
    const active = document.activeElement;
    // only when focus was in the pane (now gone) or nowhere: a filter applied keeps focus on its button
    if (active && active !== document.body && document.contains(active)) return;
    (rowButtons.current.get(before) ?? tableRegion.current)?.focus();
  }, [selected]);
  const [verify, setVerify] = useState<{ running: boolean; result: ChainVerification | null; error: unknown }>({ running: false, result: null, error: null });

  const firstPage = useMemo(() => {
    const filter = auditFilter(applied);
    return withQuery('/v1.0/auditLogs/directoryAudits', { $filter: filter || undefined, $top: pageSize });
  }, [applied, pageSize]);
  const pages = usePages(firstPage);
  const { data, error, loading } = useGet<GraphPage<DirectoryAudit>>(pages.current);
  const nextLink = data?.['@odata.nextLink'];
  const rangeError = isDay(draft.from) && isDay(draft.to) && draft.from > draft.to ? t('filters.rangeError') : undefined;

  const set = (k: keyof AuditFilters) => (ev: { target: { value: string } }) => setDraft((d) => ({ ...d, [k]: ev.target.value }));
  const apply = (ev: FormEvent) => {
    ev.preventDefault();
    if (rangeError) return;
    applyFilters(draft, { event: null });
  };
  const reset = () => resetFilters({ event: null });
  const runVerify = () => {
    setVerify({ running: true, result: null, error: null });
    api
      .get<ChainVerification>('/api/v1/audit/verify')
      .then((result) => setVerify({ running: false, result, error: null }))
      .catch((error: unknown) => setVerify({ running: false, result: null, error }));
  };
  const closeDetails = () => {
    const id = selected;
    select(null);
    if (id) (rowButtons.current.get(id) ?? tableRegion.current)?.focus();
  };

  const csvHref = auditCsvHref(applied, bom);

  return (
    <Page
      title={t('audit.title')}
      actions={
        <button type="button" className="secondary" onClick={runVerify} disabled={verify.running}>
          {verify.running ? t('verify.running') : t('verify.button')}
        </button>
      }
    >
      <p>{t('audit.intro')}</p>
      {verify.result ? <VerifyResult result={verify.result} /> : null}
      <ErrorAlert error={verify.error} />

      <form className="card filters" onSubmit={apply} aria-labelledby="audit-filters-title" noValidate>
        <h2 id="audit-filters-title">{t('filters.title')}</h2>
        <div className="filter-grid">
          <Field label={t('filters.from')} type="date" value={draft.from} onChange={set('from')} max={draft.to || undefined} />
          <Field label={t('filters.to')} type="date" value={draft.to} onChange={set('to')} min={draft.from || undefined} error={rangeError} />
          <Field label={t('filters.activity')} hint={t('filters.activityHint')} value={draft.activity} onChange={set('activity')} list="audit-activities" autoComplete="off" />
          <SelectField
            label={t('filters.service')}
            value={draft.service}
            onChange={set('service')}
            options={[{ value: '', label: t('filters.all') }, ...AUDIT_SERVICES.map((s) => ({ value: s, label: t(`service.${s}`) }))]}
          />
          <SelectField
            label={t('filters.category')}
            value={draft.category}
            onChange={set('category')}
            options={[{ value: '', label: t('filters.all') }, ...AUDIT_CATEGORIES.map((c) => ({ value: c, label: t(`category.${c}`) }))]}
          />
          <SelectField
            label={t('filters.result')}
            value={draft.result}
            onChange={set('result')}
            options={[{ value: '', label: t('filters.all') }, ...(['success', 'failure', 'timeout'] as const).map((r) => ({ value: r, label: t(`result.${r}`) }))]}
          />
          <Field label={t('filters.initiator')} hint={t('filters.upnHint')} type="text" value={draft.initiator} onChange={set('initiator')} autoComplete="off" />
          <Field label={t('filters.target')} hint={t('filters.upnHint')} type="text" value={draft.target} onChange={set('target')} autoComplete="off" />
        </div>
        <datalist id="audit-activities">
          {ACTIVITIES.map((a) => (
            <option key={a} value={a} />
          ))}
        </datalist>
        <div className="actions">
          <button type="submit">{t('filters.apply')}</button>
          <button type="button" className="secondary" onClick={reset}>
            {t('filters.reset')}
          </button>
        </div>
      </form>

      <div className="card export">
        <h2>{t('export.title')}</h2>
        <p>{t('export.text')}</p>
        <Checkbox label={t('export.bom')} hint={t('export.bomHint')} checked={bom} onChange={(e) => setBom(e.target.checked)} />
        <a className="button secondary" href={csvHref} download data-testid="audit-csv">
          {t('export.link')}
        </a>
      </div>

      <ErrorAlert error={error} />
      {loading ? <Loading /> : null}
      {data ? (
        <>
          <div className="table-scroll" tabIndex={0} role="region" aria-label={t('audit.tableRegion')} ref={tableRegion}>
            <table className="audit-table">
              <caption>{t('audit.caption', { count: data.value.length, n: formatNumber(data.value.length) })}</caption>
              <thead>
                <tr>
                  <th scope="col">{t('field.activityDateTime')}</th>
                  <th scope="col">{t('field.loggedByService')}</th>
                  <th scope="col">{t('field.category')}</th>
                  <th scope="col">{t('field.activityDisplayName')}</th>
                  <th scope="col">{t('field.result')}</th>
                  <th scope="col">{t('field.initiatedBy')}</th>
                  <th scope="col">{t('field.targets')}</th>
                </tr>
              </thead>
              <tbody>
                {data.value.length === 0 ? (
                  <tr>
                    <td colSpan={7}>{t('audit.empty')}</td>
                  </tr>
                ) : null}
                {data.value.map((e) => (
                  <tr key={e.id} data-id={e.id} className={selected === e.id ? 'selected' : undefined}>
                    <td>
                      <time dateTime={e.activityDateTime}>{formatDateTime(e.activityDateTime)}</time>
                    </td>
                    <td>{e.loggedByService}</td>
                    <td>{e.category}</td>
                    <td>
                      <button
                        type="button"
                        className="link-button"
                        aria-expanded={selected === e.id}
                        aria-controls={selected === e.id ? 'audit-details' : undefined}
                        ref={(el) => {
                          if (el) rowButtons.current.set(e.id, el);
                          else rowButtons.current.delete(e.id);
                        }}
                        onClick={() => select(selected === e.id ? null : e.id)}
                      >
                        {e.activityDisplayName}
                        <span className="visually-hidden"> – {t('audit.showDetails')}</span>
                      </button>
                    </td>
                    <td>
                      <span className={`result result-${e.result}`}>{t(`result.${e.result}`)}</span>
                    </td>
                    <td>{initiatorName(e)}</td>
                    <td>{e.targetResources.map((r) => r.userPrincipalName ?? r.displayName ?? r.id).join(', ')}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
          <div className="pager-row">
            <SelectField
              label={t('paging.size')}
              value={String(pageSize)}
              onChange={(e) => {
                const n = Number(e.target.value);
                setOther({ top: n === DEFAULT_PAGE_SIZE ? null : String(n), event: null });
              }}
              options={PAGE_SIZES.map((n) => ({ value: String(n), label: formatNumber(n) }))}
            />
            <Pager label={t('paging.label')} pageNumber={pages.pageNumber} hasNext={Boolean(nextLink)} onPrevious={pages.previous} onNext={() => nextLink && pages.next(localPath(nextLink))} />
          </div>
        </>
      ) : null}

      {selected ? (
        <div id="audit-details">
          <AuditDetails id={selected} onClose={closeDetails} />
        </div>
      ) : null}
    </Page>
  );
}

function VerifyResult({ result }: { result: ChainVerification }) {
  const { t } = useTranslation('admin-audit');
  if (result.ok) {
    return (
      <Alert kind="success">
        <p>{t('verify.ok', { count: result.count, n: formatNumber(result.count) })}</p>
        {result.head ? <p className="mono">{t('verify.head', { head: `${result.head.seq}:${result.head.hash}` })}</p> : null}
        {result.start ? <p>{t('verify.retention', { count: result.start.removedCount, n: formatNumber(result.start.removedCount) })}</p> : null}
        <p>{t('verify.keepHead')}</p>
      </Alert>
    );
  }
  return (
    <Alert kind="error">
      <p>{t('verify.broken', { seq: result.firstBad.seq, problem: t(`verify.problem.${result.firstBad.problem}`, { defaultValue: result.firstBad.problem }) })}</p>
      <p>{result.firstBad.detail}</p>
      {result.firstBad.id ? <p className="mono">{t('verify.event', { id: result.firstBad.id })}</p> : null}
    </Alert>
  );
}
