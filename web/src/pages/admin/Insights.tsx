import { useMemo, useState } from 'react';
import { useTranslation } from 'react-i18next';
import { useSearchParams } from 'react-router';
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
 * Every chart has a title, a description with its figures and a data table (ChartFigure). The period
 * lives in the URL (?days=7), so a reload or a shared link shows the same range.
 */

const PERIODS = [7, 30, 90] as const;
const RESULTS = ['success', 'failure', 'timeout'] as const;
const HEIGHT = 280;

export function Insights() {
  const { t, i18n } = useTranslation('admin-audit');
  const [params, setParams] = useSearchParams();
  const asked = Number(params.get('days'));
  const period: (typeof PERIODS)[number] = PERIODS.find((p) => p === asked) ?? 30;
  const setPeriod = (p: number) =>
    setParams((prev) => {
      const next = new URLSearchParams(prev);
      if (p === 30) next.delete('days');
      else next.set('days', String(p));
      return next;
    });
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
          onChange={(e) => setPeriod(Number(e.target.value))}
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
        <Bars data={daily} category="label" height={HEIGHT} interval="preserveStartEnd" bars={RESULTS.map((r) => ({ key: r, name: resultName(r), fill: COLORS[r] }))} stackId="r" legend />
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
        <Bars data={totalsRows} horizontal category="label" categoryWidth={240} height={HEIGHT + 40} bars={RESULTS.map((r) => ({ key: r, name: resultName(r), fill: COLORS[r] }))} stackId="r" legend />
      </ChartFigure>

      <ChartFigure
        id="outcomes"
        title={t('insights.outcomes.title')}
        description={t('insights.outcomes.desc', { list: outcomes.map((o) => `${o.label}: ${n(o.count)}`).join(', ') })}
        table={<SimpleTable caption={t('insights.outcomes.title')} head={[t('insights.outcome'), t('insights.count')]} rows={outcomes.map((o) => [o.label, n(o.count)])} />}
      >
        <Bars data={outcomes} category="label" height={HEIGHT} bars={[{ key: 'count', name: t('insights.count'), fill: COLORS.primary }]} />
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
        <Bars data={methods} category="name" height={HEIGHT} bars={[{ key: 'resets', name: t('series.selfServiceResets'), fill: COLORS.primary }, { key: 'unlocks', name: t('series.selfServiceUnlocks'), fill: COLORS.secondary }]} stackId="m" legend />
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
        <Bars data={reasons} horizontal category="rank" categoryWidth={32} height={Math.max(120, reasons.length * 32 + 40)} bars={[{ key: 'count', name: t('insights.count'), fill: COLORS.failure }]} tooltipLabel={(rank) => reasons.find((r) => r.rank === rank)?.reason ?? ''} />
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
        <Bars data={coverage} category="label" height={HEIGHT} bars={[{ key: 'count', name: t('insights.users'), fill: COLORS.tertiary }]} />
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
        <Bars data={admins} horizontal category="name" categoryWidth={190} height={Math.max(120, admins.length * 36 + 60)} bars={[{ key: 'succeeded', name: t('outcome.Succeeded'), fill: COLORS.success }, { key: 'failed', name: t('outcome.Failed'), fill: COLORS.failure }]} stackId="a" legend />
      </ChartFigure>

      <Writeback data={data.writeback} />
    </div>
  );
}

const AXIS_TICK = { fill: '#1b1b1b', fontSize: 12 };
const legend = (value: string) => <span className="chart-legend-text">{value}</span>;

/**
 * One bar chart: columns over `category` (ticks every one, or spread for the daily chart), or with
 * `horizontal`, bars across with the categories down the side; counts formatted in the page's language.
 */
function Bars({
  data,
  horizontal = false,
  category,
  categoryWidth,
  height,
  bars,
  stackId,
  legend: withLegend = false,
  interval = 0,
  tooltipLabel,
}: {
  data: object[];
  horizontal?: boolean;
  category: string;
  categoryWidth?: number;
  height: number;
  bars: { key: string; name: string; fill: string }[];
  stackId?: string;
  legend?: boolean;
  interval?: 0 | 'preserveStartEnd';
  tooltipLabel?: (label: unknown) => string;
}) {
  const n = (v: number) => formatNumber(v);
  return (
    <ResponsiveContainer width="100%" height={height}>
      <BarChart data={data} layout={horizontal ? 'vertical' : undefined} accessibilityLayer={false} margin={{ top: 8, right: 16, bottom: 8, left: horizontal ? 8 : 0 }}>
        {horizontal ? <CartesianGrid strokeDasharray="3 3" horizontal={false} /> : <CartesianGrid strokeDasharray="3 3" vertical={false} />}
        {horizontal ? (
          <XAxis type="number" allowDecimals={false} tick={AXIS_TICK} tickFormatter={(v: number) => n(v)} />
        ) : (
          <XAxis dataKey={category} tick={AXIS_TICK} interval={interval} {...(interval === 0 ? {} : { minTickGap: 12 })} />
        )}
        {horizontal ? (
          <YAxis type="category" dataKey={category} width={categoryWidth} tick={AXIS_TICK} />
        ) : (
          <YAxis allowDecimals={false} tick={AXIS_TICK} tickFormatter={(v: number) => n(v)} width={40} />
        )}
        <Tooltip formatter={(v) => n(Number(v))} {...(tooltipLabel ? { labelFormatter: tooltipLabel } : {})} />
        {withLegend ? <Legend formatter={legend} itemSorter={null} /> : null}
        {bars.map((b) => (
          <Bar key={b.key} dataKey={b.key} name={b.name} stackId={stackId} fill={b.fill} isAnimationActive={false} maxBarSize={56} />
        ))}
      </BarChart>
    </ResponsiveContainer>
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
