import { useState } from 'react';
import { useTranslation } from 'react-i18next';
import { Link } from 'react-router';
import { Alert } from '../../../components/Alert';
import { Checkbox, Field } from '../../../components/Field';
import { api } from '../../../lib/api';
import { useSession } from '../../../lib/session';
import { AdminError, generatePassword, NS, OneTimePassword, type GraphUser } from './common';
import { PasswordChoice, type PasswordMode } from './PasswordChoice';

/** New user: name, user name, password (generated or chosen), must change at next sign-in, enabled. */
export function CreateUser({ onDone, onCancel }: { onDone: () => void; onCancel: () => void }) {
  const { t } = useTranslation(NS);
  const { session } = useSession();
  const [displayName, setDisplayName] = useState('');
  const [upn, setUpn] = useState('');
  const [givenName, setGivenName] = useState('');
  const [surname, setSurname] = useState('');
  const [jobTitle, setJobTitle] = useState('');
  const [mode, setMode] = useState<PasswordMode>('generate');
  const [password, setPassword] = useState('');
  const [confirm, setConfirm] = useState('');
  const [mustChange, setMustChange] = useState(true);
  const [enabled, setEnabled] = useState(true);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const [created, setCreated] = useState<{ user: GraphUser; password: string | null } | null>(null);
  const domain = session?.user.userPrincipalName.split('@')[1] ?? 'contoso.com';

  if (created) {
    return (
      <section className="card dir-card" aria-labelledby="created-title">
        <h2 id="created-title">{t('create.doneTitle')}</h2>
        <Alert kind="success">
          <p>
            {t('create.done', { name: created.user.displayName })} <Link to={`/admin/users/${created.user.id}`}>{t('create.open', { name: created.user.displayName })}</Link>
          </p>
        </Alert>
        {created.password ? <OneTimePassword password={created.password} /> : null}
        <div className="actions">
          <button
            type="button"
            className="secondary"
            onClick={() => {
              setCreated(null);
              onCancel();
            }}
          >
            {t('common:close')}
          </button>
        </div>
      </section>
    );
  }

  const mismatch = mode === 'choose' && password !== confirm;
  return (
    <section className="card dir-card" aria-labelledby="create-title">
      <h2 id="create-title">{t('create.title')}</h2>
      <form
        onSubmit={(e) => {
          e.preventDefault();
          if (mismatch) return;
          const pw = mode === 'generate' ? generatePassword() : password;
          setBusy(true);
          setError(null);
          api
            .post<GraphUser>('/v1.0/users', {
              displayName: displayName.trim(),
              userPrincipalName: upn.trim(),
              accountEnabled: enabled,
              ...(givenName.trim() ? { givenName: givenName.trim() } : {}),
              ...(surname.trim() ? { surname: surname.trim() } : {}),
              ...(jobTitle.trim() ? { jobTitle: jobTitle.trim() } : {}),
              passwordProfile: { password: pw, forceChangePasswordNextSignIn: mustChange },
            })
            .then((user) => {
              setCreated({ user, password: mode === 'generate' ? pw : null });
              setPassword('');
              setConfirm('');
              onDone();
            })
            .catch((err: unknown) => setError(err))
            .finally(() => setBusy(false));
        }}
      >
        <AdminError error={error} />
        <Field label={t('field.displayName')} required value={displayName} onChange={(e) => setDisplayName(e.target.value)} autoComplete="off" />
        <Field label={t('field.upn')} hint={t('field.upnHint', { example: `name@${domain}` })} required type="email" value={upn} onChange={(e) => setUpn(e.target.value)} autoComplete="off" />
        <div className="dir-pair">
          <Field label={t('field.givenName')} value={givenName} onChange={(e) => setGivenName(e.target.value)} autoComplete="off" />
          <Field label={t('field.surname')} value={surname} onChange={(e) => setSurname(e.target.value)} autoComplete="off" />
        </div>
        <Field label={t('field.jobTitle')} value={jobTitle} onChange={(e) => setJobTitle(e.target.value)} autoComplete="off" />
        <PasswordChoice
          name="create-pw"
          mode={mode}
          onModeChange={setMode}
          password={password}
          onPasswordChange={setPassword}
          confirm={confirm}
          onConfirmChange={setConfirm}
          userInputs={[displayName, upn, givenName, surname]}
          mustChange={mustChange}
          onMustChangeChange={setMustChange}
        />
        <Checkbox label={t('field.accountEnabled')} checked={enabled} onChange={(e) => setEnabled(e.target.checked)} />
        <div className="actions">
          <button type="submit" disabled={busy}>
            {t('create.submit')}
          </button>
          <button type="button" className="secondary" onClick={onCancel}>
            {t('common:cancel')}
          </button>
        </div>
      </form>
    </section>
  );
}
