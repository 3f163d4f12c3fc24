import { useEffect, useRef, useState } from 'react';
import { useTranslation } from 'react-i18next';
import { Link, useSearchParams } from 'react-router';
import { Alert } from '../../components/Alert';
import { Loading, Page } from '../../components/Page';
import { api } from '../../lib/api';
import { localizeRole } from '../../lib/roles';
import { formatNumber } from '../../lib/i18n';
import { AdminError, ConfirmDialog, directoryObjectRef, MembersTable, NS, PrincipalPicker, type Collection, type DirectoryObject } from './users/common';
import { MoreMembers, usePagedMembers } from './users/PagedMembers';

interface DirectoryRole {
  id: string;
  displayName: string;
  description: string;
  roleTemplateId: string;
}

/**
 * Directory roles ("Roles and administrators"): every built-in role; choosing one (?role=id) lists
 * its assignments (users and role-assignable groups, paged), assigns it and removes assignments.
 */
export function Roles() {
  const { t, i18n } = useTranslation(NS);
  const [params, setParams] = useSearchParams();
  const selectedId = params.get('role');
  const [roles, setRoles] = useState<DirectoryRole[] | null>(null);
  const [error, setError] = useState<unknown>(null);

  useEffect(() => {
    api
      .get<Collection<DirectoryRole>>('/v1.0/directoryRoles')
      // Azure's role names in the page's language, sorted as that language sorts
      .then((a) => setRoles(a.value.map((r) => localizeRole(t, r)).sort((x, y) => x.displayName.localeCompare(y.displayName, i18n.language))))
      .catch((err: unknown) => setError(err));
  }, [t, i18n.language]);

  const selected = roles?.find((r) => r.id === selectedId) ?? null;
  return (
    <Page title={t('roles.title')}>
      <p>{t('roles.intro')}</p>
      <AdminError error={error} />
      {roles === null && !error ? <Loading /> : null}
      {selected ? <RoleAssignments key={selected.id} role={selected} onClose={() => setParams({})} /> : null}
      {roles ? (
        <table>
          <caption>{t('roles.caption')}</caption>
          <thead>
            <tr>
              <th scope="col">{t('col.role')}</th>
              <th scope="col">{t('col.description')}</th>
            </tr>
          </thead>
          <tbody>
            {roles.map((r) => (
              <tr key={r.id}>
                <th scope="row">
                  <Link to={`/admin/roles?role=${r.id}`} aria-current={r.id === selectedId ? 'true' : undefined}>
                    {r.displayName}
                  </Link>
                </th>
                <td>{r.description}</td>
              </tr>
            ))}
          </tbody>
        </table>
      ) : null}
    </Page>
  );
}

function RoleAssignments({ role, onClose }: { role: DirectoryRole; onClose: () => void }) {
  const { t } = useTranslation(NS);
  const paged = usePagedMembers(`/v1.0/directoryRoles/${role.id}/members`);
  const { members, error, setError, reload: load } = paged;
  const [message, setMessage] = useState<string | null>(null);
  const [removing, setRemoving] = useState<DirectoryObject | null>(null);
  const [removeError, setRemoveError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);

  // choosing a role opens this section above the list: move focus to it so keyboard and screen-reader users land there
  const heading = useRef<HTMLHeadingElement>(null);
  useEffect(() => heading.current?.focus(), []);

  return (
    <section className="card dir-card dir-role" aria-labelledby="role-title">
      <h2 id="role-title" tabIndex={-1} ref={heading}>
        {t('roles.assignmentsTitle', { role: role.displayName })}
      </h2>
      <p>{role.description}</p>
      <AdminError error={error} />
      {message ? <Alert kind="success">{message}</Alert> : null}
      <MembersTable
        members={members}
        caption={members ? (paged.hasMore ? t('memberPaging.roleCaptionMore', { role: role.displayName, n: formatNumber(members.length) }) : t('roles.membersCaption', { role: role.displayName, count: members.length })) : ''}
        empty={t('roles.noMembers')}
        removeLabel={(m) => t('roles.remove', { name: m.displayName })}
        onRemove={(m) => {
          setRemoveError(null);
          setRemoving(m);
        }}
      />
      {members ? <MoreMembers kind="role" count={members.length} hasMore={paged.hasMore} loading={paged.loadingMore} onLoadMore={paged.loadMore} /> : null}
      <h3>{t('roles.assignTitle')}</h3>
      <PrincipalPicker
        label={t('roles.assignSearch')}
        groups="roleAssignable"
        exclude={new Set((members ?? []).map((m) => m.id))}
        actionLabel={(r) => t('roles.assign', { name: r.displayName })}
        onPick={async (r) => {
          setMessage(null);
          setError(null);
          await api.post(`/v1.0/directoryRoles/${role.id}/members/$ref`, directoryObjectRef(r.id));
          setMessage(t('roles.assigned', { name: r.displayName, role: role.displayName }));
          load();
        }}
      />
      <div className="actions">
        <button type="button" className="secondary" onClick={onClose}>
          {t('roles.closeRole')}
        </button>
      </div>
      <ConfirmDialog
        open={removing !== null}
        title={t('roles.removeTitle')}
        text={removing ? t('roles.removeText', { name: removing.displayName, role: role.displayName }) : ''}
        confirmLabel={t('roles.removeConfirm')}
        busy={busy}
        error={removeError}
        onClose={() => setRemoving(null)}
        onConfirm={() => {
          if (!removing) return;
          setBusy(true);
          api
            .del(`/v1.0/directoryRoles/${role.id}/members/${removing.id}/$ref`)
            .then(() => {
              setMessage(t('roles.removed', { name: removing.displayName, role: role.displayName }));
              setRemoving(null);
              load();
            })
            .catch((err: unknown) => setRemoveError(err))
            .finally(() => setBusy(false));
        }}
      />
    </section>
  );
}
