import { useState } from 'react';
import { useTranslation } from 'react-i18next';
import { Alert } from '../../../components/Alert';
import { api, ApiError, errorFromBody } from '../../../lib/api';
import { useSession } from '../../../lib/session';
import { AdminError, Modal, NS, OneTimePassword, PASSWORD_METHOD_ID, relative, type GraphUser } from './common';
import { PasswordChoice } from './PasswordChoice';

interface Operation {
  status: 'notStarted' | 'running' | 'succeeded' | 'failed';
  statusDetail?: string | null;
}

const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * Graph's reset: POST …/passwordMethods/{id}/resetPassword answers 202 with the generated password
 * (once) and the Location of an operation, polled until it is done. The reset always makes the user
 * change the password at next sign-in; unticking "must change" clears that flag afterwards.
 */
async function resetPassword(userId: string, csrfToken: string, newPassword: string | null): Promise<string | null> {
  const res = await fetch(`/v1.0/users/${encodeURIComponent(userId)}/authentication/passwordMethods/${PASSWORD_METHOD_ID}/resetPassword`, {
    method: 'POST',
    credentials: 'same-origin',
    headers: { accept: 'application/json', 'content-type': 'application/json', 'x-csrf-token': csrfToken },
    body: JSON.stringify(newPassword === null ? {} : { newPassword }),
  });
  let body: unknown = null;
  try {
    body = await res.json();
  } catch {
    // no JSON: the status says enough
  }
  if (!res.ok) throw errorFromBody(res.status, res.statusText, body);
  const location = res.headers.get('location');
  if (location) {
    for (let i = 0; i < 20; i++) {
      const op = await api.get<Operation>(relative(location));
      if (op.status === 'succeeded') break;
      if (op.status === 'failed') throw operationError(op.statusDetail);
      await pause(500);
    }
  }
  return (body as { newPassword?: string | null } | null)?.newPassword ?? null;
}

export function ResetPasswordDialog({ user, open, onClose }: { user: GraphUser; open: boolean; onClose: () => void }) {
  const { t } = useTranslation(NS);
  const { session } = useSession();
  const onPremises = user.onPremisesSyncEnabled === true;
  const [mode, setMode] = useState<'generate' | 'choose'>(onPremises ? 'choose' : 'generate');
  const [password, setPassword] = useState('');
  const [confirm, setConfirm] = useState('');
  const [mustChange, setMustChange] = useState(true);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const [done, setDone] = useState<{ generated: string | null } | null>(null);

  const close = () => {
    setPassword('');
    setConfirm('');
    setDone(null);
    setError(null);
    onClose();
  };

  return (
    <Modal open={open} title={t('reset.title', { name: user.displayName })} onClose={close}>
      {done ? (
        <>
          <Alert kind="success">
            <p>{t('reset.done', { name: user.displayName })}</p>
            {mustChange ? <p>{t('reset.doneMustChange')}</p> : null}
          </Alert>
          {done.generated ? <OneTimePassword password={done.generated} /> : null}
          <div className="actions">
            <button type="button" onClick={close}>
              {t('common:close')}
            </button>
          </div>
        </>
      ) : (
        <form
          onSubmit={(e) => {
            e.preventDefault();
            if (mode === 'choose' && password !== confirm) return;
            if (!session) return;
            setBusy(true);
            setError(null);
            resetPassword(user.id, session.csrfToken, mode === 'choose' ? password : null)
              .then(async (generated) => {
                if (!mustChange) await api.patch(`/v1.0/users/${user.id}`, { passwordProfile: { forceChangePasswordNextSignIn: false } });
                setPassword('');
                setConfirm('');
                setDone({ generated });
              })
              .catch((err: unknown) => setError(err))
              .finally(() => setBusy(false));
          }}
        >
          <p>{t('reset.intro')}</p>
          <AdminError error={error} />
          {onPremises ? <Alert kind="info">{t('reset.onPremises')}</Alert> : null}
          <PasswordChoice
            name="reset-pw"
            mode={mode}
            onModeChange={setMode}
            generateDisabled={onPremises}
            password={password}
            onPasswordChange={setPassword}
            confirm={confirm}
            onConfirmChange={setConfirm}
            userInputs={[user.displayName, user.userPrincipalName, user.givenName ?? '', user.surname ?? '']}
            mustChange={mustChange}
            onMustChangeChange={setMustChange}
          />
          <div className="actions">
            <button type="submit" disabled={busy}>
              {t('reset.submit')}
            </button>
            <button type="button" className="secondary" onClick={close}>
              {t('common:cancel')}
            </button>
          </div>
        </form>
      )}
    </Modal>
  );
}

/**
 * A failed reset operation says why in Graph's English `statusDetail` only; the page shows it in its
 * own language by kind (directory unreachable, password refused there, agent failure) and keeps the
 * server's words, which carry the directory's exact reason, as the details.
 */
function operationError(statusDetail: string | null | undefined): ApiError {
  const detail = statusDetail ?? '';
  const kind = detail.includes('SSPR_0030') ? 'unreachable' : detail.includes('refused the password') ? 'refused' : 'failed';
  return new ApiError(500, `operation.${kind}`, detail || 'The password reset failed.', null, null);
}
