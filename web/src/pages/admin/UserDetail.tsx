import { useCallback, useEffect, useState } from 'react';
import { useTranslation } from 'react-i18next';
import { Link, useNavigate, useParams } from 'react-router';
import { Alert } from '../../components/Alert';
import { Loading, Page } from '../../components/Page';
import { api } from '../../lib/api';
import { formatDateTime } from '../../lib/i18n';
import { localizeRole } from '../../lib/roles';
import { AuthMethods } from './users/AuthMethods';
import { AdminError, ConfirmDialog, NS, odataString, type Collection, type DirectoryObject, type GraphUser } from './users/common';
import { ProfileForm } from './users/ProfileForm';
import { ResetPasswordDialog } from './users/ResetPassword';

const SELECT =
  'id,displayName,givenName,surname,userPrincipalName,jobTitle,mail,mobilePhone,businessPhones,otherMails,accountEnabled,onPremisesSyncEnabled,lastPasswordChangeDateTime,createdDateTime,passwordProfile';

/** One user: profile, password reset, unlock, sign-out everywhere, authentication methods, delete. */
export function UserDetail() {
  const { t } = useTranslation(NS);
  const { id = '' } = useParams();
  const navigate = useNavigate();
  const [user, setUser] = useState<GraphUser | null>(null);
  const [loadError, setLoadError] = useState<unknown>(null);
  const [version, setVersion] = useState(0);
  const [resetOpen, setResetOpen] = useState(false);
  const [deleteOpen, setDeleteOpen] = useState(false);
  const [deleteError, setDeleteError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  const [actionError, setActionError] = useState<unknown>(null);
  const [actionDone, setActionDone] = useState<string | null>(null);
  const [groups, setGroups] = useState<DirectoryObject[] | null>(null);
  const [roles, setRoles] = useState<{ id: string; displayName: string }[] | null>(null);

  const load = useCallback(() => {
    api
      .get<GraphUser>(`/v1.0/users/${encodeURIComponent(id)}?$select=${SELECT}`)
      .then((u) => {
        setUser(u);
        setVersion((v) => v + 1);
        setLoadError(null);
      })
      .catch((err: unknown) => setLoadError(err));
    api
      .get<Collection<DirectoryObject>>(`/v1.0/users/${encodeURIComponent(id)}/memberOf?$select=id,displayName`)
      .then((a) => setGroups(a.value))
      .catch(() => setGroups(null));
    // the roles the user holds directly; hidden when the caller may not read role assignments
    Promise.all([
      api.get<Collection<{ roleDefinitionId: string }>>(`/v1.0/roleManagement/directory/roleAssignments?$filter=${encodeURIComponent(`principalId eq ${odataString(id)}`)}`),
      api.get<Collection<{ id: string; displayName: string; roleTemplateId: string }>>('/v1.0/directoryRoles'),
    ])
      .then(([assigned, all]) => setRoles(all.value.filter((r) => assigned.value.some((a) => a.roleDefinitionId === r.id)).map((r) => localizeRole(t, r))))
      .catch(() => setRoles(null));
  }, [id, t]);
  useEffect(load, [load]);

  if (!user) {
    return <Page title={t('user.title')}>{loadError ? <AdminError error={loadError} /> : <Loading />}</Page>;
  }

  const action = (p: Promise<unknown>, done: string) => {
    setBusy(true);
    setActionError(null);
    setActionDone(null);
    p.then(() => setActionDone(done))
      .catch((err: unknown) => setActionError(err))
      .finally(() => setBusy(false));
  };

  return (
    <Page
      title={user.displayName}
      actions={
        <button
          type="button"
          className="danger"
          onClick={() => {
            setDeleteError(null);
            setDeleteOpen(true);
          }}
        >
          {t('user.delete')}
        </button>
      }
    >
      <p>
        <Link to="/admin/users">{t('user.back')}</Link>
      </p>
      <dl className="facts">
        <dt>{t('col.upn')}</dt>
        <dd>{user.userPrincipalName}</dd>
        <dt>{t('col.source')}</dt>
        <dd>{user.onPremisesSyncEnabled ? t('source.onPremises') : t('source.cloud')}</dd>
        <dt>{t('col.accountEnabled')}</dt>
        <dd>{user.accountEnabled === false ? t('common:no') : t('common:yes')}</dd>
        <dt>{t('col.created')}</dt>
        <dd>{formatDateTime(user.createdDateTime)}</dd>
        <dt>{t('col.lastPasswordChange')}</dt>
        <dd>{formatDateTime(user.lastPasswordChangeDateTime) || t('common:none')}</dd>
        <dt>{t('col.mustChange')}</dt>
        <dd>{user.passwordProfile?.forceChangePasswordNextSignIn ? t('common:yes') : t('common:no')}</dd>
      </dl>

      <section className="card dir-card" aria-labelledby="account-title">
        <h2 id="account-title">{t('account.title')}</h2>
        <p>{t('account.intro')}</p>
        <AdminError error={actionError} />
        {actionDone ? <Alert kind="success">{actionDone}</Alert> : null}
        <div className="actions">
          <button
            type="button"
            onClick={() => {
              setActionDone(null);
              setActionError(null);
              setResetOpen(true);
            }}
          >
            {t('account.reset')}
          </button>
          <button type="button" className="secondary" disabled={busy} onClick={() => action(api.post(`/api/v1/users/${user.id}/unlock`), t('account.unlocked', { name: user.displayName }))}>
            {t('account.unlock')}
          </button>
          <button type="button" className="secondary" disabled={busy} onClick={() => action(api.post(`/v1.0/users/${user.id}/revokeSignInSessions`), t('account.revoked', { name: user.displayName }))}>
            {t('account.revoke')}
          </button>
        </div>
      </section>

      <ProfileForm key={version} user={user} onSaved={load} />
      <AuthMethods userId={user.id} userName={user.displayName} />

      {roles ? (
        <section className="card dir-card" aria-labelledby="roles-title">
          <h2 id="roles-title">{t('user.roles')}</h2>
          {roles.length === 0 ? (
            <p>{t('user.noRoles')}</p>
          ) : (
            <ul>
              {roles.map((r) => (
                <li key={r.id}>
                  <Link to={`/admin/roles?role=${r.id}`}>{r.displayName}</Link>
                </li>
              ))}
            </ul>
          )}
        </section>
      ) : null}
      {groups ? (
        <section className="card dir-card" aria-labelledby="groups-title">
          <h2 id="groups-title">{t('user.groups')}</h2>
          {groups.length === 0 ? (
            <p>{t('user.noGroups')}</p>
          ) : (
            <ul>
              {groups.map((g) => (
                <li key={g.id}>
                  <Link to={`/admin/groups/${g.id}`}>{g.displayName}</Link>
                </li>
              ))}
            </ul>
          )}
        </section>
      ) : null}

      <ResetPasswordDialog
        user={user}
        open={resetOpen}
        onClose={() => {
          setResetOpen(false);
          load();
        }}
      />
      <ConfirmDialog
        open={deleteOpen}
        title={t('user.deleteTitle')}
        text={t('user.deleteText', { name: user.displayName, upn: user.userPrincipalName })}
        confirmLabel={t('user.deleteConfirm')}
        busy={busy}
        error={deleteError}
        onClose={() => setDeleteOpen(false)}
        onConfirm={() => {
          setBusy(true);
          api
            .del(`/v1.0/users/${user.id}`)
            .then(() => navigate('/admin/users', { state: { deleted: user.displayName } }))
            .catch((err: unknown) => setDeleteError(err))
            .finally(() => setBusy(false));
        }}
      />
    </Page>
  );
}
