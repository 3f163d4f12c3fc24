import { useMemo, useState } from 'react';
import { useTranslation } from 'react-i18next';
import { Bar, BarChart, CartesianGrid, Legend, ResponsiveContainer, Tooltip, XAxis, YAxis } from 'recharts';
import { ErrorAlert } from '../../components/Alert';
import { SelectField } from '../../components/Field';
import { Loading, Page } from '../../components/Page';
import { formatDate, formatNumber } from '../../lib/i18n';
import { ChartFigure, COLORS } from './audit/ChartFigure';
import { daysBefore, todayUtc, useGet, withQuery } from './audit/common';
import { FLOW_OUTCOMES, SERIES, type Insights as InsightsData, type SeriesName } from './audit/types';

/**
 * Insights (reference §5.1): charts drawn from GET /api/v1/reports/insights for the last 7, 30 or
 * 90 UTC days — password events per day by result, totals by activity, reset and unlock outcomes,
 * methods used, top failure reasons, registration coverage, admin resets by admin and writeback.
 * Every chart has a title, a description with its figures and a data table (ChartFigure).
 */

const PERIODS = [7, 30, 90] as const;
const RESULTS = ['success', 'failure', 'timeout'] as const;
const HEIGHT = 280;

export function Insights() {
  const { t, i18n } = useTranslation('admin-audit');
  const [period, setPeriod] = useState<(typeof PERIODS)[number]>(30);
  const path = useMemo(() => {
    const to = todayUtc();
    return withQuery('/api/v1/reports/insights', { from: daysBefore(to, period - 1), to });
  }, [period]);
  const { data, error, loading } = useGet<InsightsData>(path);

  return (
    <Page title={t('insights.title')}>
      <p>{t('insights.intro')}</p>
      <div className="insights-controls">
        <SelectField
          label={t('insights.period')}
          value={String(period)}
          onChange={(e) => setPeriod(Number(e.target.value) as (typeof PERIODS)[number])}
          options={PERIODS.map((p) => ({ value: String(p), label: t('insights.lastDays', { count: p }) }))}
        />
        {data ? (
          <p className="insights-range" aria-live="polite">
            {t('insights.range', { from: formatDate(data.from), to: formatDate(data.to) })}
          </p>
        ) : null}
      </div>
      <ErrorAlert error={error} />
      {loading ? <Loading /> : null}
      {data ? <InsightsCharts data={data} lang={i18n.language} /> : null}
    </Page>
  );
}

