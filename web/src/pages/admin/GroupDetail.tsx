import { useCallback, useEffect, useState } from 'react';
import { useTranslation } from 'react-i18next';
import { Link, useNavigate, useParams } from 'react-router';
import { Alert } from '../../components/Alert';
import { Loading, Page } from '../../components/Page';
import { api } from '../../lib/api';
import { AdminError, ConfirmDialog, directoryObjectRef, MembersTable, NS, PrincipalPicker, type Collection, type DirectoryObject, type GraphGroup } from './users/common';

/** One group: its facts, its members (remove), adding members found by search, deleting the group. */
export function GroupDetail() {
  const { t } = useTranslation(NS);
  const { id = '' } = useParams();
  const navigate = useNavigate();
  const [group, setGroup] = useState<GraphGroup | null>(null);
  const [members, setMembers] = useState<DirectoryObject[] | null>(null);
  const [loadError, setLoadError] = useState<unknown>(null);
  const [error, setError] = useState<unknown>(null);
  const [message, setMessage] = useState<string | null>(null);
  const [removing, setRemoving] = useState<DirectoryObject | null>(null);
  const [deleting, setDeleting] = useState(false);
  const [dialogError, setDialogError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);

  const loadMembers = useCallback(() => {
    api
      .get<Collection<DirectoryObject>>(`/v1.0/groups/${encodeURIComponent(id)}/members?$select=id,displayName,userPrincipalName&$top=999`)
      .then((a) => setMembers(a.value))
      .catch((err: unknown) => setError(err));
  }, [id]);
  useEffect(() => {
    api
      .get<GraphGroup>(`/v1.0/groups/${encodeURIComponent(id)}`)
      .then(setGroup)
      .catch((err: unknown) => setLoadError(err));
    loadMembers();
  }, [id, loadMembers]);

  if (!group) return <Page title={t('group.title')}>{loadError ? <AdminError error={loadError} /> : <Loading />}</Page>;

  return (
    <Page
      title={group.displayName}
      actions={
        <button
          type="button"
          className="danger"
          onClick={() => {
            setDialogError(null);
            setDeleting(true);
          }}
        >
          {t('group.delete')}
        </button>
      }
    >
      <p>
        <Link to="/admin/groups">{t('group.back')}</Link>
      </p>
      <dl className="facts">
        <dt>{t('col.description')}</dt>
        <dd>{group.description || t('common:none')}</dd>
        <dt>{t('col.groupType')}</dt>
        <dd>{group.securityEnabled ? t('groupType.security') : t('groupType.other')}</dd>
        <dt>{t('col.roleAssignable')}</dt>
        <dd>{group.isAssignableToRole ? t('common:yes') : t('common:no')}</dd>
      </dl>

      <section aria-labelledby="members-title">
        <h2 id="members-title">{t('group.members')}</h2>
        <AdminError error={error} />
        {message ? <Alert kind="success">{message}</Alert> : null}
        <MembersTable
          members={members}
          caption={members ? t('group.membersCaption', { name: group.displayName, count: members.length }) : ''}
          empty={t('group.noMembers')}
          removeLabel={(m) => t('group.remove', { name: m.displayName })}
          onRemove={(m) => {
            setDialogError(null);
            setRemoving(m);
          }}
        />
      </section>

      <section className="card dir-card" aria-labelledby="add-member-title">
        <h2 id="add-member-title">{t('group.addTitle')}</h2>
        <PrincipalPicker
          label={t('group.addSearch')}
          groups="all"
          exclude={new Set([group.id, ...(members ?? []).map((m) => m.id)])}
          actionLabel={(r) => t('group.add', { name: r.displayName })}
          onPick={async (r) => {
            setMessage(null);
            setError(null);
            await api.post(`/v1.0/groups/${group.id}/members/$ref`, directoryObjectRef(r.id));
            setMessage(t('group.added', { name: r.displayName }));
            loadMembers();
          }}
        />
      </section>

      <ConfirmDialog
        open={removing !== null}
        title={t('group.removeTitle')}
        text={removing ? t('group.removeText', { name: removing.displayName, group: group.displayName }) : ''}
        confirmLabel={t('group.removeConfirm')}
        busy={busy}
        error={dialogError}
        onClose={() => setRemoving(null)}
        onConfirm={() => {
          if (!removing) return;
          setBusy(true);
          api
            .del(`/v1.0/groups/${group.id}/members/${removing.id}/$ref`)
            .then(() => {
              setMessage(t('group.removed', { name: removing.displayName }));
              setRemoving(null);
              loadMembers();
            })
            .catch((err: unknown) => setDialogError(err))
            .finally(() => setBusy(false));
        }}
      />
      <ConfirmDialog
        open={deleting}
        title={t('group.deleteTitle')}
        text={t('group.deleteText', { name: group.displayName })}
        confirmLabel={t('group.deleteConfirm')}
        busy={busy}
        error={dialogError}
        onClose={() => setDeleting(false)}
        onConfirm={() => {
          setBusy(true);
          api
            .del(`/v1.0/groups/${group.id}`)
            .then(() => navigate('/admin/groups', { state: { deleted: group.displayName } }))
            .catch((err: unknown) => setDialogError(err))
            .finally(() => setBusy(false));
        }}
      />
    </Page>
  );
}
