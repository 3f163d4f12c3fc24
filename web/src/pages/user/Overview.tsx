import { useCallback, useEffect, useState } from 'react';
import { useTranslation } from 'react-i18next';
import { Link } from 'react-router';
import { Alert, ErrorAlert } from '../../components/Alert';
import { Loading, Page } from '../../components/Page';
import { api } from '../../lib/api';
import { formatDateTime } from '../../lib/i18n';
import { useSession } from '../../lib/session';
import type { SecurityInfoView } from './securityInfoTypes';

interface Me {
  displayName: string | null;
  userPrincipalName: string;
  mail: string | null;
  lastPasswordChangeDateTime: string | null;
  onPremisesSyncEnabled: boolean | null;
}

/**
 * /account: who is signed in, when the password was last changed, the expiry notice the sign-in
 * answer carried ("Your password expires in N days"), and whether security info is registered or
 * due for review.
 */
export function Overview() {
  const { t } = useTranslation('account');
  const { session } = useSession();
  const [me, setMe] = useState<Me | null>(null);
  const [info, setInfo] = useState<SecurityInfoView | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [reviewed, setReviewed] = useState(false);

  const load = useCallback(async (signal?: AbortSignal) => {
    try {
      const [m, i] = await Promise.all([
        api.get<Me>('/v1.0/me?$select=displayName,userPrincipalName,mail,lastPasswordChangeDateTime,onPremisesSyncEnabled', signal ? { signal } : {}),
        api.get<SecurityInfoView>('/api/v1/me/security-info', signal ? { signal } : {}),
      ]);
      setMe(m);
      setInfo(i);
    } catch (err) {
      if (!signal?.aborted) setError(err);
    }
  }, []);

  useEffect(() => {
    const c = new AbortController();
    void load(c.signal);
    return () => c.abort();
  }, [load]);

  const confirmInfo = async () => {
    setError(null);
    try {
      await api.post('/api/v1/me/security-info/confirm');
      setReviewed(true);
      await load();
    } catch (err) {
      setError(err);
    }
  };

  // the session says it on every read (GET /api/v1/session), so the notice survives a reload
  const days = session?.passwordExpiresInDays;
  return (
    <Page title={t('overview.title')}>
      {typeof days === 'number' ? (
        <Alert kind="warning">
          <p>{days <= 0 ? t('overview.expiresToday') : t('overview.expiresIn', { count: days })}</p>
          <p>
            <Link to="/account/password">{t('overview.changeNow')}</Link>
          </p>
        </Alert>
      ) : null}
      <ErrorAlert error={error} />
      {reviewed ? (
        <Alert kind="success">
          <p>{t('overview.reviewed')}</p>
        </Alert>
      ) : null}
      {!me || !info ? (
        error ? null : <Loading />
      ) : (
        <>
          <section className="card account-card" aria-labelledby="overview-profile">
            <h2 id="overview-profile">{t('overview.profile')}</h2>
            <dl className="facts">
              <dt>{t('overview.name')}</dt>
              <dd>{me.displayName ?? session?.user.displayName}</dd>
              <dt>{t('overview.upn')}</dt>
              <dd>{me.userPrincipalName}</dd>
              {me.mail ? (
                <>
                  <dt>{t('overview.mail')}</dt>
                  <dd>{me.mail}</dd>
                </>
              ) : null}
            </dl>
          </section>
          <section className="card account-card" aria-labelledby="overview-password">
            <h2 id="overview-password">{t('overview.password')}</h2>
            <dl className="facts">
              <dt>{t('overview.lastChanged')}</dt>
              <dd>{me.lastPasswordChangeDateTime ? formatDateTime(me.lastPasswordChangeDateTime) : t('overview.never')}</dd>
              {typeof days === 'number' ? (
                <>
                  <dt>{t('overview.expires')}</dt>
                  <dd>{days <= 0 ? t('overview.expiresTodayShort') : t('overview.expiresInShort', { count: days })}</dd>
                </>
              ) : null}
              {me.onPremisesSyncEnabled ? (
                <>
                  <dt>{t('overview.managedBy')}</dt>
                  <dd>{t('overview.onPremises')}</dd>
                </>
              ) : null}
            </dl>
            <p>
              <Link to="/account/password">{t('overview.changePassword')}</Link>
            </p>
          </section>
          <section className="card account-card" aria-labelledby="overview-security">
            <h2 id="overview-security">{t('overview.securityInfo')}</h2>
            {info.registrationRequired && info.registrationReason === 'reconfirm' ? (
              <Alert kind="warning">
                <p>{t('overview.reconfirm')}</p>
                <div className="actions">
                  <button type="button" onClick={() => void confirmInfo()}>
                    {t('overview.looksGood')}
                  </button>
                  <Link className="button secondary" to="/account/security-info">
                    {t('overview.review')}
                  </Link>
                </div>
              </Alert>
            ) : info.registrationRequired || (info.policy.ssprEnabled && !info.isRegistered) ? (
              <Alert kind="warning">
                <p>{t('overview.notRegistered', { count: info.policy.methodsRequired })}</p>
              </Alert>
            ) : (
              <p>{info.policy.ssprEnabled ? t('overview.registered') : t('overview.ssprOff')}</p>
            )}
            <p>{t('overview.methodCount', { count: info.usableMethods.length })}</p>
            <p>
              <Link to="/account/security-info">{t('overview.manageSecurityInfo')}</Link>
            </p>
          </section>
          <section className="card account-card" aria-labelledby="overview-help">
            <h2 id="overview-help">{t('overview.help')}</h2>
            <ul>
              <li>
                <Link to="/reset">{t('overview.forgot')}</Link>
              </li>
            </ul>
          </section>
        </>
      )}
    </Page>
  );
}
