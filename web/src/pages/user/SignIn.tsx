import { useState, type FormEvent } from 'react';
import { useTranslation } from 'react-i18next';
import { Link, useNavigate, useSearchParams } from 'react-router';
import { Alert, ErrorAlert } from '../../components/Alert';
import { Field } from '../../components/Field';
import { NewPasswordFields } from '../../components/NewPassword';
import { Page } from '../../components/Page';
import { ApiError } from '../../lib/api';
import { useBranding } from '../../lib/branding';
import { useSession, type SessionView } from '../../lib/session';
import { safeReturnTo } from './shared';

type Stage = 'credentials' | 'change';

/**
 * /signin: user name + password. The server may interrupt: the password must be changed first
 * (403 auth.password_expired with details.changeRequired: the change form reuses the password just
 * typed as the current one), or security info registration is due (the user is taken to the security
 * info page, which shows the interrupt with "Register now" and "Skip for now", as Azure allows). A locked account is told when and how to get back in (/unlock).
 */
export function SignIn() {
  const { t } = useTranslation('account');
  const branding = useBranding();
  const session = useSession();
  const navigate = useNavigate();
  const [params] = useSearchParams();
  const returnTo = safeReturnTo(params.get('returnTo'));

  const [stage, setStage] = useState<Stage>('credentials');
  const [upn, setUpn] = useState(params.get('upn') ?? '');
  const [password, setPassword] = useState('');
  const [newPassword, setNewPassword] = useState('');
  const [confirm, setConfirm] = useState('');
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);

  const proceed = (view: SessionView) => {
    if (view.registrationRequired) {
      // the "more information required" interrupt lives on the security info page, where "Register
      // now" happens; "Skip for now" there goes on to returnTo
      const q = new URLSearchParams({ interrupt: view.registrationReason === 'reconfirm' ? 'reconfirm' : 'register' });
      if (returnTo) q.set('returnTo', returnTo);
      void navigate(`/account/security-info?${q.toString()}`, { replace: true });
      return;
    }
    void navigate(returnTo ?? '/account', { replace: true });
  };

  const submitCredentials = async (e: FormEvent) => {
    e.preventDefault();
    setBusy(true);
    setError(null);
    try {
      proceed(await session.signIn(upn.trim(), password));
    } catch (err) {
      if (err instanceof ApiError && err.code === 'auth.password_expired') {
        setStage('change');
      } else {
        setError(err);
        if (err instanceof ApiError && err.code === 'auth.invalid_credentials') setPassword('');
      }
    } finally {
      setBusy(false);
    }
  };

  const submitChange = async (e: FormEvent) => {
    e.preventDefault();
    if (newPassword !== confirm) return;
    setBusy(true);
    setError(null);
    try {
      const view = await session.changeAtSignIn(upn.trim(), password, newPassword);
      setPassword('');
      setNewPassword('');
      setConfirm('');
      proceed(view);
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  };

  const unlockHref = `/unlock${upn.trim() ? `?upn=${encodeURIComponent(upn.trim())}` : ''}`;
  const resetHref = `/reset${upn.trim() ? `?upn=${encodeURIComponent(upn.trim())}` : ''}`;
  const locked = error instanceof ApiError && error.code === 'auth.account_locked';

  if (stage === 'change') {
    const mismatch = confirm !== '' && newPassword !== confirm;
    return (
      <Page title={t('signIn.changeTitle')}>
        <Alert kind="info">
          <p>{t('signIn.changeText')}</p>
        </Alert>
        <p className="signin-user">{t('signIn.changingFor', { upn: upn.trim() })}</p>
        <ErrorAlert error={error} />
        <form onSubmit={(e) => void submitChange(e)} noValidate>
          <NewPasswordFields value={newPassword} onChange={setNewPassword} confirm={confirm} onConfirmChange={setConfirm} tenant={branding.tenantId} userInputs={[upn.trim(), upn.split('@')[0] ?? '']} error={error} />
          <div className="actions">
            <button type="submit" disabled={busy || newPassword === '' || mismatch}>
              {t('signIn.changeSubmit')}
            </button>
            <button
              type="button"
              className="secondary"
              onClick={() => {
                setStage('credentials');
                setPassword('');
                setNewPassword('');
                setConfirm('');
                setError(null);
              }}
            >
              {t('signIn.cancel')}
            </button>
          </div>
        </form>
      </Page>
    );
  }

  return (
    <Page title={t('signIn.title')}>
      {branding.signInText ? <p className="signin-text">{branding.signInText}</p> : null}
      {locked ? (
        <Alert kind="error">
          <p>{t('signIn.locked')}</p>
          <p>
            <Link to={unlockHref}>{t('signIn.unlockNow')}</Link>
          </p>
        </Alert>
      ) : (
        <ErrorAlert error={error} />
      )}
      <form className="signin-form" onSubmit={(e) => void submitCredentials(e)}>
        <Field label={t('signIn.upn')} hint={t('signIn.upnHint')} type="text" inputMode="email" spellCheck={false} autoCapitalize="none" name="username" autoComplete="username" required value={upn} onChange={(e) => setUpn(e.target.value)} />
        <Field label={t('signIn.password')} type="password" name="password" autoComplete="current-password" required value={password} onChange={(e) => setPassword(e.target.value)} />
        <div className="actions">
          <button type="submit" disabled={busy || upn.trim() === '' || password === ''}>
            {busy ? t('signIn.signingIn') : t('signIn.submit')}
          </button>
        </div>
      </form>
      <ul className="signin-links">
        <li>
          <Link to={resetHref}>{t('signIn.forgot')}</Link>
        </li>
        <li>
          <Link to={unlockHref}>{t('signIn.unlock')}</Link>
        </li>
      </ul>
    </Page>
  );
}
