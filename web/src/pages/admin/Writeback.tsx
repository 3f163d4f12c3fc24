import { useCallback, useEffect, useRef, useState } from 'react';
import { useTranslation } from 'react-i18next';
import { Link } from 'react-router';
import { Alert, ErrorAlert } from '../../components/Alert';
import { Loading, Page } from '../../components/Page';
import { api } from '../../lib/api';
import { formatDateTime, formatNumber } from '../../lib/i18n';
import { formatRelative } from './policy/time';
import type { AgentView } from '../../../../src/contracts/writeback';

/** GET /api/v1/writeback/agents: the server's own type (src/contracts/writeback.ts). */
export type { AgentView };

interface RegistrationToken {
  token: string;
  expiresDateTime: string;
}

/**
 * The on-premises writeback agents (reference §6, F45): health per agent, a one-time registration
 * token with the exact command to start an agent, enable/disable per agent, and "sync now".
 */
export function Writeback() {
  const { t } = useTranslation('admin-policy');
  const [agents, setAgents] = useState<AgentView[] | null>(null);
  const [loadError, setLoadError] = useState<unknown>(null);
  const [actionError, setActionError] = useState<unknown>(null);
  const [message, setMessage] = useState<string | null>(null);
  const [token, setToken] = useState<RegistrationToken | null>(null);
  const [busy, setBusy] = useState<string | null>(null);
  const tokenHeading = useRef<HTMLHeadingElement>(null);
  /** the tenant's switch (SSPR policy writebackEnabled); null when this admin may not read that policy */
  const [tenantWriteback, setTenantWriteback] = useState<boolean | null>(null);
  const [copied, setCopied] = useState<string | null>(null);

  const load = useCallback(async (signal?: AbortSignal) => {
    try {
      const r = await api.get<{ value: AgentView[] }>('/api/v1/writeback/agents', signal ? { signal } : {});
      setAgents(r.value);
      setLoadError(null);
    } catch (err) {
      if (!signal?.aborted) setLoadError(err);
    }
  }, []);

  useEffect(() => {
    const controller = new AbortController();
    void load(controller.signal);
    return () => controller.abort();
  }, [load]);

  useEffect(() => {
    if (token) tokenHeading.current?.focus();
  }, [token]);

  useEffect(() => {
    const controller = new AbortController();
    api
      .get<{ writebackEnabled: boolean }>('/api/v1/policies/sspr', { signal: controller.signal })
      .then((p) => setTenantWriteback(p.writebackEnabled))
      .catch(() => setTenantWriteback(null)); // Hybrid Identity Administrators manage agents, not the SSPR policy
    return () => controller.abort();
  }, []);

  const setTenantSwitch = (on: boolean) =>
    run('tenant', async () => {
      const p = await api.patch<{ writebackEnabled: boolean }>('/api/v1/policies/sspr', { writebackEnabled: on });
      setTenantWriteback(p.writebackEnabled);
      setMessage(t(p.writebackEnabled ? 'writeback.tenantOnMessage' : 'writeback.tenantOffMessage'));
    });

  const copyToken = async (value: string) => {
    try {
      await navigator.clipboard.writeText(value);
      setCopied(t('writeback.copied'));
    } catch {
      setCopied(t('writeback.copyFailed'));
    }
  };

  const run = async (key: string, action: () => Promise<void>) => {
    setBusy(key);
    setActionError(null);
    setMessage(null);
    try {
      await action();
    } catch (err) {
      setActionError(err);
    } finally {
      setBusy(null);
    }
  };

  const createToken = () =>
    run('token', async () => {
      setCopied(null);
      setToken(await api.post<RegistrationToken>('/api/v1/writeback/agents/registrationTokens'));
    });

  const syncNow = () =>
    run('sync', async () => {
      const r = await api.post<{ agentsAsked: number }>('/api/v1/writeback/agents/sync');
      setMessage(t('writeback.syncAsked', { count: r.agentsAsked }));
      await load();
    });

  const setEnabled = (agent: AgentView, enabled: boolean) =>
    run(agent.id, async () => {
      const next = await api.patch<AgentView>(`/api/v1/writeback/agents/${agent.id}`, { enabled });
      setAgents((list) => list?.map((a) => (a.id === next.id ? next : a)) ?? null);
      setMessage(t(enabled ? 'writeback.enabledMessage' : 'writeback.disabledMessage', { name: agent.name }));
    });

  const origin = window.location.origin;
  const now = Date.now();

  return (
    <Page
      title={t('writeback.title')}
      actions={
        <>
          <button type="button" onClick={() => void createToken()} disabled={busy !== null}>
            {t('writeback.createToken')}
          </button>
          <button type="button" className="secondary" onClick={() => void syncNow()} disabled={busy !== null || !agents?.some((a) => a.enabled)}>
            {t('writeback.syncNow')}
          </button>
          <button type="button" className="secondary" onClick={() => void run('refresh', () => load())} disabled={busy !== null}>
            {t('writeback.refresh')}
          </button>
        </>
      }
    >
      <div className="writeback-page">
        <p>
          {t('writeback.intro')} <Link to="/admin/policies/sspr/on-premises">{t('writeback.policyLink')}</Link>
        </p>
        {tenantWriteback !== null ? (
          <div className={`status-line ${tenantWriteback ? 'status-ok' : 'status-bad'}`}>
            <span>{tenantWriteback ? t('writeback.tenantOn') : t('writeback.tenantOff')}</span>{' '}
            <button type="button" className="secondary small" disabled={busy !== null} onClick={() => void setTenantSwitch(!tenantWriteback)}>
              {tenantWriteback ? t('writeback.tenantTurnOff') : t('writeback.tenantTurnOn')}
            </button>
          </div>
        ) : null}
        <ErrorAlert error={actionError} />
        {message ? <Alert kind="success">{message}</Alert> : null}

        {token ? (
          <section className="card token-card" aria-labelledby="token-heading">
            <h2 id="token-heading" ref={tokenHeading} tabIndex={-1}>
              {t('writeback.tokenHeading')}
            </h2>
            <Alert kind="warning">{t('writeback.tokenOnce', { expires: formatDateTime(token.expiresDateTime) })}</Alert>
            <div className="field">
              <label htmlFor="agent-token">{t('writeback.tokenLabel')}</label>
              <div className="inline-form">
                <input id="agent-token" className="mono" readOnly value={token.token} onFocus={(e) => e.target.select()} />
                <button type="button" className="secondary" onClick={() => void copyToken(token.token)}>
                  {t('writeback.copy')}
                </button>
              </div>
              <p className="hint" role="status" aria-live="polite">
                {copied}
              </p>
            </div>
            <ol className="steps">
              <li>
                {t('writeback.step1')} <code>/etc/postern/agent.token</code>
              </li>
              <li>{t('writeback.step2')}</li>
              <li>
                {t('writeback.step3')}
                <pre className="command">
                  <code>{`postern agent --url ${origin} --token-file /etc/postern/agent.token --config /etc/postern/directory.json`}</code>
                </pre>
              </li>
              <li>{t('writeback.step4')}</li>
            </ol>
            <button type="button" className="secondary" onClick={() => setToken(null)}>
              {t('writeback.hideToken')}
            </button>
          </section>
        ) : null}

        {loadError ? (
          <ErrorAlert error={loadError} />
        ) : !agents ? (
          <Loading />
        ) : agents.length === 0 ? (
          <p className="empty">{t('writeback.none')}</p>
        ) : (
          <div className="table-scroll">
            <table className="agents">
              <caption>{t('writeback.caption', { count: agents.length })}</caption>
              <thead>
                <tr>
                  <th scope="col">{t('writeback.col.name')}</th>
                  <th scope="col">{t('writeback.col.version')}</th>
                  <th scope="col">{t('writeback.col.heartbeat')}</th>
                  <th scope="col">{t('writeback.col.directory')}</th>
                  <th scope="col">{t('writeback.col.applied')}</th>
                  <th scope="col">{t('writeback.col.refused')}</th>
                  <th scope="col">{t('writeback.col.status')}</th>
                  <th scope="col">{t('writeback.col.actions')}</th>
                </tr>
              </thead>
              <tbody>
                {agents.map((a) => (
                  <tr key={a.id}>
                    <th scope="row">
                      {a.name}
                      <span className="sub">{t(`writeback.kind.${a.directoryKind}`, { defaultValue: a.directoryKind })}</span>
                    </th>
                    <td>{a.version}</td>
                    <td>
                      {a.lastHeartbeatDateTime ? (
                        <>
                          {formatRelative(a.lastHeartbeatDateTime, now)}
                          <span className="sub">
                            <time dateTime={a.lastHeartbeatDateTime}>{formatDateTime(a.lastHeartbeatDateTime)}</time>
                          </span>
                        </>
                      ) : (
                        t('writeback.never')
                      )}
                    </td>
                    <td>
                      {a.directoryReachable ? t('writeback.reachable') : t('writeback.unreachable')}
                      {a.directoryDetail ? <span className="sub">{a.directoryDetail}</span> : null}
                    </td>
                    <td className="num">{formatNumber(a.jobsApplied)}</td>
                    <td className="num">{formatNumber(a.jobsRefused)}</td>
                    <td>
                      <span className={`badge ${!a.enabled ? 'badge-off' : a.healthy ? 'badge-ok' : 'badge-bad'}`}>
                        {!a.enabled ? t('writeback.status.disabled') : a.healthy ? t('writeback.status.healthy') : t('writeback.status.unhealthy')}
                      </span>
                      {a.syncRequested ? <span className="sub">{t('writeback.syncPending')}</span> : null}
                    </td>
                    <td>
                      <button type="button" className={a.enabled ? 'secondary' : ''} disabled={busy !== null} onClick={() => void setEnabled(a, !a.enabled)}>
                        {a.enabled ? t('writeback.disable') : t('writeback.enable')}
                        <span className="visually-hidden"> {a.name}</span>
                      </button>
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        )}
      </div>
    </Page>
  );
}