function InsightsCharts({ data, lang }: { data: InsightsData; lang: string }) {
  const { t } = useTranslation('admin-audit');
  const [series, setSeries] = useState<SeriesName>('selfServiceResets');
  const n = (v: number) => formatNumber(v);
  const shortDay = useMemo(() => new Intl.DateTimeFormat(lang, { month: 'short', day: 'numeric', timeZone: 'UTC' }), [lang]);
  const dayLabel = (day: string) => shortDay.format(new Date(`${day}T00:00:00Z`));
  const resultName = (r: (typeof RESULTS)[number]) => t(`result.${r}`);
  const legend = (value: string) => <span className="chart-legend-text">{value}</span>;

  const daily = data.days.map((d) => ({ day: d.day, label: dayLabel(d.day), ...d[series] }));
  const totals = data.totals[series];
  const totalsRows = SERIES.map((s) => ({ series: s, label: t(`series.${s}`), ...data.totals[s] }));
  const outcomes = FLOW_OUTCOMES.map((o) => ({ outcome: o, label: t(`outcome.${o}`), count: data.totals.flowOutcomes[o] ?? 0 }));
  const methods = data.methodsUsed.map((m) => ({ ...m, name: t(`resetMethod.${m.method}`, { defaultValue: m.label }) }));
  const reasons = data.topFailureReasons.map((r, i) => ({ ...r, rank: String(i + 1) }));
  const cov = data.registrationCoverage;
  const coverage = (['users', 'registered', 'enabled', 'capable'] as const).map((k) => ({ key: k, label: t(`coverage.${k}`), count: cov[k] }));
  const admins = data.adminResetsByAdmin.map((a) => ({
    ...a,
    name: a.initiatedBy.user?.userPrincipalName ?? a.initiatedBy.user?.displayName ?? a.initiatedBy.app?.displayName ?? a.initiatedBy.app?.appId ?? t('insights.unknownAdmin'),
  }));
  const sum = (xs: number[]) => xs.reduce((a, b) => a + b, 0);
  const axisTick = { fill: '#1b1b1b', fontSize: 12 };

  return (
    <div className="insights">
      <div className="chart-series-picker">
        <SelectField
          label={t('insights.daily.series')}
          value={series}
          onChange={(e) => setSeries(e.target.value as SeriesName)}
          options={SERIES.map((s) => ({ value: s, label: t(`series.${s}`) }))}
        />
      </div>
      <ChartFigure
        id="daily"
        title={t('insights.daily.title')}
        description={t('insights.daily.desc', { series: t(`series.${series}`), success: n(totals.success), failure: n(totals.failure), timeout: n(totals.timeout) })}
        table={
          <table>
            <caption>{t('insights.daily.caption', { series: t(`series.${series}`) })}</caption>
            <thead>
              <tr>
                <th scope="col">{t('insights.day')}</th>
                {RESULTS.map((r) => (
                  <th key={r} scope="col">
                    {resultName(r)}
                  </th>
                ))}
              </tr>
            </thead>
            <tbody>
              {daily.map((d) => (
                <tr key={d.day}>
                  <th scope="row">{formatDate(d.day)}</th>
                  {RESULTS.map((r) => (
                    <td key={r} className="num">
                      {n(d[r])}
                    </td>
                  ))}
                </tr>
              ))}
            </tbody>
          </table>
        }
      >
        <ResponsiveContainer width="100%" height={HEIGHT}>
          <BarChart data={daily} accessibilityLayer={false} margin={{ top: 8, right: 16, bottom: 8, left: 0 }}>
            <CartesianGrid strokeDasharray="3 3" vertical={false} />
            <XAxis dataKey="label" tick={axisTick} interval="preserveStartEnd" minTickGap={12} />
            <YAxis allowDecimals={false} tick={axisTick} tickFormatter={(v: number) => n(v)} width={40} />
            <Tooltip formatter={(v) => n(Number(v))} />
            <Legend formatter={legend} itemSorter={null} />
            {RESULTS.map((r) => (
              <Bar key={r} dataKey={r} name={resultName(r)} stackId="r" fill={COLORS[r]} isAnimationActive={false} maxBarSize={56} />
            ))}
          </BarChart>
        </ResponsiveContainer>
      </ChartFigure>

      <ChartFigure
        id="totals"
        title={t('insights.totals.title')}
        description={t('insights.totals.desc', { total: n(sum(totalsRows.map((r) => r.success + r.failure + r.timeout))), failure: n(sum(totalsRows.map((r) => r.failure + r.timeout))) })}
        table={
          <table data-testid="insights-totals">
            <caption>{t('insights.totals.caption')}</caption>
            <thead>
              <tr>
                <th scope="col">{t('insights.activity')}</th>
                {RESULTS.map((r) => (
                  <th key={r} scope="col">
                    {resultName(r)}
                  </th>
                ))}
              </tr>
            </thead>
            <tbody>
              {totalsRows.map((row) => (
                <tr key={row.series} data-series={row.series}>
                  <th scope="row">{row.label}</th>
                  {RESULTS.map((r) => (
                    <td key={r} className="num" data-result={r}>
                      {n(row[r])}
                    </td>
                  ))}
                </tr>
              ))}
            </tbody>
          </table>
        }
      >
        <ResponsiveContainer width="100%" height={HEIGHT + 40}>
          <BarChart data={totalsRows} layout="vertical" accessibilityLayer={false} margin={{ top: 8, right: 16, bottom: 8, left: 8 }}>
            <CartesianGrid strokeDasharray="3 3" horizontal={false} />
            <XAxis type="number" allowDecimals={false} tick={axisTick} tickFormatter={(v: number) => n(v)} />
            <YAxis type="category" dataKey="label" width={240} tick={axisTick} />
            <Tooltip formatter={(v) => n(Number(v))} />
            <Legend formatter={legend} itemSorter={null} />
            {RESULTS.map((r) => (
              <Bar key={r} dataKey={r} name={resultName(r)} stackId="r" fill={COLORS[r]} isAnimationActive={false} maxBarSize={56} />
            ))}
          </BarChart>
        </ResponsiveContainer>
      </ChartFigure>

      <ChartFigure
        id="outcomes"
        title={t('insights.outcomes.title')}
        description={t('insights.outcomes.desc', { list: outcomes.map((o) => `${o.label}: ${n(o.count)}`).join(', ') })}
        table={<SimpleTable caption={t('insights.outcomes.title')} head={[t('insights.outcome'), t('insights.count')]} rows={outcomes.map((o) => [o.label, n(o.count)])} />}
      >
        <ResponsiveContainer width="100%" height={HEIGHT}>
          <BarChart data={outcomes} accessibilityLayer={false} margin={{ top: 8, right: 16, bottom: 8, left: 0 }}>
            <CartesianGrid strokeDasharray="3 3" vertical={false} />
            <XAxis dataKey="label" tick={axisTick} interval={0} />
            <YAxis allowDecimals={false} tick={axisTick} tickFormatter={(v: number) => n(v)} width={40} />
            <Tooltip formatter={(v) => n(Number(v))} />
            <Bar dataKey="count" name={t('insights.count')} fill={COLORS.primary} isAnimationActive={false} maxBarSize={56} />
          </BarChart>
        </ResponsiveContainer>
      </ChartFigure>

      <ChartFigure
        id="methods"
        title={t('insights.methods.title')}
        description={methods.length === 0 ? t('insights.methods.none') : t('insights.methods.desc', { list: methods.map((m) => `${m.name}: ${n(m.total)}`).join(', ') })}
        empty={methods.length === 0}
        table={
          <SimpleTable
            caption={t('insights.methods.title')}
            head={[t('insights.method'), t('series.selfServiceResets'), t('series.selfServiceUnlocks'), t('insights.total')]}
            rows={methods.map((m) => [m.name, n(m.resets), n(m.unlocks), n(m.total)])}
          />
        }
      >
        <ResponsiveContainer width="100%" height={HEIGHT}>
          <BarChart data={methods} accessibilityLayer={false} margin={{ top: 8, right: 16, bottom: 8, left: 0 }}>
            <CartesianGrid strokeDasharray="3 3" vertical={false} />
            <XAxis dataKey="name" tick={axisTick} interval={0} />
            <YAxis allowDecimals={false} tick={axisTick} tickFormatter={(v: number) => n(v)} width={40} />
            <Tooltip formatter={(v) => n(Number(v))} />
            <Legend formatter={legend} itemSorter={null} />
            <Bar dataKey="resets" name={t('series.selfServiceResets')} stackId="m" fill={COLORS.primary} isAnimationActive={false} maxBarSize={56} />
            <Bar dataKey="unlocks" name={t('series.selfServiceUnlocks')} stackId="m" fill={COLORS.secondary} isAnimationActive={false} maxBarSize={56} />
          </BarChart>
        </ResponsiveContainer>
      </ChartFigure>

      <ChartFigure
        id="reasons"
        title={t('insights.reasons.title')}
        description={reasons.length === 0 ? t('insights.reasons.none') : t('insights.reasons.desc', { count: reasons.length, reason: reasons[0]?.reason ?? '', n: n(reasons[0]?.count ?? 0) })}
        empty={reasons.length === 0}
        table={
          <SimpleTable
            caption={t('insights.reasons.title')}
            head={[t('insights.rank'), t('insights.reason'), t('insights.count')]}
            rows={reasons.map((r) => [r.rank, r.reason || t('insights.noReason'), n(r.count)])}
          />
        }
      >
        <ol className="chart-key">
          {reasons.map((r) => (
            <li key={r.rank}>{r.reason || t('insights.noReason')}</li>
          ))}
        </ol>
        <ResponsiveContainer width="100%" height={Math.max(120, reasons.length * 32 + 40)}>
          <BarChart data={reasons} layout="vertical" accessibilityLayer={false} margin={{ top: 8, right: 16, bottom: 8, left: 8 }}>
            <CartesianGrid strokeDasharray="3 3" horizontal={false} />
            <XAxis type="number" allowDecimals={false} tick={axisTick} tickFormatter={(v: number) => n(v)} />
            <YAxis type="category" dataKey="rank" width={32} tick={axisTick} />
            <Tooltip formatter={(v) => n(Number(v))} labelFormatter={(rank) => reasons.find((r) => r.rank === rank)?.reason ?? ''} />
            <Bar dataKey="count" name={t('insights.count')} fill={COLORS.failure} isAnimationActive={false} maxBarSize={56} />
          </BarChart>
        </ResponsiveContainer>
      </ChartFigure>

      <ChartFigure
        id="coverage"
        title={t('insights.coverage.title')}
        description={t('insights.coverage.desc', { users: n(cov.users), registered: n(cov.registered), enabled: n(cov.enabled), capable: n(cov.capable) })}
        table={
          <>
            <SimpleTable caption={t('insights.coverage.title')} head={[t('insights.measure'), t('insights.users')]} rows={coverage.map((c) => [c.label, n(c.count)])} />
            <SimpleTable
              caption={t('insights.coverage.byMethod')}
              head={[t('insights.method'), t('insights.users')]}
              rows={Object.entries(cov.byMethod).map(([m, count]) => [t(`graphMethod.${m}`, { defaultValue: m }), n(count)])}
            />
          </>
        }
      >
        <ResponsiveContainer width="100%" height={HEIGHT}>
          <BarChart data={coverage} accessibilityLayer={false} margin={{ top: 8, right: 16, bottom: 8, left: 0 }}>
            <CartesianGrid strokeDasharray="3 3" vertical={false} />
            <XAxis dataKey="label" tick={axisTick} interval={0} />
            <YAxis allowDecimals={false} tick={axisTick} tickFormatter={(v: number) => n(v)} width={40} />
            <Tooltip formatter={(v) => n(Number(v))} />
            <Bar dataKey="count" name={t('insights.users')} fill={COLORS.tertiary} isAnimationActive={false} maxBarSize={56} />
          </BarChart>
        </ResponsiveContainer>
      </ChartFigure>

      <ChartFigure
        id="admins"
        title={t('insights.admins.title')}
        description={admins.length === 0 ? t('insights.admins.none') : t('insights.admins.desc', { list: admins.map((a) => `${a.name}: ${n(a.total)}`).join(', ') })}
        empty={admins.length === 0}
        table={
          <SimpleTable
            caption={t('insights.admins.title')}
            head={[t('insights.admin'), t('outcome.Succeeded'), t('outcome.Failed'), t('insights.total')]}
            rows={admins.map((a) => [a.name, n(a.succeeded), n(a.failed), n(a.total)])}
          />
        }
      >
        <ResponsiveContainer width="100%" height={Math.max(120, admins.length * 36 + 60)}>
          <BarChart data={admins} layout="vertical" accessibilityLayer={false} margin={{ top: 8, right: 16, bottom: 8, left: 8 }}>
            <CartesianGrid strokeDasharray="3 3" horizontal={false} />
            <XAxis type="number" allowDecimals={false} tick={axisTick} tickFormatter={(v: number) => n(v)} />
            <YAxis type="category" dataKey="name" width={190} tick={axisTick} />
            <Tooltip formatter={(v) => n(Number(v))} />
            <Legend formatter={legend} itemSorter={null} />
            <Bar dataKey="succeeded" name={t('outcome.Succeeded')} stackId="a" fill={COLORS.success} isAnimationActive={false} maxBarSize={56} />
            <Bar dataKey="failed" name={t('outcome.Failed')} stackId="a" fill={COLORS.failure} isAnimationActive={false} maxBarSize={56} />
          </BarChart>
        </ResponsiveContainer>
      </ChartFigure>

      <Writeback data={data.writeback} />
    </div>
  );
}

