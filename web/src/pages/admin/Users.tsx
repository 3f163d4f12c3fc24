import { useMemo, useState } from 'react';
import { useTranslation } from 'react-i18next';
import { Link, useLocation, useSearchParams } from 'react-router';
import { Alert } from '../../components/Alert';
import { Field } from '../../components/Field';
import { Loading, Page } from '../../components/Page';
import { formatNumber } from '../../lib/i18n';
import { CreateUser } from './users/CreateUser';
import { AdminError, NS, odataString, Pager, usePaged, type GraphUser } from './users/common';

const SELECT = '$select=id,displayName,userPrincipalName,accountEnabled,jobTitle,onPremisesSyncEnabled';
const PAGE_SIZE = 25;
const byName = (a: GraphUser, b: GraphUser) => a.displayName.localeCompare(b.displayName);

/** All users: search by the start of the name or user name, page through, create, open one. */
export function Users() {
  const { t } = useTranslation(NS);
  const [params, setParams] = useSearchParams();
  const location = useLocation();
  const deleted = (location.state as { deleted?: string } | null)?.deleted;
  const search = params.get('search') ?? '';
  const [text, setText] = useState(search);
  const [creating, setCreating] = useState(false);

  const firsts = useMemo(() => {
    const s = search.trim();
    if (!s) return [`/v1.0/users?${SELECT}&$top=${PAGE_SIZE}`];
    // Graph's $filter has no `or` here: one startswith query per property, merged
    return ['displayName', 'userPrincipalName'].map((f) => `/v1.0/users?${SELECT}&$top=${PAGE_SIZE}&$filter=${encodeURIComponent(`startswith(${f},${odataString(s)})`)}`);
  }, [search]);
  const pager = usePaged<GraphUser>(firsts, byName);

  return (
    <Page
      title={t('users.title')}
      actions={
        <button type="button" onClick={() => setCreating((c) => !c)} aria-expanded={creating} aria-controls="create-user">
          {t('users.new')}
        </button>
      }
    >
      {deleted ? <Alert kind="success">{t('users.deleted', { name: deleted })}</Alert> : null}
      <div id="create-user">{creating ? <CreateUser onDone={() => pager.reload()} onCancel={() => setCreating(false)} /> : null}</div>
      <form
        role="search"
        className="dir-search"
        onSubmit={(e) => {
          e.preventDefault();
          setParams(text.trim() ? { search: text.trim() } : {});
        }}
      >
        <Field label={t('users.search')} hint={t('users.searchHint')} type="search" value={text} onChange={(e) => setText(e.target.value)} />
        <button type="submit">{t('common:search')}</button>
      </form>
      <AdminError error={pager.error} />
      <p role="status" className="dir-count">
        {pager.loading ? t('common:loading') : search ? t('users.found', { count: pager.items.length, n: formatNumber(pager.items.length), search }) : ''}
      </p>
      {pager.loading && pager.items.length === 0 ? (
        <Loading />
      ) : (
        <table className="dir-table">
          <caption>{search ? t('users.captionSearch', { search }) : t('users.caption')}</caption>
          <thead>
            <tr>
              <th scope="col">{t('col.displayName')}</th>
              <th scope="col">{t('col.upn')}</th>
              <th scope="col">{t('col.jobTitle')}</th>
              <th scope="col">{t('col.accountEnabled')}</th>
              <th scope="col">{t('col.source')}</th>
            </tr>
          </thead>
          <tbody>
            {pager.items.map((u) => (
              <tr key={u.id}>
                <th scope="row">
                  <Link to={`/admin/users/${u.id}`}>{u.displayName}</Link>
                </th>
                <td>{u.userPrincipalName}</td>
                <td>{u.jobTitle ?? ''}</td>
                <td>{u.accountEnabled === false ? t('common:no') : t('common:yes')}</td>
                <td>{u.onPremisesSyncEnabled ? t('source.onPremises') : t('source.cloud')}</td>
              </tr>
            ))}
            {pager.items.length === 0 && !pager.loading ? (
              <tr>
                <td colSpan={5}>{t('users.none')}</td>
              </tr>
            ) : null}
          </tbody>
        </table>
      )}
      <Pager pager={pager} label={t('users.pages')} />
    </Page>
  );
}
