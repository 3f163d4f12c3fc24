import { useEffect, useState } from 'react';
import { useTranslation } from 'react-i18next';
import { Link, useNavigate, useParams } from 'react-router';
import { Alert } from '../../components/Alert';
import { Loading, Page } from '../../components/Page';
import { api } from '../../lib/api';
import { formatNumber } from '../../lib/i18n';
import { AdminError, ConfirmDialog, directoryObjectRef, MembersTable, NS, PrincipalPicker, type DirectoryObject, type GraphGroup } from './users/common';
import { MoreMembers, usePagedMembers } from './users/PagedMembers';

/** One group: its facts, its members (paged; remove), adding members found by search, deleting the group. */
export function GroupDetail() {
  const { t } = useTranslation(NS);
  const { id = '' } = useParams();
  const navigate = useNavigate();
  const [group, setGroup] = useState<GraphGroup | null>(null);
  const [loadError, setLoadError] = useState<unknown>(null);
  const paged = usePagedMembers(`/v1.0/groups/${encodeURIComponent(id)}/members?$select=id,displayName,userPrincipalName`);
  const { members, error, setError, reload: loadMembers } = paged;
  const [message, setMessage] = useState<string | null>(null);
  const [removing, setRemoving] = useState<DirectoryObject | null>(null);
  const [deleting, setDeleting] = useState(false);
  const [dialogError, setDialogError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);

  useEffect(() => {
    api
      .get<GraphGroup>(`/v1.0/groups/${encodeURIComponent(id)}`)
      .then(setGroup)
      .catch((err: unknown) => setLoadError(err));
  }, [id]);

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
          caption={members ? (paged.hasMore ? t('memberPaging.groupCaptionMore', { name: group.displayName, n: formatNumber(members.length) }) : t('group.membersCaption', { name: group.displayName, count: members.length })) : ''}
          empty={t('group.noMembers')}
          removeLabel={(m) => t('group.remove', { name: m.displayName })}
          onRemove={(m) => {
            setDialogError(null);
            setRemoving(m);
          }}
        />
        {members ? <MoreMembers kind="group" count={members.length} hasMore={paged.hasMore} loading={paged.loadingMore} onLoadMore={paged.loadMore} /> : null}
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