function Writeback({ data }: { data: InsightsData['writeback'] }) {
  const { t } = useTranslation('admin-audit');
  const n = (v: number) => formatNumber(v);
  if (!data.available) {
    return (
      <section className="card chart" aria-labelledby="writeback-title" data-chart="writeback">
        <h2 id="writeback-title">{t('insights.writeback.title')}</h2>
        <p>{t('insights.writeback.none')}</p>
      </section>
    );
  }
  const failed = data.jobs - data.succeeded;
  const rows = [
    { label: t('outcome.Succeeded'), count: data.succeeded },
    { label: t('outcome.Failed'), count: failed },
  ];
  const ms = (v: number | null) => (v === null ? t('insights.writeback.noLatency') : t('insights.writeback.ms', { n: n(v) }));
  return (
    <ChartFigure
      id="writeback"
      title={t('insights.writeback.title')}
      description={t('insights.writeback.desc', { jobs: n(data.jobs), rate: formatNumber(data.successRate, { style: 'percent', maximumFractionDigits: 1 }), average: ms(data.averageLatencyMs), p50: ms(data.p50LatencyMs) })}
      table={
        <SimpleTable
          caption={t('insights.writeback.title')}
          head={[t('insights.measure'), t('insights.value')]}
          rows={[
            [t('insights.writeback.jobs'), n(data.jobs)],
            [t('outcome.Succeeded'), n(data.succeeded)],
            [t('outcome.Failed'), n(failed)],
            [t('insights.writeback.rate'), formatNumber(data.successRate, { style: 'percent', maximumFractionDigits: 1 })],
            [t('insights.writeback.average'), ms(data.averageLatencyMs)],
            [t('insights.writeback.p50'), ms(data.p50LatencyMs)],
          ]}
        />
      }
    >
      <ResponsiveContainer width="100%" height={160}>
        <BarChart data={rows} layout="vertical" accessibilityLayer={false} margin={{ top: 8, right: 16, bottom: 8, left: 8 }}>
          <XAxis type="number" allowDecimals={false} tick={{ fill: '#1b1b1b', fontSize: 12 }} />
          <YAxis type="category" dataKey="label" width={120} tick={{ fill: '#1b1b1b', fontSize: 12 }} />
          <Tooltip formatter={(v) => n(Number(v))} />
          <Bar dataKey="count" name={t('insights.count')} fill={COLORS.primary} isAnimationActive={false} maxBarSize={56} />
        </BarChart>
      </ResponsiveContainer>
    </ChartFigure>
  );
}

function SimpleTable({ caption, head, rows }: { caption: string; head: string[]; rows: string[][] }) {
  const { t } = useTranslation('admin-audit');
  return (
    <table>
      <caption>{caption}</caption>
      <thead>
        <tr>
          {head.map((h) => (
            <th key={h} scope="col">
              {h}
            </th>
          ))}
        </tr>
      </thead>
      <tbody>
        {rows.length === 0 ? (
          <tr>
            <td colSpan={head.length}>{t('insights.noData')}</td>
          </tr>
        ) : null}
        {rows.map((r, i) => (
          <tr key={`${r[0]}-${i}`}>
            <th scope="row">{r[0]}</th>
            {r.slice(1).map((c, j) => (
              <td key={j} className="num">
                {c}
              </td>
            ))}
          </tr>
        ))}
      </tbody>
    </table>
  );
}
