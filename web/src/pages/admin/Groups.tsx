import { useState } from 'react';
import { useTranslation } from 'react-i18next';
import { Link } from 'react-router';
import { Alert } from '../../components/Alert';
import { Checkbox, Field } from '../../components/Field';
import { api } from '../../lib/api';
import { DirectoryList } from './users/DirectoryList';
import { AdminError, NS, odataString, type GraphGroup } from './users/common';

const SELECT = '$select=id,displayName,description,securityEnabled,isAssignableToRole';
const PAGE_SIZE = 25;

/** Azure's mail nickname: ASCII without spaces and @ ( ) \ [ ] " ; : < > , — derived from the name. */
const nicknameOf = (name: string) =>
  name
    .normalize('NFKD')
    .replace(/[^\x21-\x7e]/g, '')
    .replace(/[@()\\[\]";:<>,]/g, '')
    .slice(0, 64) || 'group';

const firsts = (s: string) => [`/v1.0/groups?${SELECT}&$top=${PAGE_SIZE}${s ? `&$filter=${encodeURIComponent(`startswith(displayName,${odataString(s)})`)}` : ''}`];

/** Groups: search by name, page through, create (security groups, optionally role-assignable). */
export function Groups() {
  const { t } = useTranslation(NS);
  return (
    <DirectoryList<GraphGroup>
      kind="groups"
      createId="create-group"
      firsts={firsts}
      columns={['col.name', 'col.description', 'col.groupType', 'col.roleAssignable']}
      cells={(g) => (
        <>
          <td>{g.description ?? ''}</td>
          <td>{g.securityEnabled ? t('groupType.security') : t('groupType.other')}</td>
          <td>{g.isAssignableToRole ? t('common:yes') : t('common:no')}</td>
        </>
      )}
      create={(p) => <CreateGroup {...p} />}
    />
  );
}

function CreateGroup({ onDone, onCancel }: { onDone: () => void; onCancel: () => void }) {
  const { t } = useTranslation(NS);
  const [name, setName] = useState('');
  const [description, setDescription] = useState('');
  const [roleAssignable, setRoleAssignable] = useState(false);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const [created, setCreated] = useState<GraphGroup | null>(null);
  return (
    <section className="card dir-card" aria-labelledby="create-group-title">
      <h2 id="create-group-title">{t('groups.createTitle')}</h2>
      {created ? (
        <Alert kind="success">
          <p>
            {t('groups.created', { name: created.displayName })} <Link to={`/admin/groups/${created.id}`}>{t('groups.open', { name: created.displayName })}</Link>
          </p>
        </Alert>
      ) : null}
      <form
        onSubmit={(e) => {
          e.preventDefault();
          setBusy(true);
          setError(null);
          api
            .post<GraphGroup>('/v1.0/groups', {
              displayName: name.trim(),
              ...(description.trim() ? { description: description.trim() } : {}),
              mailEnabled: false,
              mailNickname: nicknameOf(name.trim()),
              securityEnabled: true,
              isAssignableToRole: roleAssignable,
            })
            .then((g) => {
              setCreated(g);
              setName('');
              setDescription('');
              setRoleAssignable(false);
              onDone();
            })
            .catch((err: unknown) => setError(err))
            .finally(() => setBusy(false));
        }}
      >
        <AdminError error={error} />
        <Field label={t('field.groupName')} required value={name} onChange={(e) => setName(e.target.value)} autoComplete="off" />
        <Field label={t('field.description')} value={description} onChange={(e) => setDescription(e.target.value)} autoComplete="off" />
        <Checkbox label={t('field.roleAssignable')} hint={t('field.roleAssignableHint')} checked={roleAssignable} onChange={(e) => setRoleAssignable(e.target.checked)} />
        <div className="actions">
          <button type="submit" disabled={busy}>
            {t('groups.createSubmit')}
          </button>
          <button type="button" className="secondary" onClick={onCancel}>
            {t('common:close')}
          </button>
        </div>
      </form>
    </section>
  );
}
