import { useMemo, useState } from 'react';
import { useTranslation } from 'react-i18next';
import { Link, useLocation, useSearchParams } from 'react-router';
import { Alert } from '../../components/Alert';
import { Checkbox, Field } from '../../components/Field';
import { Loading, Page } from '../../components/Page';
import { api } from '../../lib/api';
import { formatNumber } from '../../lib/i18n';
import { AdminError, NS, odataString, Pager, usePaged, type GraphGroup } from './users/common';

const SELECT = '$select=id,displayName,description,securityEnabled,isAssignableToRole';
const PAGE_SIZE = 25;
const byName = (a: GraphGroup, b: GraphGroup) => a.displayName.localeCompare(b.displayName);

/** Azure's mail nickname: ASCII without spaces and @ ( ) \ [ ] " ; : < > , — derived from the name. */
const nicknameOf = (name: string) =>
  name
    .normalize('NFKD')
    .replace(/[^\x21-\x7e]/g, '')
    .replace(/[@()\\[\]";:<>,]/g, '')
    .slice(0, 64) || 'group';

/** Groups: search by name, page through, create (security groups, optionally role-assignable). */
export function Groups() {
  const { t } = useTranslation(NS);
  const [params, setParams] = useSearchParams();
  const location = useLocation();
  const deleted = (location.state as { deleted?: string } | null)?.deleted;
  const search = params.get('search') ?? '';
  const [text, setText] = useState(search);
  const [creating, setCreating] = useState(false);
  const firsts = useMemo(() => {
    const s = search.trim();
    return [`/v1.0/groups?${SELECT}&$top=${PAGE_SIZE}${s ? `&$filter=${encodeURIComponent(`startswith(displayName,${odataString(s)})`)}` : ''}`];
  }, [search]);
  const pager = usePaged<GraphGroup>(firsts, byName);

  return (
    <Page
      title={t('groups.title')}
      actions={
        <button type="button" onClick={() => setCreating((c) => !c)} aria-expanded={creating} aria-controls="create-group">
          {t('groups.new')}
        </button>
      }
    >
      {deleted ? <Alert kind="success">{t('groups.deleted', { name: deleted })}</Alert> : null}
      <div id="create-group">{creating ? <CreateGroup onDone={() => pager.reload()} onCancel={() => setCreating(false)} /> : null}</div>
      <form
        role="search"
        className="dir-search"
        onSubmit={(e) => {
          e.preventDefault();
          setParams(text.trim() ? { search: text.trim() } : {});
        }}
      >
        <Field label={t('groups.search')} hint={t('groups.searchHint')} type="search" value={text} onChange={(e) => setText(e.target.value)} />
        <button type="submit">{t('common:search')}</button>
      </form>
      <AdminError error={pager.error} />
      <p role="status" className="dir-count">
        {pager.loading ? t('common:loading') : search ? t('groups.found', { count: pager.items.length, n: formatNumber(pager.items.length), search }) : ''}
      </p>
      {pager.loading && pager.items.length === 0 ? (
        <Loading />
      ) : (
        <table className="dir-table">
          <caption>{search ? t('groups.captionSearch', { search }) : t('groups.caption')}</caption>
          <thead>
            <tr>
              <th scope="col">{t('col.name')}</th>
              <th scope="col">{t('col.description')}</th>
              <th scope="col">{t('col.groupType')}</th>
              <th scope="col">{t('col.roleAssignable')}</th>
            </tr>
          </thead>
          <tbody>
            {pager.items.map((g) => (
              <tr key={g.id}>
                <th scope="row">
                  <Link to={`/admin/groups/${g.id}`}>{g.displayName}</Link>
                </th>
                <td>{g.description ?? ''}</td>
                <td>{g.securityEnabled ? t('groupType.security') : t('groupType.other')}</td>
                <td>{g.isAssignableToRole ? t('common:yes') : t('common:no')}</td>
              </tr>
            ))}
            {pager.items.length === 0 && !pager.loading ? (
              <tr>
                <td colSpan={4}>{t('groups.none')}</td>
              </tr>
            ) : null}
          </tbody>
        </table>
      )}
      <Pager pager={pager} label={t('groups.pages')} />
    </Page>
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
