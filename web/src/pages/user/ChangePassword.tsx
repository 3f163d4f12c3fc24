import { useState, type FormEvent } from 'react';
import { useTranslation } from 'react-i18next';
import { Link } from 'react-router';
import { Alert, ErrorAlert } from '../../components/Alert';
import { Field } from '../../components/Field';
import { NewPasswordFields } from '../../components/NewPassword';
import { Page } from '../../components/Page';
import { api } from '../../lib/api';
import { useSession } from '../../lib/session';
import { errorCode } from './shared';

/**
 * /account/password: current + new password → POST /v1.0/me/changePassword (Graph). A policy refusal
 * lists each broken rule; an on-premises refusal (writeback off, the directory said no, the agent is
 * unreachable) is shown with its own reason from the error code.
 */
export function ChangePassword() {
  const { t } = useTranslation('account');
  const auth = useSession();
  const { session } = auth;
  const [current, setCurrent] = useState('');
  const [next, setNext] = useState('');
  const [confirm, setConfirm] = useState('');
  const [error, setError] = useState<unknown>(null);
  const [done, setDone] = useState(false);
  const [busy, setBusy] = useState(false);

  const upn = session?.user.userPrincipalName ?? '';
  const mismatch = confirm !== '' && next !== confirm;

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    if (mismatch) return;
    setBusy(true);
    setError(null);
    setDone(false);
    try {
      await api.post('/v1.0/me/changePassword', { currentPassword: current, newPassword: next });
      setCurrent('');
      setNext('');
      setConfirm('');
      setDone(true);
      if (session) {
        // the new password's clock starts now: the session read again drops the expiry notice
        await auth.refresh();
      }
    } catch (err) {
      setError(err);
      if (errorCode(err) === 'password.current_invalid') setCurrent('');
    } finally {
      setBusy(false);
    }
  };

  return (
    <Page title={t('change.title')}>
      <p>{t('change.intro')}</p>
      {done ? (
        <Alert kind="success">
          <p>{t('change.done')}</p>
          <p>
            <Link to="/account">{t('change.backToOverview')}</Link>
          </p>
        </Alert>
      ) : null}
      <ErrorAlert error={error} />
      <form onSubmit={(e) => void submit(e)} noValidate>
        <input type="text" name="username" autoComplete="username" value={upn} readOnly hidden />
        <Field label={t('change.current')} type="password" autoComplete="current-password" required value={current} onChange={(e) => setCurrent(e.target.value)} error={errorCode(error) === 'password.current_invalid' ? t('change.currentWrong') : undefined} />
        <NewPasswordFields value={next} onChange={setNext} confirm={confirm} onConfirmChange={setConfirm} tenant={session?.user.tenantId ?? null} userInputs={[upn, upn.split('@')[0] ?? '', session?.user.displayName ?? '']} error={error} />
        <div className="actions">
          <button type="submit" disabled={busy || current === '' || next === '' || mismatch}>
            {busy ? t('change.submitting') : t('change.submit')}
          </button>
        </div>
      </form>
    </Page>
  );
}
